"""Human words for statuses and error kinds (Vietnamese by default, English available)."""

from __future__ import annotations

from typing import Literal

from probes.base import ErrorKind, Status

Lang = Literal["vi", "en"]

STATUS_LABELS: dict[Lang, dict[Status, str]] = {
    "vi": {Status.UP: "HOẠT ĐỘNG", Status.DEGRADED: "SUY GIẢM", Status.DOWN: "GIÁN ĐOẠN"},
    "en": {Status.UP: "UP", Status.DEGRADED: "DEGRADED", Status.DOWN: "DOWN"},
}

ERROR_KIND_LABELS: dict[Lang, dict[ErrorKind, str]] = {
    "vi": {
        ErrorKind.TIMEOUT: "quá thời gian chờ",
        ErrorKind.DNS: "lỗi phân giải tên miền",
        ErrorKind.CONNECT: "không kết nối được",
        ErrorKind.TLS: "lỗi TLS/chứng thư số",
        ErrorKind.PROTOCOL: "lỗi giao thức",
        ErrorKind.HTTP_STATUS: "mã trạng thái HTTP không đạt",
        ErrorKind.ASSERTION: "nội dung không đạt yêu cầu",
        ErrorKind.LATENCY: "phản hồi chậm",
        ErrorKind.CERT_EXPIRY: "chứng thư số sắp hết hạn",
        ErrorKind.PACKET_LOSS: "mất gói tin",
        ErrorKind.STALE: "dữ liệu chậm đồng bộ",
        ErrorKind.MISSED_HEARTBEAT: "thiết bị không gửi tín hiệu",
        ErrorKind.REPORTED_DOWN: "thiết bị báo lỗi",
        ErrorKind.QUERY: "lỗi truy vấn dữ liệu",
        ErrorKind.PERMISSION: "thiếu quyền hệ thống",
        ErrorKind.CONFIG: "thiếu cấu hình (bí mật chưa đặt)",
        ErrorKind.INTERNAL: "lỗi nội bộ của hệ thống giám sát",
    },
    "en": {
        ErrorKind.TIMEOUT: "timed out",
        ErrorKind.DNS: "name resolution failed",
        ErrorKind.CONNECT: "connection failed",
        ErrorKind.TLS: "TLS/certificate error",
        ErrorKind.PROTOCOL: "protocol error",
        ErrorKind.HTTP_STATUS: "unexpected HTTP status",
        ErrorKind.ASSERTION: "content check failed",
        ErrorKind.LATENCY: "slow response",
        ErrorKind.CERT_EXPIRY: "certificate expiring",
        ErrorKind.PACKET_LOSS: "packet loss",
        ErrorKind.STALE: "data out of date",
        ErrorKind.MISSED_HEARTBEAT: "heartbeat missed",
        ErrorKind.REPORTED_DOWN: "device reported a failure",
        ErrorKind.QUERY: "query failed",
        ErrorKind.PERMISSION: "missing system permission",
        ErrorKind.CONFIG: "configuration incomplete (secret not set)",
        ErrorKind.INTERNAL: "monitor's internal error",
    },
}


def status_label(status: Status, lang: Lang = "vi") -> str:
    return STATUS_LABELS[lang][status]


def error_kind_label(kind: ErrorKind, lang: Lang = "vi") -> str:
    return ERROR_KIND_LABELS[lang][kind]
