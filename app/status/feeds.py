"""Atom and JSON Feed (https://jsonfeed.org/version/1.1) of incidents and maintenance.

Entries: incidents that are open or started in the last 30 days (newest 100), each
with its cause in words and its updates, and maintenance occurrences of the next
7 days. Ids are stable ("tag:" URIs), so a reader shows an updated entry once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.updates import updates_of
from app.models import Incident
from app.status.service import full_name, maintenance_lines, stage_words, t_
from app.status.snapshot import Snapshot
from app.vocab.fmt import format_local_time
from app.vocab.lang import Lang
from app.vocab.states import State, state_word
from app.vocab.words import error_kind_words

FEED_DAYS = 30
FEED_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    text: str
    url: str
    published: datetime
    updated: datetime


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


async def entries(session: AsyncSession, snap: Snapshot, lang: Lang, base: str) -> list[Entry]:
    since = snap.now - timedelta(days=FEED_DAYS)
    stmt = (
        select(Incident)
        .where(Incident.ended_at.is_(None) | (Incident.started_at >= since))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(FEED_LIMIT)
    )
    rows = list((await session.execute(stmt)).scalars())
    updates = await updates_of(session, [r.id for r in rows])
    found: list[Entry] = []
    for r in rows:
        unit = snap.units.get(r.unit_id)
        check = snap.checks.get(r.check_id)
        unit_name = full_name(unit, lang) if unit is not None else ""
        what = check.name if check is not None else ""
        cause = error_kind_words(r.error_kind, lang, check_key=check.key if check else None)
        if r.ended_at is None:
            title = t_(lang, f"{unit_name}: {what} đang gặp sự cố", f"{unit_name}: {what} is down")
            span = t_(
                lang,
                f"Từ {format_local_time(r.started_at)}",
                f"Since {format_local_time(r.started_at)}",
            )
        else:
            title = t_(lang, f"{unit_name}: {what} đã khôi phục", f"{unit_name}: {what} recovered")
            span = t_(
                lang,
                f"Từ {format_local_time(r.started_at)} đến {format_local_time(r.ended_at)}",
                f"From {format_local_time(r.started_at)} to {format_local_time(r.ended_at)}",
            )
        lines = [f"{span}. {cause[:1].upper()}{cause[1:]}."]
        lines += [
            f"{format_local_time(u.created_at)} {stage_words(u.stage, lang)}: {u.message}"
            for u in updates.get(r.id, [])
        ]
        last = max(
            [r.started_at, r.ended_at or r.started_at]
            + [u.created_at for u in updates.get(r.id, [])]
        )
        code = unit.code if unit is not None else ""
        found.append(
            Entry(
                id=f"tag:thongsuot,2026:incident/{r.id}",
                title=title,
                text="\n".join(lines),
                url=f"{base}/status/{code}#incident-{r.id}",
                published=r.started_at,
                updated=last,
            )
        )
    for m in maintenance_lines(snap, lang):
        title = f"{state_word(State.MAINTENANCE, lang)}: {m.what}"
        text = t_(lang, f"Từ {m.starts} đến {m.ends}.", f"From {m.starts} to {m.ends}.")
        if m.reason:
            text += " " + t_(lang, f"Lý do: {m.reason}", f"Reason: {m.reason}")
        found.append(
            Entry(
                id=f"tag:thongsuot,2026:maintenance/{_iso(m.starts_at)}/{m.what}",
                title=title,
                text=text,
                url=f"{base}/status",
                published=m.starts_at,
                updated=m.starts_at,
            )
        )
    return sorted(found, key=lambda e: e.updated, reverse=True)


def json_feed(items: list[Entry], lang: Lang, base: str) -> dict[str, Any]:
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": t_(lang, "Tình hình hoạt động dịch vụ công", "Public service status"),
        "home_page_url": f"{base}/status",
        "feed_url": f"{base}/status/feed.json",
        "language": lang,
        "items": [
            {
                "id": e.id,
                "url": e.url,
                "title": e.title,
                "content_text": e.text,
                "date_published": _iso(e.published),
                "date_modified": _iso(e.updated),
            }
            for e in items
        ],
    }


def atom_context(items: list[Entry], lang: Lang, base: str, now: datetime) -> dict[str, Any]:
    return {
        "lang": lang,
        "base": base,
        "title": t_(lang, "Tình hình hoạt động dịch vụ công", "Public service status"),
        "updated": _iso(items[0].updated if items else now),
        "entries": [
            {
                "id": e.id,
                "title": e.title,
                "text": e.text,
                "url": e.url,
                "published": _iso(e.published),
                "updated": _iso(e.updated),
            }
            for e in items
        ],
    }
