"""Who a notification went to, as the outbox records it and as people read it.

The outbox's ``recipient`` of a contact address is ``"Nguyễn Văn A (head, email)"``
(:func:`contact_label`); a named channel (a group chat, a webhook) is its name. Pages
that show recipients without a token show the name, the role and the channel in words,
never the address (:func:`recipient_words`); with a token, :func:`address_of` adds it.
"""

from __future__ import annotations

import re
from typing import Any

from app.vocab.lang import Lang
from app.vocab.words import channel_words, role_words

_LABEL = re.compile(r"^(?P<name>.*) \((?P<role>[a-z_]+), (?P<kind>[a-z]+)\)$")
ADDRESS_FIELDS = ("to", "chat_id", "user_id", "phone", "url")


def contact_label(name: str, role: str, kind: str) -> str:
    """The outbox's ``recipient`` of one contact address: "Nguyễn Văn A (head, email)"."""
    return f"{name} ({role}, {kind})"[:200]


def parse_label(label: str) -> tuple[str, str, str] | None:
    """(name, role, channel type) of a contact's label; None for a named channel."""
    found = _LABEL.match(label)
    return None if found is None else (found["name"], found["role"], found["kind"])


def person_words(label: str, lang: Lang) -> str:
    """The name and role ("Nguyễn Văn A (Người đứng đầu)"); a named channel keeps its name."""
    parsed = parse_label(label)
    return label if parsed is None else f"{parsed[0]} ({role_words(parsed[1], lang)})"


def recipient_words(label: str, channel_type: str, lang: Lang) -> str:
    """Name, role and channel ("Nguyễn Văn A (Người đứng đầu), qua thư điện tử"); no address."""
    via = "qua" if lang == "vi" else "by"
    return f"{person_words(label, lang)}, {via} {channel_words(channel_type, lang)}"


def address_of(channel_config: dict[str, Any]) -> str:
    """The address a channel config sends to (e-mail, chat id, phone, URL); for token holders."""
    for field in ADDRESS_FIELDS:
        value = channel_config.get(field)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if value:
            return str(value)
    return ""
