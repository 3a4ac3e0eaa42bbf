"""Small inventories written to disk for the loader tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

BASE = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  defaults:
    interval: 30
units:
  - code: "12337"
    name: Hoàng Hoa Thám
    kind: commune
    services:
      - kind: commune_centre
        name: TTPVHCC Hoàng Hoa Thám
        checks:
          - name: web
            kind: http
            options: {url: "http://127.0.0.1:9/"}
"""


def write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``text`` containing ``needle``."""
    seen = 0
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not found {nth} time(s)")
