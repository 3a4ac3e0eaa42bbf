"""What to do and whom to call, by service kind: the part of a message people act on.

The inventory may set its own text per service kind (``notifications.instructions``,
docs/notifications.md), naming the province's real hotline and on-call team; every
built-in kind has a default here, so a message always says what to do first.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.vocab.lang import Lang

DEFAULT_INSTRUCTIONS: dict[str, tuple[str, str]] = {
    "commune_centre": (
        "Kiểm tra đường truyền (Internet, mạng WAN) và máy tính của bộ phận một cửa; "
        "nếu không khắc phục được trong 15 phút, gọi Tổ trực kỹ thuật của tỉnh. "
        "Trong lúc chờ, tiếp nhận hồ sơ giấy và ghi sổ để cập nhật lên hệ thống sau.",
        "Check the centre's network (Internet, WAN) and the one-stop desk's computers; "
        "if it is not fixed within 15 minutes, call the province's on-call team. "
        "Meanwhile take paper dossiers and log them to enter later.",
    ),
    "provincial_system": (
        "Tổ trực kỹ thuật kiểm tra máy chủ và ứng dụng của Hệ thống TTHC tỉnh, báo ngay "
        "đơn vị cung cấp phần mềm; thông báo các Trung tâm phục vụ hành chính công cấp xã "
        "tiếp nhận hồ sơ giấy trong thời gian gián đoạn.",
        "The on-call team checks the servers and the application of the provincial TTHC "
        "system and calls the software vendor; tell the commune centres to take paper "
        "dossiers while it is down.",
    ),
    "national_portal": (
        "Sự cố ở Cổng Dịch vụ công quốc gia, ngoài phạm vi của tỉnh: theo dõi thông báo "
        "của cơ quan vận hành, hướng dẫn người dân nộp hồ sơ qua Hệ thống TTHC tỉnh hoặc "
        "trực tiếp tại trung tâm.",
        "The National Public Service Portal is down, outside the province's reach: follow "
        "its operator's notices and guide citizens to the provincial system or the centres.",
    ),
    "national_sso": (
        "Đăng nhập tập trung quốc gia gặp sự cố: hướng dẫn người dân nộp hồ sơ trực tiếp "
        "và theo dõi thông báo của cơ quan vận hành.",
        "National sign-on is down: guide citizens to file in person and follow the "
        "operator's notices.",
    ),
    "vneid": (
        "Đăng nhập bằng VNeID gặp sự cố: hướng dẫn người dân nộp hồ sơ trực tiếp hoặc "
        "đăng nhập bằng tài khoản khác.",
        "VNeID sign-in is down: guide citizens to file in person or sign in another way.",
    ),
    "paygov": (
        "Thanh toán trực tuyến gặp sự cố: thu phí, lệ phí trực tiếp tại trung tâm và "
        "báo đơn vị cung cấp dịch vụ thanh toán.",
        "Online payment is down: take fees at the centre and tell the payment provider.",
    ),
    "data_sharing": (
        "Kiểm tra kết nối từ LGSP tới nền tảng chia sẻ dữ liệu quốc gia; nếu lỗi từ phía "
        "quốc gia, báo cơ quan vận hành nền tảng.",
        "Check the link from the LGSP to the national data sharing platform; if the fault "
        "is national, tell the platform's operator.",
    ),
    "national_database": (
        "Kiểm tra kết nối tới cơ sở dữ liệu quốc gia; ghi lại hồ sơ cần tra cứu để xử lý "
        "khi kết nối phục hồi, báo cơ quan quản lý cơ sở dữ liệu nếu lỗi từ phía quốc gia.",
        "Check the link to the national database; note the dossiers that need it to finish "
        "them later, and tell the database's operator if the fault is national.",
    ),
    "emc": (
        "Không ảnh hưởng trực tiếp tới người dân: Tổ trực kỹ thuật kiểm tra đồng bộ số "
        "liệu theo dõi, đánh giá.",
        "No direct effect on citizens: the on-call team checks the EMC data sync.",
    ),
    "provincial_portal": (
        "Cán bộ quản trị cổng kiểm tra máy chủ web và tên miền; việc giải quyết TTHC vẫn "
        "tiếp tục trên Hệ thống TTHC tỉnh.",
        "The portal's administrator checks the web server and the domain; dossiers go on "
        "in the provincial TTHC system.",
    ),
    "provincial_database": (
        "Cán bộ quản trị cơ sở dữ liệu kiểm tra việc đồng bộ và dung lượng; báo đơn vị "
        "cung cấp phần mềm nếu dữ liệu không được cập nhật.",
        "The database administrator checks the sync and the disk space; call the software "
        "vendor if the data stays stale.",
    ),
    "accounts": (
        "Kiểm tra máy chủ xác thực và tài khoản dịch vụ (mật khẩu hết hạn, tài khoản bị "
        "khóa); cán bộ không đăng nhập được thì báo Tổ trực kỹ thuật của tỉnh.",
        "Check the sign-in server and the service account (expired password, locked "
        "account); officers who cannot sign in call the province's on-call team.",
    ),
    "lgsp": (
        "Kiểm tra Nền tảng LGSP của tỉnh và các kết nối liên thông; báo đơn vị vận hành LGSP.",
        "Check the provincial LGSP and its links; call the LGSP operator.",
    ),
    "provincial_wan": (
        "Kiểm tra thiết bị mạng lõi và đường truyền số liệu chuyên dùng; báo nhà mạng nếu "
        "đường truyền bị đứt.",
        "Check the core network devices and the government data line; call the carrier if "
        "the line is cut.",
    ),
    "monitor": (
        "Kiểm tra máy chủ giám sát và đường mạng của nó; trong thời gian này trạng thái các "
        "dịch vụ chưa xác định được, chưa phải gián đoạn.",
        "Check the monitor's server and its network; meanwhile the services' state is not "
        "known, which is not yet an outage.",
    ),
}
"""Defaults for every built-in service kind (app.vocab.words.SERVICE_KINDS)."""

FALLBACK = (
    "Kiểm tra dịch vụ và báo Tổ trực kỹ thuật của tỉnh.",
    "Check the service and tell the province's on-call team.",
)


def instructions_for(kind: str, lang: Lang, configured: Mapping[str, str] | None = None) -> str:
    """The inventory's text for ``kind`` (or its ``default``), else the built-in default."""
    configured = configured or {}
    text = configured.get(kind) or configured.get("default")
    if text:
        return text
    vi, en = DEFAULT_INSTRUCTIONS.get(kind, FALLBACK)
    return vi if lang == "vi" else en
