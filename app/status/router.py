"""The public status pages (no token, no JavaScript, Vietnamese by default, ``?lang=en``):

- ``GET /status``: the home page; ``?q=`` finds units, accents optional;
- ``GET /status/{code}``: one unit;
- ``GET /status/{code}/badge.svg``: an embeddable badge;
- ``GET /status/feed.atom`` and ``/status/feed.json``: incidents and maintenance.

Every answer comes from a short cache (:mod:`app.status.cache`): one snapshot of
the state per few seconds, each page built once per key, never twice at once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.models.base import utcnow
from app.status import feeds, service
from app.status.cache import PageCache
from app.status.history import HistoryCache
from app.status.snapshot import Snapshot, load
from app.vocab.lang import Lang
from app.vocab.states import ICONS, State, state_word

router = APIRouter(tags=["status"])


class AtomResponse(Response):
    media_type = "application/atom+xml"


class JSONFeedResponse(Response):
    media_type = "application/feed+json"


class SVGResponse(Response):
    media_type = "image/svg+xml"


_JSON_FEED: dict[str, Any] = {  # JSON Feed 1.1, the members this feed writes
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"type": "string"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string"},
        "feed_url": {"type": "string"},
        "language": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "content_text", "date_published"],
                "properties": {
                    "id": {"type": "string"},
                    "url": {"type": "string"},
                    "title": {"type": "string"},
                    "content_text": {"type": "string"},
                    "date_published": {"type": "string"},
                    "date_modified": {"type": "string"},
                },
            },
        },
    },
}


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2", "svg", "atom"], default_for_string=True),
    trim_blocks=False,
)
CACHE_SECONDS = 10
LangQuery = Annotated[Lang, Query(description="vi (default) or en")]
_BADGE_COLOURS = {
    State.UP: "#1e7d3b",
    State.DEGRADED: "#8a4f00",
    State.MAINTENANCE: "#1f5fbf",
    State.UNKNOWN: "#5f6368",
    State.DOWN: "#b3261e",
}


def cache_of(request: Request) -> PageCache:
    """The app's page cache (made on first use; tests may replace it)."""
    cache = getattr(request.app.state, "status_cache", None)
    if cache is None:
        cache = request.app.state.status_cache = PageCache(CACHE_SECONDS)
    return cache


def histories_of(request: Request) -> HistoryCache:
    """Kept 30 times as long as pages (5 min; 0 when the page cache is off)."""
    found = getattr(request.app.state, "status_histories", None)
    if found is None:
        ttl = min(300.0, cache_of(request).ttl_s * 30)
        found = request.app.state.status_histories = HistoryCache(ttl)
    return found


async def _snapshot(request: Request) -> Snapshot:
    async def build() -> Snapshot:
        async with request.app.state.sessionmaker() as session:
            return await load(session, utcnow())

    snap: Snapshot = await cache_of(request).get(("snapshot",), build)
    return snap


async def _render(name: str, lang: Lang, request: Request, **context: Any) -> str:
    """Rendered in a worker thread: a national page takes a while, the loop must not wait."""
    return await asyncio.to_thread(_render_now, name, lang, request, **context)


def _render_now(name: str, lang: Lang, request: Request, **context: Any) -> str:
    def t(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    q_lang = "" if lang == "vi" else "?lang=en"
    other = request.url.include_query_params(lang="en" if lang == "vi" else "vi")
    return _env.get_template(name).render(
        lang=lang,
        t=t,
        q_lang=q_lang,
        self_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        other_lang_url=f"{other.path}?{other.query}",
        icons={s.value: ICONS[s] for s in State},
        words={s.value: state_word(s, lang) for s in State},
        **context,
    )


def _html(body: str) -> HTMLResponse:
    return HTMLResponse(body, headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})


async def _page(request: Request, key: tuple[Any, ...], make: Any) -> str:
    snap = await _snapshot(request)

    async def build() -> str:
        async with request.app.state.sessionmaker() as session:
            result: str = await make(session, snap)
            return result

    page: str = await cache_of(request).get(key, build)
    return page


@router.get("/status", response_class=HTMLResponse)
async def status_page(
    request: Request,
    lang: LangQuery = "vi",
    q: Annotated[str, Query(max_length=100, description="find units; accents optional")] = "",
) -> HTMLResponse:
    """Every unit that is not up with its reason, shared systems with 90 days of
    history, maintenance ahead, past incidents, and every unit."""

    async def make(session: Any, snap: Snapshot) -> str:
        page = await service.home(session, snap, lang, q, histories_of(request))
        return await _render("home.html.j2", lang, request, p=page)

    return _html(await _page(request, ("home", lang, q.strip()), make))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/status/feed.atom", response_class=AtomResponse)
async def atom_feed(request: Request, lang: LangQuery = "vi") -> Response:
    """Incidents (open or of the last 30 days, with their updates) and maintenance ahead."""

    async def make(session: Any, snap: Snapshot) -> str:
        items = await feeds.entries(session, snap, lang, _base(request))
        context = feeds.atom_context(items, lang, _base(request), snap.now)
        return _env.get_template("feed.atom.j2").render(**context)

    body = await _page(request, ("atom", lang, _base(request)), make)
    return AtomResponse(body, media_type="application/atom+xml; charset=utf-8")


@router.get(
    "/status/feed.json",
    response_class=JSONFeedResponse,
    responses={200: {"content": {"application/feed+json": {"schema": _JSON_FEED}}}},
)
async def json_feed(request: Request, lang: LangQuery = "vi") -> Response:
    """The same entries as the Atom feed, as a JSON Feed 1.1."""

    async def make(session: Any, snap: Snapshot) -> str:
        items = await feeds.entries(session, snap, lang, _base(request))
        return json.dumps(feeds.json_feed(items, lang, _base(request)), ensure_ascii=False)

    body = await _page(request, ("json", lang, _base(request)), make)
    return JSONFeedResponse(body, media_type="application/feed+json; charset=utf-8")


@router.get("/status/{code}", response_class=HTMLResponse)
async def unit_page(request: Request, code: str, lang: LangQuery = "vi") -> HTMLResponse:
    """One unit: name with its kind, code, address, opening hours, hotline; its
    services with 90 days of history; open and past incidents; maintenance ahead."""

    async def make(session: Any, snap: Snapshot) -> str:
        page = await service.unit_page(session, snap, code, lang, histories_of(request))
        return await _render("unit.html.j2", lang, request, p=page)

    return _html(await _page(request, ("unit", code, lang), make))


@router.get("/status/{code}/badge.svg", response_class=SVGResponse)
async def badge(request: Request, code: str, lang: LangQuery = "vi") -> Response:
    """An SVG badge with the unit's state word and icon, for the provincial portal."""
    snap = await _snapshot(request)
    name, b = service.badge(snap, code, lang)
    svg = _env.get_template("badge.svg.j2").render(
        label=name, word=b.word, icon=b.icon, colour=_BADGE_COLOURS[b.state]
    )
    return SVGResponse(
        svg,
        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"},
    )
