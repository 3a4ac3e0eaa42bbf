"""Text that comes from outside, made safe to store: the one place it is cleaned.

Probe messages, response snippets, push messages and the strings inside a
result's ``details`` pass through :func:`clean_text` / :func:`clean_details`
before they reach SQL. Both databases refuse some text: PostgreSQL has no NUL in
``text`` nor in ``jsonb``, neither driver encodes a lone surrogate, and JSONB
refuses ``NaN``. One such value used to fail its whole batch, over and over.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

MESSAGE_LIMIT = 500
"""Messages and reasons: the width of the ``message`` / ``reason`` columns."""
DETAIL_TEXT_LIMIT = 1_000
"""One string inside ``details``."""
DETAIL_KEY_LIMIT = 100
DETAIL_ITEMS_LIMIT = 100
"""Entries kept per dict or list inside ``details``; the rest are dropped."""
DETAIL_DEPTH_LIMIT = 8

# C0 controls except tab, newline and carriage return (a protocol reply keeps its
# CRLF), DEL, and lone surrogates (never valid UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\x00":
        return ""
    return "\ufffd" if "\ud800" <= char <= "\udfff" else " "


def clean_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` without NUL (dropped), other control characters (a space; tab,
    newline and CR stay), lone surrogates (U+FFFD), cut to ``limit`` characters
    with "…"."""
    if not isinstance(text, str):
        text = str(text)
    text = _UNSAFE.sub(_replace, text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def clean_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of ``details``: strings cleaned and bounded, at most
    :data:`DETAIL_ITEMS_LIMIT` entries per level and :data:`DETAIL_DEPTH_LIMIT`
    levels, non-finite floats and non-JSON values (datetimes, bytes, ...) as text."""
    return _clean_mapping(details, DETAIL_DEPTH_LIMIT)


def _clean_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (key, item) in enumerate(value.items()):
        if i >= DETAIL_ITEMS_LIMIT:
            break
        out[clean_text(str(key), DETAIL_KEY_LIMIT)] = _clean_value(item, depth - 1)
    return out


def _clean_value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return clean_text(value, DETAIL_TEXT_LIMIT)
    if depth <= 0:
        return clean_text(repr(value), DETAIL_TEXT_LIMIT)
    if isinstance(value, Mapping):
        return _clean_mapping(value, depth)
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean_value(item, depth - 1) for item in list(value)[:DETAIL_ITEMS_LIMIT]]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return clean_text(bytes(value).decode("utf-8", "replace"), DETAIL_TEXT_LIMIT)
    return clean_text(str(value), DETAIL_TEXT_LIMIT)


__all__ = [
    "DETAIL_TEXT_LIMIT",
    "MESSAGE_LIMIT",
    "clean_details",
    "clean_text",
]
