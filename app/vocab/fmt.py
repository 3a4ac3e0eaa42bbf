"""Times, durations and ASCII folding for messages people read."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.vocab.lang import Lang

DISPLAY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def format_local_time(at: datetime, tz: ZoneInfo = DISPLAY_TZ) -> str:
    """``HH:MM dd/MM/yyyy`` in Asia/Ho_Chi_Minh; ``at`` must be timezone-aware."""
    if at.tzinfo is None:
        raise ValueError("format_local_time needs a timezone-aware datetime")
    return at.astimezone(tz).strftime("%H:%M %d/%m/%Y")


def format_short_time(at: datetime, tz: ZoneInfo = DISPLAY_TZ) -> str:
    """``HH:MM dd/MM``, for SMS where every character counts."""
    if at.tzinfo is None:
        raise ValueError("format_short_time needs a timezone-aware datetime")
    return at.astimezone(tz).strftime("%H:%M %d/%m")


_UNITS: dict[Lang, tuple[tuple[str, str], ...]] = {
    "vi": (("ngày", "ngày"), ("giờ", "giờ"), ("phút", "phút"), ("giây", "giây")),
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
}


def format_duration(span: timedelta, lang: Lang = "vi") -> str:
    """A human duration, two most significant units: "15 phút", "2 giờ 5 phút".

    Seconds show only under a minute; a negative span (clock skew) reads as 0.
    """
    total = max(int(span.total_seconds()), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, 0), (hours, 1), (minutes, 2)] if total >= 60 else [(seconds, 3)]
    shown = [(n, i) for n, i in parts if n] or [(0, parts[-1][1])]
    words = [_unit(n, i, lang) for n, i in shown[:2]]
    return " ".join(words)


def _unit(n: int, index: int, lang: Lang) -> str:
    singular, plural = _UNITS[lang][index]
    return f"{n} {singular if n == 1 else plural}"


def ascii_fold(text: str) -> str:
    """Drop Vietnamese diacritics: "Đắk Lắk" → "Dak Lak"; other non-ASCII becomes "?"."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("…", "...").replace("–", "-").replace("—", "-")
    return stripped.encode("ascii", "replace").decode("ascii")
