from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.notify.messages.sms_text import capacity, encoding_of, fit_sms, segments_needed, units
from app.vocab.fmt import ascii_fold, format_duration, format_local_time


@pytest.mark.parametrize(
    ("seconds", "vi", "en"),
    [
        (0, "0 giây", "0 seconds"),
        (1, "1 giây", "1 second"),
        (59, "59 giây", "59 seconds"),
        (60, "1 phút", "1 minute"),
        (15 * 60 + 59, "15 phút", "15 minutes"),
        (3600, "1 giờ", "1 hour"),
        (2 * 3600 + 5 * 60, "2 giờ 5 phút", "2 hours 5 minutes"),
        (2 * 3600 + 5 * 60 + 59, "2 giờ 5 phút", "2 hours 5 minutes"),
        (86_400, "1 ngày", "1 day"),
        (86_400 + 3 * 3600 + 7 * 60, "1 ngày 3 giờ", "1 day 3 hours"),
        (3 * 86_400 + 20 * 60, "3 ngày 20 phút", "3 days 20 minutes"),
        (-30, "0 giây", "0 seconds"),
    ],
)
def test_format_duration(seconds: int, vi: str, en: str) -> None:
    span = timedelta(seconds=seconds)
    assert format_duration(span, "vi") == vi
    assert format_duration(span, "en") == en


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        (datetime(2026, 5, 12, 16, 59, tzinfo=UTC), "23:59 12/05/2026"),
        (datetime(2026, 5, 12, 17, 0, tzinfo=UTC), "00:00 13/05/2026"),  # across midnight
        (datetime(2026, 12, 31, 17, 30, tzinfo=UTC), "00:30 01/01/2027"),  # across the year
        (datetime(2028, 2, 28, 17, 5, tzinfo=UTC), "00:05 29/02/2028"),  # leap day
        (datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))), "12:00 01/01/2026"),
    ],
)
def test_format_local_time_in_ho_chi_minh(utc: datetime, local: str) -> None:
    assert format_local_time(utc) == local


def test_format_local_time_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_local_time(datetime(2026, 5, 12, 17, 0))


def test_ascii_fold_vietnamese() -> None:
    assert ascii_fold("Đắk Lắk – Hưng Yên: quá thời gian chờ…") == (
        "Dak Lak - Hung Yen: qua thoi gian cho..."
    )
    assert ascii_fold("ĐỒNG BỘ DỮ LIỆU") == "DONG BO DU LIEU"


def test_gsm7_extension_characters_cost_two() -> None:
    assert encoding_of("[A] {b}") == "gsm7"
    assert units("[A] {b}", "gsm7") == 11
    assert encoding_of("ạ") == "ucs2"
    assert capacity("gsm7", 1) == 160 and capacity("ucs2", 1) == 70
    assert capacity("gsm7", 2) == 306 and capacity("ucs2", 3) == 201


def test_fit_sms_cuts_with_ellipsis() -> None:
    text = "Đơn vị " * 40
    unicode = fit_sms(text, ascii=False)
    assert unicode.endswith("…") and units(unicode, "ucs2") <= 70
    folded = fit_sms(text, ascii=True)
    assert folded.endswith("...") and len(folded) <= 160 and folded.startswith("Don vi")
    assert fit_sms("ngắn", ascii=False) == "ngắn"


def test_fit_sms_folded_stays_ascii_when_a_character_outside_gsm7_makes_it_ucs2() -> None:
    # ` is ASCII but not GSM-7: the text is sent as UCS-2, yet it was folded to ASCII
    # and its ellipsis must be too (found by the property below)
    fitted = fit_sms("0" * 65 + "`…℠", ascii=True)
    assert fitted.isascii() and fitted.endswith("...")
    assert segments_needed(fitted) == 1


@pytest.mark.slow
@given(st.text(max_size=600), st.booleans(), st.integers(min_value=1, max_value=6))
def test_fit_sms_never_exceeds_the_segment_budget(text: str, ascii: bool, segments: int) -> None:
    fitted = fit_sms(text, ascii=ascii, max_segments=segments)
    assert segments_needed(fitted) <= segments
    if ascii:
        assert fitted.isascii()
