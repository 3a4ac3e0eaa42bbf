"""The demo's units: the real Hưng Yên commune-level units first, synthetic ones beyond.

The farm (possibly in another process) and the inventory generator both call
``demo_units(n)``, so they agree on codes without talking to each other.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "hung-yen-communes-2025.csv"
PROVINCE_CODE = "33"
PROVINCE_NAME = "Tỉnh Hưng Yên"
SYNTHETIC_BASE = 900_000

_KINDS = {"xã": "commune", "phường": "ward", "đặc khu": "special_zone"}
_PREFIX = {"commune": "Xã", "ward": "Phường", "special_zone": "Đặc khu"}


@dataclass(frozen=True, slots=True)
class DemoUnit:
    code: str
    name: str
    kind: str


@lru_cache(maxsize=1)
def hung_yen_units() -> tuple[DemoUnit, ...]:
    """The 104 units of Hưng Yên (QĐ 19/2025 codes), in the file's order."""
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    units = []
    for row in rows:
        kind = _KINDS[row["type"].strip()]
        units.append(
            DemoUnit(row["code_qd19_2025"].strip(), f"{_PREFIX[kind]} {row['name']}", kind)
        )
    return tuple(units)


def demo_units(n: int) -> list[DemoUnit]:
    """``n`` units: the real ones first, then synthetic codes 9xxxxx."""
    if n < 0:
        raise ValueError("the number of units must not be negative")
    real = list(hung_yen_units()[:n])
    for i in range(len(real), n):
        real.append(DemoUnit(str(SYNTHETIC_BASE + i), f"Xã Mô Phỏng {i + 1}", "commune"))
    return real
