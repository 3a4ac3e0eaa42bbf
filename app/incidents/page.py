"""The human incident page, ``/incidents/{id}``, and short acknowledgement links ``/a/…``.

Every message links here instead of to the JSON API. The page is Vietnamese by
default (``?lang=en``), phone-sized and works without JavaScript. It is reached by
a signed link (``?sig=``, :func:`app.incidents.links.view_url`) or with a read token
(``Authorization: Bearer``); without either it answers a 403 page.

It says what is down, since when and why (in words, never the probe's own text);
the incident it is suppressed under, and the dependants suppressed under it; who
was told on which channel and when (names and roles only; a token holder also sees
the addresses and delivery errors); the operators' updates; and, while the incident
is open and unacknowledged, a button that acknowledges it (a POST: opening the page
changes nothing).

``/a/{delivery}.{sig}`` is the short form of one message's acknowledgement link, for
SMS: it redirects to the full signed link of that message (``app/incidents/ack_page.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.deps import Credentials, RowId, SessionDep, SettingsDep, require_read_token
from app.incidents import repository
from app.incidents.html import HEADERS as _HEADERS
from app.incidents.html import env as _env
from app.incidents.links import check_short, check_view, sign_ack, sign_view
from app.incidents.recipients import address_of, recipient_words
from app.incidents.updates import updates_of
from app.models import Check, Incident, IncidentUpdate, OutboxNotification, Service, Unit
from app.models.base import utcnow
from app.vocab.fmt import format_duration, format_local_time
from app.vocab.lang import Lang
from app.vocab.states import ICONS, State, state_word
from app.vocab.words import (
    delivery_status_words,
    error_kind_words,
    event_tag_words,
    incident_state_words,
    service_subject,
    unit_label,
    update_stage_words,
)

MAX_NAME = 120

page_router = APIRouter(tags=["incidents"])


@dataclass(frozen=True, slots=True)
class Told:
    """One notification as the page lists it."""

    who: str
    event: str
    status: str
    at: str
    address: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Related:
    """A parent or dependant incident: what and where, and its page link when signed."""

    incident_id: int
    what: str
    state: str
    href: str | None


@dataclass(slots=True)
class IncidentPage:
    incident_id: int
    subject: str
    unit: str
    unit_code: str
    check_name: str
    state: str
    state_word: str
    icon: str
    state_words: str
    cause: str
    started: str
    lasted: str
    ended: str | None
    acknowledged_by: str | None
    acknowledged: str | None
    can_ack: bool
    parent: Related | None = None
    dependants: list[Related] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)
    updates: list[dict[str, str]] = field(default_factory=list)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _lang(value: str) -> Lang:
    return "en" if value == "en" else "vi"


async def incident_updates(session: AsyncSession, incident_id: int) -> list[IncidentUpdate]:
    """The operators' updates on the incident (table ``incident_update``), oldest first."""
    return list((await updates_of(session, [incident_id]))[incident_id])


async def _rows(
    session: AsyncSession, ids: list[int]
) -> list[tuple[Incident, str, str, str, str, str, str, str]]:
    stmt = (
        select(
            Incident,
            Unit.name,
            Unit.kind,
            Unit.code,
            Service.kind,
            Service.name,
            Check.name,
            Check.key,
        )
        .join(Check, Incident.check_id == Check.id)
        .join(Unit, Incident.unit_id == Unit.id)
        .join(Service, Check.service_id == Service.id)
        .where(Incident.id.in_(ids))
        .order_by(Incident.id)
        .execution_options(populate_existing=True)  # fresh after the acknowledging UPDATE
    )
    return [tuple(r) for r in (await session.execute(stmt)).all()]  # type: ignore[misc]


def _state(incident: Incident) -> str:
    if incident.ended_at is not None:
        return "resolved"
    if incident.notify_state == "suppressed":
        return "suppressed"
    return "open" if incident.acknowledged_at is None else "acknowledged"


def _href(key: str | None, incident_id: int, lang: Lang) -> str | None:
    if key is None:
        return None
    query = {"sig": sign_view(key, incident_id)} | ({"lang": "en"} if lang == "en" else {})
    return f"{incident_id}?{urlencode(query)}"


async def build_page(
    session: AsyncSession, incident_id: int, lang: Lang, key: str | None, *, with_addresses: bool
) -> IncidentPage | None:
    found = await _rows(session, [incident_id])
    if not found:
        return None
    incident, unit_name, unit_kind, unit_code, service_kind, service_name, check_name, check_key = (
        found[0]
    )
    now = utcnow()
    started, ended = _aware(incident.started_at), incident.ended_at
    state = _state(incident)
    check_state = State.UP if ended is not None else State.DOWN
    page = IncidentPage(
        incident_id=incident.id,
        subject=service_subject(service_kind, service_name, unit_kind, unit_name, lang),
        unit=unit_label(unit_kind, unit_name, lang),
        unit_code=unit_code,
        check_name=check_name,
        state=state,
        state_word=state_word(check_state, lang),
        icon=ICONS[check_state],
        state_words=incident_state_words(state, lang),
        cause=error_kind_words(incident.error_kind, lang, check_key=check_key),
        started=format_local_time(started),
        lasted=format_duration((_aware(ended) if ended else now) - started, lang),
        ended=None if ended is None else format_local_time(_aware(ended)),
        acknowledged_by=incident.acknowledged_by,
        acknowledged=(
            None
            if incident.acknowledged_at is None
            else format_local_time(_aware(incident.acknowledged_at))
        ),
        can_ack=key is not None and state in ("open", "suppressed") and ended is None,
    )
    if incident.parent_incident_id is not None:
        parents = await _related(session, [incident.parent_incident_id], lang, key)
        page.parent = parents[0] if parents else None
    children = select(Incident.id).where(Incident.parent_incident_id == incident.id).limit(200)
    child_ids = list((await session.scalars(children)).all())
    page.dependants = await _related(session, child_ids, lang, key)
    sent = await repository.notifications_of(session, incident.id)
    page.told = [_told(r, lang, with_addresses) for r in sent]
    page.updates = [
        {
            "stage": update_stage_words(u.stage, lang),
            "message": u.message,
            "at": format_local_time(_aware(u.created_at)),
        }
        for u in await incident_updates(session, incident.id)
    ]
    return page


async def _related(
    session: AsyncSession, ids: list[int], lang: Lang, key: str | None
) -> list[Related]:
    if not ids:
        return []
    out = []
    for incident, unit_name, unit_kind, _, service_kind, service_name, check_name, _ in await _rows(
        session, ids
    ):
        what = service_subject(service_kind, service_name, unit_kind, unit_name, lang)
        out.append(
            Related(
                incident.id,
                f"{what}: {check_name}",
                incident_state_words(_state(incident), lang),
                _href(key, incident.id, lang),
            )
        )
    return out


def _told(row: OutboxNotification, lang: Lang, with_addresses: bool) -> Told:
    at = row.sent_at or row.created_at
    return Told(
        who=recipient_words(row.recipient, row.channel_type, lang),
        event=event_tag_words(row.event, lang, restored=row.event == "up"),
        status=delivery_status_words(row.status, lang),
        at=format_local_time(_aware(at)),
        address=address_of(row.channel_config or {}) if with_addresses else "",
        error=row.last_error if with_addresses else "",
    )


def _render(name: str, status: int, lang: Lang, **values: Any) -> HTMLResponse:
    def t(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    body = _env.get_template(name).render(lang=lang, t=t, **values)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _refused(status: int, lang: Lang, incident_id: int, why: str) -> HTMLResponse:
    return _render("incident.html.j2", status, lang, p=None, why=why, incident_id=incident_id)


def _key(settings: Settings) -> str | None:
    return None if settings.secret_key is None else settings.secret_key.get_secret_value()


async def _allowed(
    session: AsyncSession,
    settings: Settings,
    credentials: Any,
    incident_id: int,
    sig: str,
) -> tuple[bool, bool]:
    """(may see the page, may see addresses): a valid signature, or a read token (which
    also shows addresses). A wrong token is a 401, like the API."""
    if credentials is not None:
        await require_read_token(session, settings, credentials)
        return True, True
    key = _key(settings)
    if key is not None and sig and len(sig) <= 128 and check_view(key, incident_id, sig):
        return True, False
    return False, False


@page_router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Credentials,
    incident_id: RowId,
    sig: Annotated[str, Query(description="the page signature from a notification")] = "",
    lang: Annotated[str, Query(description="vi (default) or en")] = "vi",
    done: Annotated[str, Query(include_in_schema=False)] = "",
) -> HTMLResponse:
    """The incident for people (a page; 403 without a valid signature or token, 404 unknown)."""
    language = _lang(lang)
    ok, addresses = await _allowed(session, settings, credentials, incident_id, sig)
    if not ok:
        return _refused(403, language, incident_id, "forbidden")
    key = _key(settings)
    page = await build_page(session, incident_id, language, key, with_addresses=addresses)
    if page is None:
        return _refused(404, language, incident_id, "missing")
    switch = {"lang": "vi" if language == "en" else "en"}
    other = urlencode(({"sig": sig} if sig else {}) | switch)
    return _render(
        "incident.html.j2",
        200,
        language,
        p=page,
        why=None,
        incident_id=incident_id,
        sig=sig or (sign_view(key, incident_id) if key is not None else ""),
        done=done,
        other_lang_href=f"?{other}",
    )


@page_router.post("/incidents/{incident_id}/ack", response_class=HTMLResponse)
async def incident_page_ack(
    session: SessionDep,
    settings: SettingsDep,
    incident_id: RowId,
    sig: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "vi",
) -> Response:
    """The page's button: acknowledges once, as ``<name> (trang sự cố)``; then shows the page."""
    language = _lang(lang)
    key = _key(settings)
    if key is None or not sig or len(sig) > 128 or not check_view(key, incident_id, sig):
        return _refused(403, language, incident_id, "forbidden")
    who = " ".join(name.split())[:MAX_NAME]
    if not who:
        return _refused(422, language, incident_id, "no_name")
    suffix = "(trang sự cố)" if language == "vi" else "(incident page)"
    acted = await repository.acknowledge(session, incident_id, utcnow(), f"{who} {suffix}")
    query = urlencode({"sig": sig, "lang": language, "done": "ack" if acted else "before"})
    return RedirectResponse(f"../{incident_id}?{query}", status_code=303)


@page_router.get("/a/{token}", response_class=HTMLResponse)
async def short_ack_link(session: SessionDep, settings: SettingsDep, token: str) -> Response:
    """``/a/{delivery}.{sig}`` from an SMS: redirects to that message's full signed link."""
    key = _key(settings)
    delivery, _, sig = token.partition(".")
    valid = delivery.isascii() and delivery.isdigit() and len(delivery) <= 18
    if key is None or not valid or not check_short(key, int(delivery), sig[:64]):
        return _refused(403, "vi", 0, "short")
    row = await session.get(OutboxNotification, int(delivery))
    if row is None or row.incident_id is None:
        return _refused(404, "vi", 0, "missing")
    created = _aware(row.created_at)
    expires = int(created.timestamp()) + settings.ack_link_ttl_s
    if expires < time.time():
        return _refused(410, "vi", row.incident_id, "expired")
    query = urlencode(
        {
            "exp": expires,
            "by": row.recipient,
            "sig": sign_ack(key, row.incident_id, expires, row.recipient),
        }
        | ({"lang": "en"} if row.lang == "en" else {})
    )
    # relative, so it works behind a path prefix: /a/… → /api/v1/…
    return RedirectResponse(f"../api/v1/incidents/{row.incident_id}/ack?{query}", status_code=303)
