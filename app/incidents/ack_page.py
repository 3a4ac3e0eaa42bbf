"""The page a signed acknowledgement link opens, and the button on it.

``GET /api/v1/incidents/{id}/ack?exp=…&by=…&sig=…`` only shows the incident (unit,
service, since when, state) and whom the link was made for: mail scanners and
link previews fetch links, so a GET must change nothing. The button posts the
same signed values in the form body to ``…/ack/confirm``, which acknowledges.
An incident is acknowledged at most once, so a link acts once: posting it again
says it was acknowledged before. Vietnamese by default, ``lang=en``; no JavaScript.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.deps import MAX_DB_INT, RowId, SessionDep, SettingsDep
from app.incidents import repository
from app.incidents.html import HEADERS as _HEADERS
from app.incidents.html import env as _env
from app.incidents.links import check_ack
from app.incidents.recipients import parse_label, recipient_words
from app.models import Check, Incident, Service, Unit
from app.models.base import utcnow
from app.vocab.fmt import format_duration, format_local_time
from app.vocab.lang import Lang
from app.vocab.words import incident_state_words, unit_label

MAX_BY = 200
LINK_SUFFIX = "(liên kết)"
"""Appended to ``acknowledged_by`` when a signed link acknowledged."""
MAX_SIG = 128
Refusal = Literal["invalid", "expired", "disabled", "missing"]
Outcome = Literal["acknowledged", "before"]
REFUSAL_STATUS: dict[Refusal, int] = {
    "invalid": 403,
    "expired": 410,
    "disabled": 403,
    "missing": 404,
}

link_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@dataclass(frozen=True, slots=True)
class Link:
    """The signed values of one link, as they came (query string or form body)."""

    exp: int
    by: str
    sig: str

    @classmethod
    def parse(cls, exp: str, by: str, sig: str) -> Link | None:
        """None when a value cannot be one we signed (missing, too long, not a number)."""
        if not (exp.isascii() and exp.isdigit()) or not by or not sig:
            return None
        if int(exp) > MAX_DB_INT or len(by) > MAX_BY or len(sig) > MAX_SIG:
            return None
        return cls(int(exp), by, sig)


@dataclass(frozen=True, slots=True)
class AckView:
    """What the page says about the incident."""

    incident_id: int
    unit_name: str
    unit_code: str
    service_name: str
    check_name: str
    started_at: datetime
    ended_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    recipient: str
    unit_kind: str = ""

    @property
    def state(self) -> str:
        if self.ended_at is not None:
            return "resolved"
        return "open" if self.acknowledged_at is None else "acknowledged"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def _view(session: AsyncSession, incident_id: int, recipient: str) -> AckView | None:
    stmt = (
        select(Incident, Unit.name, Unit.code, Service.name, Check.name, Unit.kind)
        .join(Check, Incident.check_id == Check.id)
        .join(Unit, Incident.unit_id == Unit.id)
        .join(Service, Check.service_id == Service.id)
        .where(Incident.id == incident_id)
        .execution_options(populate_existing=True)  # fresh after the acknowledging UPDATE
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    incident, unit_name, unit_code, service_name, check_name, unit_kind = row
    return AckView(
        incident_id=incident.id,
        unit_name=unit_name,
        unit_code=unit_code,
        service_name=service_name,
        check_name=check_name,
        started_at=_aware(incident.started_at),
        ended_at=None if incident.ended_at is None else _aware(incident.ended_at),
        acknowledged_at=(
            None if incident.acknowledged_at is None else _aware(incident.acknowledged_at)
        ),
        acknowledged_by=incident.acknowledged_by,
        recipient=recipient,
        unit_kind=unit_kind,
    )


async def open_link(
    session: AsyncSession, settings: Settings, incident_id: int, link: Link | None
) -> AckView | Refusal:
    """The incident behind a link, or why the link is refused. Changes nothing."""
    if settings.secret_key is None:
        return "disabled"
    if link is None:
        return "invalid"
    key = settings.secret_key.get_secret_value()
    checked = check_ack(key, incident_id, link.exp, link.by, link.sig, time.time())
    if checked != "valid":
        return checked
    view = await _view(session, incident_id, link.by)
    return "missing" if view is None else view


async def acknowledge_through_link(
    session: AsyncSession, settings: Settings, incident_id: int, link: Link | None
) -> tuple[AckView, Outcome] | Refusal:
    """Acknowledge once (a conditional UPDATE); ``before`` when it already was, or closed."""
    opened = await open_link(session, settings, incident_id, link)
    if isinstance(opened, str):
        return opened
    assert link is not None
    acted = await repository.acknowledge(
        session, incident_id, utcnow(), f"{link.by} {LINK_SUFFIX}"[:MAX_BY]
    )
    view = await _view(session, incident_id, link.by)
    assert view is not None
    return view, "acknowledged" if acted else "before"


def _lang(value: str) -> Lang:
    return "en" if value == "en" else "vi"


def _render(status: int, lang: Lang, **page: object) -> HTMLResponse:
    def t(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    body = _env.get_template("ack.html.j2").render(lang=lang, t=t, **page)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _page(view: AckView, lang: Lang, link: Link, outcome: Outcome | None) -> HTMLResponse:
    """The incident; the button when it is open and this is not the answer to a press."""
    now = utcnow()
    fields = {"exp": str(link.exp), "by": link.by, "sig": link.sig}
    other = urlencode(fields | {"lang": "vi" if lang == "en" else "en"})
    return _render(
        200,
        lang,
        v=view,
        outcome=outcome,
        fields=fields,
        # relative, so the page works behind a path prefix: …/ack or …/ack/confirm → …/ack
        other_lang_href=("../ack?" if outcome is not None else "?") + other,
        state_words=incident_state_words(view.state, lang),
        unit=unit_label(view.unit_kind, view.unit_name, lang),
        person=_person(view.recipient, lang),
        acknowledged_by=_person(view.acknowledged_by or "", lang),
        started=format_local_time(view.started_at),
        lasted=format_duration((view.ended_at or now) - view.started_at, lang),
        ended=None if view.ended_at is None else format_local_time(view.ended_at),
        acknowledged=(
            None if view.acknowledged_at is None else format_local_time(view.acknowledged_at)
        ),
        valid_until=format_local_time(datetime.fromtimestamp(link.exp, UTC)),
    )


def _person(label: str, lang: Lang) -> str:
    """Who in words, from a label: "Nguyễn Văn A (head, email)" → "Nguyễn Văn A (Người
    đứng đầu), qua thư điện tử";
    a stored acknowledgement ("… (liên kết)") reads the same, and a name stays a name."""
    bare = label.removesuffix(f" {LINK_SUFFIX}")
    parsed = parse_label(bare)
    return bare if parsed is None else recipient_words(bare, parsed[2], lang)


def _refused(refusal: Refusal, incident_id: int, lang: Lang) -> HTMLResponse:
    return _render(REFUSAL_STATUS[refusal], lang, refusal=refusal, incident_id=incident_id)


@link_router.get("/{incident_id}/ack", response_class=HTMLResponse)
async def ack_link_page(
    session: SessionDep,
    settings: SettingsDep,
    incident_id: RowId,
    exp: Annotated[str, Query(description="expiry, UNIX seconds")] = "",
    by: Annotated[str, Query(description="whom the link was sent to")] = "",
    sig: Annotated[str, Query(description="HMAC-SHA256 under THONGSUOT_SECRET_KEY")] = "",
    lang: Annotated[str, Query(description="vi (default) or en")] = "vi",
) -> HTMLResponse:
    """The signed link in a notification: shows the incident and a button; changes nothing.

    403 (tampered), 410 (expired) or 404 (no such incident), as a page."""
    link = Link.parse(exp, by, sig)
    opened = await open_link(session, settings, incident_id, link)
    if isinstance(opened, str):
        return _refused(opened, incident_id, _lang(lang))
    assert link is not None
    return _page(opened, _lang(lang), link, None)


@link_router.post("/{incident_id}/ack/confirm", response_class=HTMLResponse)
async def ack_link_confirm(
    session: SessionDep,
    settings: SettingsDep,
    incident_id: RowId,
    exp: Annotated[str, Form()] = "",
    by: Annotated[str, Form()] = "",
    sig: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "vi",
) -> HTMLResponse:
    """The button on that page: acknowledges once, with the signed values in the form body.

    Posting again answers that it was acknowledged before, without acting."""
    link = Link.parse(exp, by, sig)
    done = await acknowledge_through_link(session, settings, incident_id, link)
    if isinstance(done, str):
        return _refused(done, incident_id, _lang(lang))
    view, outcome = done
    assert link is not None
    return _page(view, _lang(lang), link, outcome)
