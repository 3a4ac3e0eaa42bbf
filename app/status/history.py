"""90 days of history from the daily rollups (docs/reports.md): one bar per local
day with a sentence for people who cannot see the colour, and availability over
30 and 90 days on the service-hours clock (up / (up + down), maintenance and
unknown time excluded)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RollupDay
from app.status.cache import PageCache
from app.vocab.fmt import DISPLAY_TZ, format_duration
from app.vocab.lang import Lang
from app.vocab.states import ICONS, State, state_word

DAYS = 90


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    state: State  # worst state of the day, or unknown when no data
    icon: str
    text: str  # "12/11: gián đoạn 14 phút trong giờ phục vụ"


@dataclass(frozen=True, slots=True)
class History:
    days: list[Day]
    availability_30: str
    availability_90: str


Totals = tuple[
    float, float, float, float, float, float, float
]  # 24/7 up dg down mt unk, sh up+dg, sh down


def today(now: datetime) -> date:
    return now.astimezone(DISPLAY_TZ).date()


async def load(
    session: AsyncSession, level: str, ids: Sequence[int], now: datetime
) -> dict[int, dict[date, Totals]]:
    """Per entity, per local day of the last :data:`DAYS`, the seconds per state."""
    found: dict[int, dict[date, Totals]] = {i: {} for i in ids}
    if not ids:
        return found
    first = today(now) - timedelta(days=DAYS - 1)
    stmt = select(
        RollupDay.entity_id,
        RollupDay.day,
        RollupDay.up_s,
        RollupDay.degraded_s,
        RollupDay.down_s,
        RollupDay.maintenance_s,
        RollupDay.unknown_s,
        RollupDay.sh_up_s + RollupDay.sh_degraded_s,
        RollupDay.sh_down_s,
    ).where(RollupDay.level == level, RollupDay.day >= first)
    if len(ids) <= 500:
        stmt = stmt.where(RollupDay.entity_id.in_(list(ids)))
    for entity, day, *seconds in (await session.execute(stmt)).all():
        if entity in found:
            found[entity][day] = tuple(float(s or 0.0) for s in seconds)  # type: ignore[assignment]
    return found


def _day_state(t: Totals) -> State:
    up, degraded, down, maintenance, _unknown, _, _ = t
    if down > 0:
        return State.DOWN
    if maintenance > 0:
        return State.MAINTENANCE
    if degraded > 0:
        return State.DEGRADED
    if up > 0:
        return State.UP
    return State.UNKNOWN


def _minutes(seconds: float, lang: Lang) -> str:
    return format_duration(timedelta(seconds=round(seconds / 60) * 60 or seconds), lang)


@lru_cache(maxsize=1024)
def _label(day: date) -> str:
    return day.strftime("%d/%m")


@lru_cache(maxsize=64)
def _word(state: State, lang: Lang) -> str:
    return state_word(state, lang).lower()


def day_text(day: date, t: Totals | None, lang: Lang) -> str:
    label = _label(day)
    if t is None or not any(t[:5]):
        return f"{label}: " + ("chưa có số liệu" if lang == "vi" else "no data")
    state = _day_state(t)
    word = _word(state, lang)
    if state == State.DOWN:
        sh_down = t[6]
        if sh_down > 0:
            where = "trong giờ phục vụ" if lang == "vi" else "in service hours"
            return f"{label}: {word} {_minutes(sh_down, lang)} {where}"
        where = "ngoài giờ phục vụ" if lang == "vi" else "outside service hours"
        return f"{label}: {word} {_minutes(t[2], lang)} {where}"
    if state == State.MAINTENANCE:
        return f"{label}: {word} {_minutes(t[3], lang)}"
    if state == State.DEGRADED:
        return f"{label}: {word} {_minutes(t[1], lang)}"
    return f"{label}: {word}"


def percent(up: float, down: float, lang: Lang) -> str:
    if up + down <= 0:
        return "—"
    value = 100.0 * up / (up + down)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}\u00a0%" if lang == "vi" else f"{text}%"  # no break before %


def history(days: dict[date, Totals], now: datetime, lang: Lang) -> History:
    last = today(now)
    shown: list[Day] = []
    for back in range(DAYS - 1, -1, -1):
        d = last - timedelta(days=back)
        t = days.get(d)
        state = _day_state(t) if t is not None else State.UNKNOWN
        shown.append(Day(d, state, ICONS[state], day_text(d, t, lang)))

    def since(n: int) -> str:
        first = last - timedelta(days=n - 1)
        picked = [t for d, t in days.items() if d >= first]
        return percent(sum(t[5] for t in picked), sum(t[6] for t in picked), lang)

    return History(shown, since(30), since(90))


class HistoryCache:
    """Histories change once a day (the rollup job), so they are kept per level,
    entities, language and local day for ``ttl_s``: a page rebuild then costs a
    dictionary lookup instead of 90 bars per service. The bars are computed in a
    worker thread so the event loop keeps answering meanwhile."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self._cache = PageCache(ttl_s=ttl_s, stale_s=0.0)

    async def get(
        self, session: AsyncSession, level: str, ids: Sequence[int], now: datetime, lang: Lang
    ) -> dict[int, History]:
        key = (level, tuple(ids), lang, today(now))

        async def build() -> dict[int, History]:
            days = await load(session, level, ids, now)
            return await asyncio.to_thread(
                lambda: {i: history(days.get(i, {}), now, lang) for i in ids}
            )

        found: dict[int, History] = await self._cache.get(key, build)
        return found
