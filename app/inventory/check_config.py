"""``thongsuot check-config FILE``: validate an inventory and summarise it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal, TextIO

from app.errors import ConfigError
from app.inventory.flat import FlatInventory
from app.inventory.loader import flatten, load_inventory
from app.vocab.words import (
    SERVICE_KIND_SHORT,
    UNIT_KINDS,
    role_words,
    service_kind_words,
    unit_kind_words,
)

EXIT_OK = 0
EXIT_INVALID = 2

_TEXT = {
    "vi": {
        "errors": "Tệp kiểm kê {path} có {n} lỗi:",
        "ok": "Tệp kiểm kê {path} hợp lệ.",
        "units": "Đơn vị",
        "services": "Dịch vụ",
        "checks": "Phép kiểm tra",
        "enabled": "đang bật",
        "critical": "trọng yếu",
        "contacts": "Người liên hệ",
    },
    "en": {
        "errors": "Inventory {path} has {n} error(s):",
        "ok": "Inventory {path} is valid.",
        "units": "Units",
        "services": "Services",
        "checks": "Checks",
        "enabled": "enabled",
        "critical": "critical",
        "contacts": "Contacts",
    },
}


def check_config(path: Path, out: TextIO, lang: Literal["vi", "en"] = "vi") -> int:
    """Print a summary and return 0, or print every error (one per line) and return 2."""
    text = _TEXT[lang]
    try:
        flat = flatten(load_inventory(path))
    except ConfigError as exc:
        print(text["errors"].format(path=path, n=len(exc.errors)), file=out)
        for error in exc.errors:
            print(error, file=out)
        return EXIT_INVALID
    print(text["ok"].format(path=path), file=out)
    for line in summary_lines(flat, lang):
        print(line, file=out)
    return EXIT_OK


def summary_lines(flat: FlatInventory, lang: Literal["vi", "en"] = "vi") -> list[str]:
    """Counts of units, services and checks, each broken down by kind."""
    text = _TEXT[lang]
    enabled = sum(c.enabled for c in flat.checks)
    critical = sum(c.critical for c in flat.checks)
    return [
        f"{text['units']}: {len(flat.units)} ({_units_by_kind(flat.units_by_kind(), lang)})",
        f"{text['services']}: {len(flat.services)} "
        f"({_services_by_kind(flat.services_by_kind(), lang)})",
        f"{text['checks']}: {len(flat.checks)} ({_by_kind(flat.checks_by_kind())}); "
        f"{enabled} {text['enabled']}, {critical} {text['critical']}",
        f"{text['contacts']}: {_contacts_by_role(flat, lang)}",
    ]


def _contacts_by_role(flat: FlatInventory, lang: Literal["vi", "en"]) -> str:
    """``210 (Người đứng đầu 105, Cán bộ CNTT 104, ...)``: the units' and services' contacts."""
    roles: Counter[str] = Counter()
    for unit in flat.units:
        roles.update(c.get("role", "it_focal_point") for c in unit.settings.get("contacts", []))
    for service in flat.services:
        roles.update(c.get("role", "it_focal_point") for c in service.contacts)
    shown = ", ".join(f"{role_words(r, lang)} {n}" for r, n in roles.most_common())
    return f"{sum(roles.values())}" + (f" ({shown})" if shown else "")


def _units_by_kind(counts: Counter[str], lang: Literal["vi", "en"]) -> str:
    """``xã 93, phường 11, tỉnh 1, quốc gia 1``: the words and order of app.vocab.words."""
    order = {kind: i for i, kind in enumerate(UNIT_KINDS)}
    kinds = sorted(counts, key=lambda kind: (order.get(kind, len(order)), kind))
    return ", ".join(f"{unit_kind_words(kind, lang)} {counts[kind]}" for kind in kinds)


def _services_by_kind(counts: Counter[str], lang: Literal["vi", "en"]) -> str:
    """Service kinds in the words of app.vocab.words (short where it has a short name)."""

    def words(kind: str) -> str:
        short = SERVICE_KIND_SHORT.get(kind)
        if short is not None:
            return short[0] if lang == "vi" else short[1]
        return service_kind_words(kind, lang)

    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"{words(kind)} {n}" for kind, n in ranked)  # names have commas


def _by_kind(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
