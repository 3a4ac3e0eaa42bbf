from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.notify.channels.base import Event, Notification
from app.notify.messages.render import render, template_context
from app.notify.messages.sms_text import encoding_of, fit_sms, segments_needed
from app.vocab.words import ERROR_KINDS, error_kind_words
from probes.base import ErrorKind
from tests.support.notes import SERVICE_NAME, UNIT_PLACE, make_note

TAGS = {
    "vi": {
        "down": "GIÁN ĐOẠN",
        "up": "KHÔI PHỤC",
        "reminder": "NHẮC LẠI",
        "escalation": "CHUYỂN CẤP",
        "flapping": "CHẬP CHỜN",
        "monitor_connectivity": "GIÁM SÁT MẤT KẾT NỐI",
        "test": "THỬ NGHIỆM",
    },
    "en": {
        "down": "DOWN",
        "up": "RECOVERED",
        "reminder": "REMINDER",
        "escalation": "ESCALATED",
        "flapping": "FLAPPING",
        "monitor_connectivity": "MONITOR CONNECTIVITY",
        "test": "TEST",
    },
}
# One phrase per event that only that event's headline says.
HEADLINES = {
    "vi": {
        "down": "TTPVHCC phường Hiến Nam gián đoạn từ 23:50 12/05: quá thời gian chờ phản hồi",
        "up": "đã hoạt động trở lại lúc 02:05 13/05, sau 2 giờ 15 phút gián đoạn",
        "reminder": "vẫn gián đoạn từ 23:50 12/05 (2 giờ 15 phút)",
        "escalation": "gián đoạn đã 2 giờ 15 phút (quá thời gian chờ phản hồi)",
        "flapping": "hoạt động chập chờn",
        "monitor_connectivity": "Hệ thống giám sát mất kết nối tới",
        "test": "Tin nhắn thử nghiệm kênh thông báo",
    },
    "en": {
        "down": "Service centre, Hiến Nam ward down since 23:50 12/05: timed out waiting",
        "up": "is back up at 02:05 13/05, after 2 hours 15 minutes down",
        "reminder": "still down since 23:50 12/05 (2 hours 15 minutes)",
        "escalation": "down for 2 hours 15 minutes (timed out waiting for a response)",
        "flapping": "is flapping",
        "monitor_connectivity": "The monitor lost connectivity to",
        "test": "Test message from the thongsuot monitor",
    },
}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("event", [e.value for e in Event])
def test_every_event_renders_in_both_languages(event: str, lang: str) -> None:
    rendered = render(make_note(event=event, lang=lang))
    tag = TAGS[lang][event]
    assert rendered.subject.startswith(f"[{tag}]")
    assert rendered.short.startswith(f"[{tag}]")
    assert HEADLINES[lang][event] in rendered.text
    assert HEADLINES[lang][event] in rendered.html
    assert HEADLINES[lang][event] in rendered.chat_html
    other = "en" if lang == "vi" else "vi"
    assert HEADLINES[other][event] not in rendered.text
    assert rendered.short_ascii.isascii()
    assert "\n" not in rendered.short and "\n" not in rendered.subject
    if event != "test":
        assert UNIT_PLACE[lang] in rendered.text and SERVICE_NAME in rendered.html
        assert UNIT_PLACE[lang] in rendered.subject
        # the unit is named once in the headline, with its kind
        headline = rendered.text.splitlines()[0]
        assert headline.casefold().count("hiến nam") == 1, headline


def test_vietnamese_down_body_reads_right() -> None:
    text = render(make_note()).text
    for line in (
        "[GIÁN ĐOẠN] TTPVHCC phường Hiến Nam gián đoạn từ 23:50 12/05: quá thời gian chờ phản hồi.",
        "Đơn vị: phường Hiến Nam (mã 11893)",
        "Nguyên nhân: quá thời gian chờ phản hồi",
        "Bắt đầu từ: 23:50 12/05/2026 (giờ Việt Nam)",
        "Đã kéo dài: 2 giờ 15 phút",
        "Trạng thái sự cố: đang gián đoạn, chưa có người tiếp nhận",
        "Xác nhận đã tiếp nhận xử lý (dừng chuyển cấp, nhắc lại): "
        "https://giamsat.hungyen.gov.vn/api/v1/incidents/42/ack",
        "Trang sự cố: https://giamsat.hungyen.gov.vn/incidents/42",
    ):
        assert line in text
    # the probe's own (often English) message never reaches a person; no raw JSON link
    assert "không có phản hồi sau 10 giây" not in text
    assert "/api/v1/incidents/42\n" not in text and "API:" not in text


def test_recovery_shows_end_time_and_no_ack_link() -> None:
    text = render(make_note(event="up", incident_state="resolved")).text
    assert "Khôi phục lúc: 02:05 13/05/2026" in text
    assert "Tổng thời gian gián đoạn: 2 giờ 15 phút" in text
    assert "Trạng thái sự cố: đã khắc phục" in text
    assert "Xác nhận tiếp nhận" not in text


def test_explicit_duration_wins_over_now_minus_start() -> None:
    note = make_note(event="up", duration=timedelta(minutes=15))
    assert "sau 15 phút gián đoạn" in render(note).text


def test_html_escapes_probe_messages_and_names() -> None:
    rendered = render(make_note(check_name="<script>alert(1)</script>", unit_name="Xã A & B"))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "Xã A &amp; B" in rendered.html and "<script>" not in rendered.chat_html
    assert "<script>alert(1)</script>" in rendered.text  # plain text stays literal


def test_missing_links_are_left_out() -> None:
    rendered = render(make_note(dashboard_url=None, api_url=None, ack_url=None))
    assert "://" not in rendered.text and "href" not in rendered.html


def test_short_fits_one_gsm_segment_when_folded() -> None:
    for event in Event:
        short = render(make_note(event=event)).short
        folded = fit_sms(short, ascii=True)
        assert encoding_of(folded) == "gsm7" and segments_needed(folded) == 1
        unicode = fit_sms(short, ascii=False, max_segments=2)
        assert segments_needed(unicode) <= 2


def test_every_probe_error_kind_has_words_in_both_languages() -> None:
    assert {k.value for k in ErrorKind} <= set(ERROR_KINDS)
    assert error_kind_words("timeout", "vi") == "quá thời gian chờ phản hồi"
    assert error_kind_words("brand_new_kind", "vi") == "lỗi khác (brand_new_kind)"
    assert error_kind_words(None, "en") == "cause unknown"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_note(started_at=datetime(2026, 5, 12, 16, 50))


def test_template_context_names_are_stable() -> None:
    ctx = template_context(make_note())
    assert ctx["started_local"] == "23:50 12/05/2026"
    assert ctx["now_local"] == "02:05 13/05/2026"
    assert ctx["duration_s"] == 8100
    assert isinstance(make_note(), Notification)


def test_started_at_in_another_offset_is_shown_in_vietnam_time() -> None:
    from zoneinfo import ZoneInfo

    started = datetime(2026, 5, 12, 18, 50, tzinfo=ZoneInfo("Europe/Paris"))  # 16:50 UTC
    assert template_context(make_note(started_at=started))["started_local"] == "23:50 12/05/2026"
    assert (
        template_context(make_note(now=datetime(2026, 12, 31, 17, 0, tzinfo=UTC)))["now_local"]
        == "00:00 01/01/2027"
    )
