"""Fitting a message into SMS segments.

A GSM-7 segment holds 160 septets (153 per part when concatenated); the
extension characters (``^{}\\[~]|€``) cost two. Anything outside GSM-7, such as
Vietnamese with diacritics, switches the whole message to UCS-2: 70 UTF-16
units (67 per part). Folding to ASCII keeps an alert in one cheap segment.
"""

from __future__ import annotations

import re
from typing import Literal

from app.vocab.fmt import ascii_fold

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["gsm7", "ucs2"]


def encoding_of(text: str) -> Encoding:
    ok = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    return "gsm7" if ok else "ucs2"


def units(text: str, encoding: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies."""
    if encoding == "gsm7":
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def capacity(encoding: Encoding, segments: int) -> int:
    single, part = (160, 153) if encoding == "gsm7" else (70, 67)
    return single if segments == 1 else part * segments


def segments_needed(text: str) -> int:
    enc = encoding_of(text)
    used = units(text, enc)
    if used <= capacity(enc, 1):
        return 1
    per_part = capacity(enc, 2) // 2
    return -(-used // per_part)


TRAILING_LINK = re.compile(r"\s(https?://\S+)$")


def fit_sms(text: str, *, ascii: bool, max_segments: int = 1) -> str:
    """The text, folded if ``ascii``, cut with an ellipsis to ``max_segments``.

    A link at the end (the acknowledgement link) is kept whole: the words before it
    are cut instead, as long as the link leaves room for some of them."""
    if ascii:
        text = ascii_fold(text)
    text = " ".join(text.split())
    enc = encoding_of(text)
    limit = capacity(enc, max_segments)
    if units(text, enc) <= limit:
        return text
    # folded text stays ASCII even when a character outside GSM-7 (` for one) makes it UCS-2
    ellipsis = "..." if ascii or enc == "gsm7" else "…"
    tail = ""
    link = TRAILING_LINK.search(text)
    if link is not None and units(link[0], enc) + units(ellipsis, enc) + 20 <= limit:
        text, tail = text[: link.start()], link[0]
    while text and units(text, enc) + units(ellipsis + tail, enc) > limit:
        text = text[:-1]
    return text.rstrip() + ellipsis + tail
