"""The public status page: what a citizen or an official sees at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as reports
from app.catalog.schemas import UnitRead
from app.incidents import service as incidents
from app.vocab.fmt import format_duration, format_local_time
from app.vocab.states import BY_SEVERITY, SEVERITY, State, state_word
from app.vocab.words import error_kind_words

Lang = Literal["vi", "en"]

MAX_UNITS = 10_000


@dataclass
class IncidentLine:
    unit: str
    check: str
    since: str
    lasted: str
    what: str


@dataclass
class StatusPage:
    lang: Lang
    generated: str
    overall: str
    counts: dict[State, int]  # worst first
    attention: list[UnitRead] = field(default_factory=list)  # not up, worst first
    healthy: list[UnitRead] = field(default_factory=list)
    incidents: list[IncidentLine] = field(default_factory=list)

    def word(self, state: str) -> str:
        return state_word(state, self.lang)


async def build(session: AsyncSession, lang: Lang, now: datetime | None = None) -> StatusPage:
    now = now or datetime.now(UTC)
    units = await reports.list_units(session, limit=MAX_UNITS, offset=0)
    counts = {state: sum(1 for u in units if u.state == state) for state in BY_SEVERITY}
    worst = reports.worst_state(u.state for u in units)
    page = StatusPage(lang, format_local_time(now), worst, counts)
    page.attention = sorted(
        (u for u in units if u.state != State.UP), key=lambda u: (-SEVERITY[u.state], u.name)
    )
    page.healthy = [u for u in units if u.state == State.UP]
    page.incidents = await _open_incidents(session, {u.code: u.name for u in units}, lang, now)
    return page


def _what(error_kind: str | None, message: str, lang: Lang) -> str:
    """The failure in words people read first, the probe's own message after it."""
    words = error_kind_words(error_kind, lang)
    return f"{words[:1].upper()}{words[1:]} ({message})" if message else words


async def _open_incidents(
    session: AsyncSession, names: dict[str, str], lang: Lang, now: datetime
) -> list[IncidentLine]:
    rows = await incidents.list_incidents(
        session,
        state="open",
        unit_code=None,
        check_key=None,
        since=None,
        until=None,
        limit=200,
        offset=0,
        suppressed=False,
    )
    return [
        IncidentLine(
            unit=names.get(r.unit_code, r.unit_code),
            check=r.check_key,
            since=format_local_time(r.started_at),
            lasted=format_duration(now - r.started_at, lang),
            what=_what(r.error_kind, r.message, lang),
        )
        for r in rows
    ]
