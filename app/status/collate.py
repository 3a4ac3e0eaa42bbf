"""Vietnamese order and accent-insensitive matching for unit names.

Order: the Unicode Collation Algorithm (``pyuca``, pure Python, DUCET). It puts
"Bắc Thái Ninh" before "Bình Định" and "Ấp" next to "Ap" (Python's own ``sorted``
puts every accented letter after "z"). DUCET treats ă â ê ô ơ ư đ as accented
forms of a e o u d, where a Vietnamese dictionary makes them letters of their
own; names that differ only there ("Dương" / "Đông") may therefore interleave.
CLDR's Vietnamese tailoring (PyICU) fixes that but needs ICU and a C++ build
(docs/status.md).

Matching: case- and accent-insensitive, so "hoang hoa tham" finds "Hoàng Hoa Thám".
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

from pyuca import Collator  # type: ignore[import-untyped]  # no stubs

from app.vocab.fmt import ascii_fold


@cache
def _collator() -> Collator:
    return Collator()  # reads DUCET once (about 0.3 s)


@lru_cache(maxsize=100_000)  # names change rarely; pyuca takes ~0.1 ms a key
def sort_key(text: str) -> tuple[int, ...]:
    """The collation key of ``text`` (NFC first, so decomposed input sorts alike)."""
    key: tuple[int, ...] = _collator().sort_key(unicodedata.normalize("NFC", text))
    return key


@lru_cache(maxsize=100_000)
def fold(text: str) -> str:
    """Lower case without diacritics, spaces collapsed: "Hoàng  Hoa Thám" → "hoang hoa tham"."""
    return " ".join(ascii_fold(unicodedata.normalize("NFC", text)).casefold().split())


def matches(query: str, *texts: str) -> bool:
    """Every word of ``query`` appears, folded, in one of ``texts`` joined."""
    words = fold(query).split()
    haystack = " ".join(fold(t) for t in texts)
    return all(w in haystack for w in words)
