"""Render a :class:`Notification` into every shape channels send.

Templates live in ``app/notify/messages/templates/{vi,en}/``; the variables they see are
listed in docs/notifications.md. HTML templates autoescape (and import the shared
macros as ``html/<lang>/_words.j2``, see :func:`autoescape`), so unit names and
probe messages cannot inject markup into e-mail or Telegram.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from app.notify.channels.base import Notification, RenderedMessage
from app.vocab.fmt import ascii_fold, format_duration, format_local_time, format_short_time
from app.vocab.words import (
    error_kind_words,
    event_tag_words,
    incident_state_words,
    role_words,
    service_kind_words,
    service_subject,
    severity_words,
    unit_label,
)

TEMPLATES = Path(__file__).parent / "templates"


HTML_PREFIX = "html/"
"""HTML templates import the shared macros as ``html/<lang>/_words.j2``: the same file,
compiled with autoescape, so the names the macros print are escaped there too."""


def autoescape(name: str | None) -> bool:
    """Escape by output format: HTML (``*.html.j2`` and ``html/...``) yes, plain text no.

    Jinja decides escaping when it compiles a template, so a macro file shared by
    text and HTML templates is loaded under two names, one per format. Importing the
    plain one into an HTML template would print names raw (Jinja marks a macro's
    output safe when an autoescaping template calls it).
    """
    return name is not None and (name.endswith(".html.j2") or name.startswith(HTML_PREFIX))


class FormatLoader(jinja2.FileSystemLoader):
    """Templates by their own names, and any of them again under ``html/``.

    The full name (with ``html/``) is the one a template is compiled and cached
    under, so :func:`autoescape` sees it (``jinja2.PrefixLoader`` would compile it
    under the name without the prefix).
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        return super().get_source(environment, template.removeprefix(HTML_PREFIX))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=FormatLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_context(note: Notification) -> dict[str, Any]:
    """The variables every template sees (documented in docs/notifications.md)."""
    lang = note.lang
    return {
        "event": note.event.value,
        "event_tag": event_tag_words(note.event.value, lang, restored=note.restored),
        "lang": lang,
        "restored": note.restored,
        "unit_code": note.unit_code,
        "unit_name": note.unit_name,
        "service_kind": note.service_kind,
        "service_kind_words": service_kind_words(note.service_kind, lang),
        "service_name": note.service_name,
        "check_key": note.check_key,
        "check_name": note.check_name,
        "probe_kind": note.probe_kind,
        "error_kind": note.error_kind,
        "error_words": error_kind_words(note.error_kind, lang, check_key=note.check_key),
        "message": note.message,
        "started_local": format_local_time(note.started_at),
        "started_short": format_short_time(note.started_at),
        "now_local": format_local_time(note.now),
        "now_short": format_short_time(note.now),
        "duration": format_duration(note.elapsed, lang),
        "duration_s": int(note.elapsed.total_seconds()),
        "incident_id": note.incident_id,
        "incident_state": note.incident_state,
        "incident_state_words": incident_state_words(note.incident_state, lang),
        "severity": note.severity,
        "severity_words": severity_words(note.severity, lang),
        "dashboard_url": note.dashboard_url,
        "api_url": note.api_url,
        "ack_url": note.ack_url,
        "short_ack_url": note.short_ack_url,
        "show_ack": note.event.value in ACK_EVENTS,
        "unit_kind": note.unit_kind,
        "unit_place": unit_place(note),
        "subject": service_subject(
            note.service_kind, note.service_name, note.unit_kind, note.unit_name, lang
        ),
        "instructions": note.instructions if note.event.value in INSTRUCTED_EVENTS else "",
        "first_alerted": note.first_alerted,
        "first_alerted_short": (
            "" if note.first_alerted_at is None else format_clock(note.first_alerted_at)
        ),
        "waited": _waited(note),
        "recipient_role": note.recipient_role,
        "recipient_role_words": role_words(note.recipient_role, lang),
        "recipient_name": note.recipient_name,
    }


ACK_EVENTS = frozenset({"down", "reminder", "escalation", "flapping"})
"""Events whose messages carry the acknowledgement link."""
INSTRUCTED_EVENTS = frozenset(
    {"down", "reminder", "escalation", "flapping", "monitor_connectivity"}
)
"""Events whose messages say what to do (not a recovery, not a test)."""


def unit_place(note: Notification) -> str:
    """The unit with its kind ("xã Hoàng Hoa Thám"); the bare name when the kind is unknown."""
    if not note.unit_kind:
        return note.unit_name
    return unit_label(note.unit_kind, note.unit_name, note.lang)


def _waited(note: Notification) -> str:
    if note.unanswered_for is not None:
        return format_duration(note.unanswered_for, note.lang)
    if note.first_alerted_at is None:
        return ""
    return format_duration(note.now - note.first_alerted_at, note.lang)


def format_clock(at: datetime) -> str:
    """``HH:MM`` in Vietnam time."""
    return format_short_time(at).split(" ", 1)[0]


def _render(name: str, lang: str, ctx: dict[str, Any]) -> str:
    return environment().get_template(f"{lang}/{name}").render(ctx).strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(note: Notification) -> RenderedMessage:
    """All shapes of one notification in ``note.lang``."""
    ctx = template_context(note)
    short = _one_line(_render("short.txt.j2", note.lang, ctx))
    return RenderedMessage(
        subject=_one_line(_render("subject.txt.j2", note.lang, ctx)),
        text=_render("text.txt.j2", note.lang, ctx) + "\n",
        html=_render("email.html.j2", note.lang, ctx) + "\n",
        short=short,
        chat_html=_render("chat.html.j2", note.lang, ctx),
        short_ascii=ascii_fold(short),
    )
