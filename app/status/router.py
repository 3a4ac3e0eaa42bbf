"""``GET /status``: the public status page, in Vietnamese by default (``?lang=en``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.deps import SessionDep
from app.status.service import Lang, build

router = APIRouter(tags=["status"])
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


@router.get("/status", response_class=HTMLResponse)
async def status_page(session: SessionDep, lang: Annotated[Lang, Query()] = "vi") -> HTMLResponse:
    """Every unit's state and the ongoing incidents; public, refreshes every 30 s."""
    page = await build(session, lang)

    def t(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    html = _env.get_template("status.html.j2").render(p=page, t=t)
    return HTMLResponse(html)
