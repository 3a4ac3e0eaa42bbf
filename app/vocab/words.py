"""Words people read, in Vietnamese (default) and English.

Keys are the fixed vocabularies of the code (``ErrorKind``, service kinds,
incident states, severities); unknown keys fall back to a generic phrase that
still shows the raw key, so a new error kind is never silently blank.
"""

from __future__ import annotations

from app.vocab.lang import Lang
from app.vocab.states import WORDS, State

ERROR_KINDS: dict[str, tuple[str, str]] = {
    "timeout": ("quá thời gian chờ phản hồi", "timed out waiting for a response"),
    "dns": ("không phân giải được tên miền (DNS)", "DNS name resolution failed"),
    "connect": ("không kết nối được tới máy chủ", "could not connect to the server"),
    "tls": ("lỗi kết nối bảo mật hoặc chứng chỉ (TLS)", "TLS handshake or certificate error"),
    "protocol": ("phản hồi sai giao thức", "protocol error in the response"),
    "http_status": ("máy chủ trả về mã trạng thái lỗi", "the server returned an error status"),
    "assertion": ("nội dung phản hồi không đúng yêu cầu", "the response content was wrong"),
    "latency": ("phản hồi quá chậm", "the response was too slow"),
    "cert_expiry": ("chứng chỉ số sắp hết hạn hoặc đã hết hạn", "certificate expiring or expired"),
    "packet_loss": ("mất gói tin trên đường truyền", "packet loss on the network path"),
    "stale": (
        "dữ liệu không được cập nhật, đồng bộ bị chậm",
        "data is stale, synchronisation is late",
    ),
    "missed_heartbeat": (
        "thiết bị không gửi tín hiệu định kỳ",
        "the device stopped sending heartbeats",
    ),
    "reported_down": ("được báo cáo ngừng hoạt động", "reported as down"),
    "query": ("truy vấn kiểm tra thất bại", "the check query failed"),
    "permission": ("bị từ chối quyền truy cập", "access was denied"),
    "config": (
        "cấu hình của hệ thống giám sát chưa đầy đủ (ví dụ thiếu khóa bí mật)",
        "the monitor's own configuration is incomplete (e.g. a secret is not set)",
    ),
    "internal": ("lỗi nội bộ của hệ thống giám sát", "internal error of the monitor"),
}

SERVICE_KINDS: dict[str, tuple[str, str]] = {
    "national_portal": ("Cổng Dịch vụ công quốc gia", "National Public Service Portal"),
    "provincial_system": (
        "Hệ thống thông tin giải quyết TTHC cấp tỉnh",
        "provincial TTHC information system",
    ),
    "commune_centre": (
        "Trung tâm phục vụ hành chính công cấp xã",
        "commune Public Administrative Service Centre",
    ),
    "monitor": ("hệ thống giám sát thongsuot", "the thongsuot monitor"),
}

UNIT_KINDS: dict[str, tuple[str, str]] = {
    "commune": ("xã", "commune"),
    "ward": ("phường", "ward"),
    "special_zone": ("đặc khu", "special zone"),
    "province": ("tỉnh", "province"),
    "national": ("quốc gia", "national"),
}
"""Unit kinds (app.inventory), in the order summaries list them: communes first."""

INCIDENT_STATES: dict[str, tuple[str, str]] = {
    "open": ("đang gián đoạn, chưa có người tiếp nhận", "ongoing, not yet acknowledged"),
    "acknowledged": ("đang gián đoạn, đã có người tiếp nhận xử lý", "ongoing, acknowledged"),
    "resolved": ("đã khắc phục", "resolved"),
    "suppressed": ("do sự cố ở cấp trên, không báo riêng", "caused by a parent incident"),
}

EVENT_TAGS: dict[str, tuple[str, str]] = {
    "down": (WORDS[State.DOWN][0].upper(), WORDS[State.DOWN][1].upper()),
    "up": ("KHÔI PHỤC", "RECOVERED"),
    "reminder": ("NHẮC LẠI", "REMINDER"),
    "escalation": ("CHUYỂN CẤP", "ESCALATED"),
    "flapping": ("CHẬP CHỜN", "FLAPPING"),
    "monitor_connectivity": ("GIÁM SÁT MẤT KẾT NỐI", "MONITOR CONNECTIVITY"),
    "monitor_connectivity_restored": ("GIÁM SÁT ĐÃ KẾT NỐI LẠI", "MONITOR CONNECTIVITY RESTORED"),
    "test": ("THỬ NGHIỆM", "TEST"),
}
"""The bracketed tag a notification starts with, by event (``app.notify`` Event)."""

SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("nghiêm trọng", "critical"),
    "warning": ("cảnh báo", "warning"),
    "info": ("thông tin", "info"),
}


def _pick(table: dict[str, tuple[str, str]], key: str, lang: Lang) -> str | None:
    pair = table.get(key)
    if pair is None:
        return None
    return pair[0] if lang == "vi" else pair[1]


def error_kind_words(kind: str | None, lang: Lang) -> str:
    """``timeout`` → "quá thời gian chờ phản hồi"; unknown kinds keep their key."""
    if kind is None:
        return "không rõ nguyên nhân" if lang == "vi" else "cause unknown"
    words = _pick(ERROR_KINDS, kind, lang)
    if words is not None:
        return words
    return f"lỗi khác ({kind})" if lang == "vi" else f"other error ({kind})"


def service_kind_words(kind: str, lang: Lang) -> str:
    return _pick(SERVICE_KINDS, kind, lang) or kind


def unit_kind_words(kind: str, lang: Lang) -> str:
    """``special_zone`` → "đặc khu" / "special zone"; an unknown kind keeps its key."""
    return _pick(UNIT_KINDS, kind, lang) or kind


def incident_state_words(state: str, lang: Lang) -> str:
    return _pick(INCIDENT_STATES, state, lang) or state


def event_tag_words(event: str, lang: Lang, *, restored: bool = False) -> str:
    """``down`` → "GIÁN ĐOẠN"; a restored ``monitor_connectivity`` has its own tag."""
    if event == "monitor_connectivity" and restored:
        event = "monitor_connectivity_restored"
    return _pick(EVENT_TAGS, event, lang) or event.upper()


def severity_words(severity: str, lang: Lang) -> str:
    return _pick(SEVERITIES, severity, lang) or severity
