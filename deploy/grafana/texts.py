"""What people read on the dashboards: Vietnamese by default, English available.

State words and their order come from app.vocab.states (:func:`state_text`), so a
dashboard never names a state differently from the status page or the reports.
"""

from __future__ import annotations

from app.vocab.lang import Lang
from app.vocab.states import BY_SEVERITY, State, state_word

LANGS = ("vi", "en")


def state_text(lang: str, state: str) -> str:
    """The word for ``state`` in ``lang`` (app.vocab.states.WORDS)."""
    return state_word(state, "en" if lang == "en" else "vi")


def _words(lang: Lang) -> dict[str, str]:
    """Each state's word inside a sentence (lower case), and ``order``: worst first."""
    words = {state.value: state_word(state, lang).lower() for state in State}
    words["order"] = " > ".join(words[state] for state in BY_SEVERITY)
    return words


_VI, _EN = _words("vi"), _words("en")

TEXTS: dict[str, tuple[str, str]] = {
    # dashboards
    "d.overview": ("thongsuot · Tổng quan toàn tỉnh", "thongsuot · Province overview"),
    "d.unit": ("thongsuot · Đơn vị", "thongsuot · Unit"),
    "d.national": (
        "thongsuot · Hệ thống dùng chung quốc gia",
        "thongsuot · National shared services",
    ),
    "d.sla": ("thongsuot · Mức độ khả dụng (SLA)", "thongsuot · Availability (SLA)"),
    "d.monitor": ("thongsuot · Máy giám sát", "thongsuot · The monitor itself"),
    "links": ("Bảng điều khiển", "Dashboards"),
    "var.unit": ("Đơn vị", "Unit"),
    "var.kind": ("Loại đơn vị", "Unit kind"),
    "var.state": ("Trạng thái", "State"),
    # panels
    "p.unit_grid": ("Trạng thái các đơn vị", "State of every unit"),
    "p.checks_by_state": ("Số kiểm tra theo trạng thái", "Checks by state"),
    "p.open_incidents": ("Sự cố đang mở", "Open incidents"),
    "p.open_incidents_list": ("Danh sách sự cố đang mở", "Open incidents, oldest first"),
    "p.avail_today": ("Khả dụng hôm nay (24/7)", "Availability today (24/7)"),
    "p.avail_month": ("Khả dụng tháng này (24/7)", "Availability this month (24/7)"),
    "p.worst_units": ("10 đơn vị khả dụng thấp nhất (24 giờ)", "10 least available units (24 h)"),
    "p.certs": ("Chứng thư số sắp hết hạn (ngày)", "Certificates expiring (days)"),
    "p.unit_state": ("Trạng thái đơn vị", "Unit state"),
    "p.unit_avail": ("Khả dụng 1 giờ", "Availability, 1 h"),
    "p.unit_avail_1d": ("Khả dụng 24 giờ", "Availability, 24 h"),
    "p.unit_avail_30d": ("Khả dụng 30 ngày", "Availability, 30 days"),
    "p.check_states": ("Trạng thái các kiểm tra", "State of every check"),
    "p.check_timeline": ("Diễn biến trạng thái", "State over time"),
    "p.latency": ("Thời gian phản hồi", "Response time"),
    "p.result_age": ("Thời gian từ kết quả cuối", "Age of the last result"),
    "p.check_avail": (
        "Khả dụng từng kiểm tra (24 giờ, 30 ngày)",
        "Availability per check (24 h, 30 d)",
    ),
    "p.http_status": ("Mã trạng thái HTTP gần nhất", "Last HTTP status"),
    "p.flips": ("Các lần đổi trạng thái", "State changes"),
    "p.national_state": ("Trạng thái hệ thống dùng chung", "State of the shared services"),
    "p.national_avail_1d": (
        "Khả dụng 24 giờ theo loại dịch vụ",
        "Availability, 24 h, by service kind",
    ),
    "p.national_avail_30d": (
        "Khả dụng 30 ngày theo loại dịch vụ",
        "Availability, 30 days, by service kind",
    ),
    "p.sla_units": (
        "Khả dụng theo đơn vị trong kỳ: trong giờ hành chính và cả ngày",
        "Availability per unit in the period: service hours and 24/7",
    ),
    "p.sla_incidents": ("Sự cố theo đơn vị trong kỳ", "Incidents per unit in the period"),
    "p.probes_rate": ("Số phép đo mỗi giây", "Probes per second"),
    "p.errors_rate": ("Lỗi theo loại mỗi giây", "Failures per second by kind"),
    "p.lateness": ("Độ trễ lập lịch", "Scheduling lateness"),
    "p.jobs": ("Kiểm tra được lập lịch, phép đo đang chạy", "Scheduled checks, probes in flight"),
    "p.buffer": ("Hàng đợi kết quả chưa ghi", "Results waiting to be written"),
    "p.db_write": ("Thời gian ghi một lô vào CSDL", "Time to write one batch"),
    "p.rows": ("Số dòng ghi vào CSDL mỗi giây", "Rows written per second"),
    "p.flips_rate": ("Số lần đổi trạng thái mỗi giây", "State changes per second"),
    "p.scrape_up": ("Prometheus lấy được số liệu", "Prometheus can scrape it"),
    "p.build": ("Phiên bản", "Version"),
    # legends
    "l.jobs": ("kiểm tra được lập lịch", "scheduled checks"),
    "l.in_flight": ("đang chạy", "in flight"),
    "l.buffer": ("đang chờ ghi", "waiting"),
    "l.dropped": ("bị bỏ mỗi giây", "dropped per second"),
    "l.write_errors": ("lỗi ghi mỗi giây", "write errors per second"),
    # descriptions
    "desc.status_grid": (
        f"Trạng thái xấu nhất trong các kiểm tra của mỗi đơn vị: {_VI['order']}.",
        f"The worst state among each unit's checks: {_EN['order']}.",
    ),
    "desc.check_grid": (
        f"Trạng thái hiện tại của từng kiểm tra; thứ tự từ xấu nhất: {_VI['order']}.",
        f"The current state of each check; from worst: {_EN['order']}.",
    ),
    "desc.avail_247": (
        f"Đồng hồ 24/7 từ Prometheus: thời gian {_VI['up']} và {_VI['degraded']} / "
        f"({_VI['up']} + {_VI['degraded']} + {_VI['down']}); thời gian {_VI['maintenance']} và "
        f"{_VI['unknown']} không tính. Số liệu chính thức: bảng SLA và báo cáo.",
        f"24/7 clock from Prometheus: {_EN['up']} and {_EN['degraded']} time / "
        f"({_EN['up']} + {_EN['degraded']} + {_EN['down']} time); {_EN['maintenance']} and "
        f"{_EN['unknown']} time are left out. Official figures: the SLA dashboard and the "
        "reports.",
    ),
    "desc.worst_units": (
        "Đơn vị được coi là gián đoạn khi có ít nhất một kiểm tra gián đoạn.",
        "A unit counts as down while at least one of its checks is down.",
    ),
    "desc.certs": (
        "Chứng thư số hết hạn trong 30 ngày tới; cảnh báo dưới 14 ngày, nghiêm trọng dưới 3 ngày.",
        "Certificates expiring within 30 days; warning under 14 days, critical under 3.",
    ),
    "desc.sla": (
        "Cùng số liệu với báo cáo tháng: bảng tổng hợp theo ngày (giờ Việt Nam) của cả các "
        "ngày trong khoảng thời gian đã chọn, hai cách tính cạnh nhau: trong giờ hành chính "
        "(trừ ngày nghỉ, lễ) và cả ngày (24/7). Trạng thái đơn vị là trạng thái xấu nhất của các "
        f"kiểm tra trọng yếu ({_VI['order']}). Khả dụng = ({_VI['up']} + {_VI['degraded']}) / "
        f"({_VI['up']} + {_VI['degraded']} + {_VI['down']}); thời gian {_VI['maintenance']} và "
        f"{_VI['unknown']} (kể cả lúc hệ thống giám sát ngừng) báo riêng, không bị ẩn.",
        "The monthly report's figures: the daily rollups (Vietnam days) of every day in the "
        "chosen range, both clocks side by side: service hours (days off and holidays left "
        "out) and 24/7. A unit's state is the worst state of its critical checks "
        f"({_EN['order']}). Availability = ({_EN['up']} + {_EN['degraded']}) / ({_EN['up']} + "
        f"{_EN['degraded']} + {_EN['down']}); {_EN['maintenance']} and {_EN['unknown']} time "
        "(the monitor's own downtime included) are reported apart, never hidden.",
    ),
    "desc.sla_incidents": (
        "Như báo cáo: sự cố bắt đầu trong kỳ, cộng sự cố đang diễn ra từ trước kỳ; thời gian "
        "khắc phục trung bình (MTTR) chỉ tính các sự cố đã khắc phục trong kỳ. Trong giờ hành "
        "chính: chỉ các sự cố có thời gian rơi vào giờ hành chính.",
        "As in the reports: incidents that started in the period, plus one under way at its "
        "start; the mean time to repair (MTTR) counts only incidents resolved in the period. "
        "Service hours: only incidents with time inside office hours.",
    ),
}


def tr(lang: str, key: str) -> str:
    """The text ``key`` in ``lang`` (``vi`` or ``en``)."""
    vi, en = TEXTS[key]
    return vi if lang == "vi" else en
