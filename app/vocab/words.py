"""Words people read, in Vietnamese (default) and English.

Keys are the fixed vocabularies of the code (``ErrorKind``, service kinds,
incident states, severities); unknown keys fall back to a generic phrase that
still shows the raw key, so a new error kind is never silently blank.
"""

from __future__ import annotations

from app.vocab.lang import Lang
from app.vocab.states import WORDS, State

AGENT_OFFLINE: tuple[str, str] = (
    "mất liên lạc với điểm đo tại chỗ {agent} (đường truyền từ xã về tỉnh có thể bị gián đoạn)",
    "lost contact with the on-site monitoring agent {agent} "
    "(the line from the commune to the province may be cut)",
)
"""Why an agent's liveness check is down (docs/agents.md): the agent in the commune
stopped reaching the province, which is not the same as a device missing a beat."""

AGENT_LINK: tuple[str, str] = (
    "Kết nối từ điểm đo tại chỗ {agent} về tỉnh",
    "Link from the on-site monitoring agent {agent} to the province",
)
"""The display name of an agent's liveness check (stored in Vietnamese, like check names)."""

AGENT_SERVICE: tuple[str, str] = ("Điểm đo tại chỗ (agent)", "On-site monitoring agents")
"""The service holding a unit's agent liveness checks."""

AGENT_CHECK_PREFIX = "agent."
"""The liveness check of agent NAME has the key ``agent.NAME`` (app.inventory.resolve)."""

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
    "agent_offline": (
        AGENT_OFFLINE[0].format(agent="").replace("  ", " "),
        AGENT_OFFLINE[1].format(agent="").replace("  ", " "),
    ),
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
    "national_sso": (
        "Hệ thống xác thực tập trung (SSO) quốc gia",
        "national single sign-on (SSO)",
    ),
    "vneid": ("Đăng nhập bằng VNeID", "VNeID sign-in"),
    "paygov": ("Nền tảng thanh toán trực tuyến (PayGov)", "PayGov online payment platform"),
    "data_sharing": (
        "Nền tảng tích hợp, chia sẻ dữ liệu quốc gia",
        "national data integration and sharing platform",
    ),
    "national_database": ("Cơ sở dữ liệu quốc gia", "national database"),
    "emc": ("Hệ thống theo dõi, đánh giá (EMC)", "EMC monitoring and evaluation system"),
    "provincial_portal": ("Cổng thông tin điện tử tỉnh", "provincial web portal"),
    "provincial_database": ("Cơ sở dữ liệu của tỉnh", "provincial database"),
    "accounts": ("Tài khoản và phân quyền hệ thống", "accounts and permissions"),
    "lgsp": (
        "Nền tảng tích hợp, chia sẻ dữ liệu tỉnh (LGSP)",
        "provincial data sharing platform (LGSP)",
    ),
    "provincial_wan": ("Mạng WAN và trung tâm dữ liệu tỉnh", "provincial WAN and data centre"),
    "monitor": ("hệ thống giám sát thongsuot", "the thongsuot monitor"),
}
"""Every built-in service kind (app.inventory.document.ServiceKind) and ``monitor``."""

SERVICE_KIND_SHORT: dict[str, tuple[str, str]] = {
    "commune_centre": ("TTPVHCC", "Service centre"),
    "provincial_system": ("Hệ thống TTHC", "TTHC system"),
    "national_portal": ("Cổng DVC quốc gia", "National Public Service Portal"),
    "provincial_portal": ("Cổng TTĐT", "Web portal"),
    "provincial_database": ("CSDL", "Database"),
    "national_database": ("Kết nối CSDL quốc gia", "National database link"),
    "accounts": ("Tài khoản, phân quyền", "Accounts"),
    "provincial_wan": ("Mạng WAN", "WAN"),
    "lgsp": ("LGSP", "LGSP"),
}
"""Short names for headlines and SMS ("TTPVHCC xã Hoàng Hoa Thám")."""

ROLES: dict[str, tuple[str, str]] = {
    "head": ("Người đứng đầu", "Head"),
    "deputy": ("Cấp phó", "Deputy head"),
    "it_focal_point": ("Cán bộ CNTT", "IT focal point"),
    "on_call": ("Cán bộ trực kỹ thuật", "On-call engineer"),
    "vendor": ("Nhà cung cấp", "Vendor"),
    "other": ("Người liên hệ", "Contact"),
}
"""Contact roles (the inventory's ``contacts[].role``)."""

CHANNEL_KINDS: dict[str, tuple[str, str]] = {
    "email": ("thư điện tử", "e-mail"),
    "telegram": ("Telegram", "Telegram"),
    "zalo": ("Zalo", "Zalo"),
    "sms": ("tin nhắn SMS", "SMS"),
    "webhook": ("webhook", "webhook"),
    "apprise": ("Apprise", "Apprise"),
}
"""Notification channel types, as people read them."""

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

DELIVERY_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("đang chờ gửi", "waiting to be sent"),
    "delivered": ("đã gửi", "delivered"),
    "failed": ("gửi không thành công", "not delivered"),
}
"""The outbox's ``status`` of one notification."""

UPDATE_STAGES: dict[str, tuple[str, str]] = {
    "investigating": ("Đang tìm nguyên nhân", "Investigating"),
    "identified": ("Đã xác định nguyên nhân", "Identified"),
    "monitoring": ("Đã khắc phục, đang theo dõi", "Monitoring"),
    "resolved": ("Đã giải quyết", "Resolved"),
}
"""Stages of an operator's incident update (Statuspage / Uptime Kuma)."""

SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("nghiêm trọng", "critical"),
    "warning": ("cảnh báo", "warning"),
    "info": ("thông tin", "info"),
}


def vantage_words(vantage: str, lang: Lang) -> str:
    """Where a result was observed from (docs/agents.md): the centre, or an agent."""
    if vantage == "central":
        return "từ trung tâm" if lang == "vi" else "from the centre"
    return f"từ điểm đo {vantage}" if lang == "vi" else f"from agent {vantage}"


def _pick(table: dict[str, tuple[str, str]], key: str, lang: Lang) -> str | None:
    pair = table.get(key)
    if pair is None:
        return None
    return pair[0] if lang == "vi" else pair[1]


def agent_of_check(check_key: str | None) -> str | None:
    """``agent.hy-12337-lan`` → ``hy-12337-lan``; None for any other check key."""
    if check_key is None or not check_key.startswith(AGENT_CHECK_PREFIX):
        return None
    return check_key[len(AGENT_CHECK_PREFIX) :]


def agent_offline_words(agent: str, lang: Lang) -> str:
    """ "mất liên lạc với điểm đo tại chỗ hy-12337-lan (đường truyền từ xã về tỉnh có thể
    bị gián đoạn)": an agent went silent, said for a commune head."""
    vi, en = AGENT_OFFLINE
    return (vi if lang == "vi" else en).format(agent=agent)


def agent_link_name(agent: str, lang: Lang = "vi") -> str:
    """ "Kết nối từ điểm đo tại chỗ hy-12337-lan về tỉnh": the agent's liveness check."""
    vi, en = AGENT_LINK
    return (vi if lang == "vi" else en).format(agent=agent)


def error_kind_words(kind: str | None, lang: Lang, *, check_key: str | None = None) -> str:
    """``timeout`` → "quá thời gian chờ phản hồi"; unknown kinds keep their key.

    ``agent_offline`` names the agent when ``check_key`` is its liveness check's."""
    if kind is None:
        return "không rõ nguyên nhân" if lang == "vi" else "cause unknown"
    agent = agent_of_check(check_key) if kind == "agent_offline" else None
    if agent is not None:
        return agent_offline_words(agent, lang)
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


def role_words(role: str, lang: Lang) -> str:
    """``head`` → "Người đứng đầu"; an unknown role keeps its key."""
    return _pick(ROLES, role, lang) or role


def channel_words(kind: str, lang: Lang) -> str:
    """``email`` → "thư điện tử"; an unknown channel type keeps its key."""
    return _pick(CHANNEL_KINDS, kind, lang) or kind


def unit_label(kind: str, name: str, lang: Lang) -> str:
    """The unit with its kind and no repeated kind: ("commune", "Xã Tân Hưng") → "xã Tân Hưng".

    English: "Tân Hưng commune". The province and the national layer read "tỉnh Hưng Yên"
    and the name as it is."""
    if kind == "national":
        return name
    word = unit_kind_words(kind, lang)
    bare = name
    vi_word = unit_kind_words(kind, "vi")
    if bare.casefold().startswith(vi_word.casefold() + " "):
        bare = bare[len(vi_word) + 1 :]
    if kind not in UNIT_KINDS:
        return bare
    return f"{word} {bare}" if lang == "vi" else f"{bare} {word}"


def service_subject(
    service_kind: str, service_name: str, unit_kind: str, unit_name: str, lang: Lang
) -> str:
    """What a headline names, once: "TTPVHCC xã Hoàng Hoa Thám", "Hệ thống TTHC tỉnh Hưng Yên".

    Kinds without a short name use the service's own name, followed by the unit unless
    the name already says it; the national layer is named by its service alone."""
    if unit_kind == "national" or not unit_name:
        return service_name
    place = unit_label(unit_kind, unit_name, lang) if unit_kind else unit_name
    short = _pick(SERVICE_KIND_SHORT, service_kind, lang)
    if short is not None:
        return f"{short} {place}" if lang == "vi" else f"{short}, {place}"
    bare = unit_label(unit_kind, unit_name, "vi").split(" ", 1)[-1] if unit_kind else unit_name
    if bare.casefold() in service_name.casefold():
        return service_name  # "Cổng thông tin điện tử tỉnh Hưng Yên" names its unit already
    return f"{service_name} – {place}"


def delivery_status_words(status: str, lang: Lang) -> str:
    return _pick(DELIVERY_STATUS, status, lang) or status


def update_stage_words(stage: str, lang: Lang) -> str:
    return _pick(UPDATE_STAGES, stage, lang) or stage
