"""The contacts directory: the heads and IT contacts of every unit, as a CSV file.

An inventory may name one (``contacts_file: contacts.csv``, relative to the inventory
file); its rows become the units' ``contacts`` when the inventory loads, after the
contacts written in the YAML. ``thongsuot contacts import`` checks a CSV and writes it
back normalised; ``thongsuot contacts export`` writes the contacts an inventory has.
Columns and rules: docs/contacts.md.

The file is UTF-8 (a byte-order mark is written, and accepted, so Excel opens
Vietnamese names correctly). Every bad row is reported with its line number; the
good rows are kept.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from app.errors import ConfigError
from app.inventory.document import Contact, Inventory, UnitBase
from app.vocab.words import ROLES

M = TypeVar("M", bound=UnitBase)

COLUMNS = ("unit_code", "role", "name", "title", "email", "phone", "telegram", "zalo", "note")
"""In the order export writes them; import accepts them in any order."""
REQUIRED = ("unit_code", "role", "name")
ADDRESSES = ("email", "phone", "telegram", "zalo")
MAX_ROWS = 100_000
MAX_FIELD = 200

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
_CODE = re.compile(r"^[0-9A-Z]{2,10}$")
_TELEGRAM = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$")
_ZALO = re.compile(r"^[0-9]{1,30}$")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


ROLE_ALIASES: dict[str, str] = {
    **{key: key for key in ROLES},
    **{_fold(vi): key for key, (vi, _) in ROLES.items()},
    **{_fold(en): key for key, (_, en) in ROLES.items()},
}
"""``head``, "Người đứng đầu", "nguoi dung dau" and "Head" all mean ``head``."""


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One good row, normalised (trimmed, role as its key, phone digits only)."""

    line: int
    unit_code: str
    role: str
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    telegram: str = ""
    zalo: str = ""
    note: str = ""

    def contact(self) -> dict[str, str]:
        """As an inventory ``contacts`` entry (empty fields left out)."""
        values = {
            "name": self.name,
            "role": self.role,
            "title": self.title,
            "email": self.email,
            "phone": self.phone,
            "telegram": self.telegram,
            "zalo": self.zalo,
        }
        return {k: v for k, v in values.items() if v}

    def cells(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


@dataclass(slots=True)
class ContactsFile:
    rows: list[ContactRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """``file:line: what is wrong`` for every bad row (and a bad header, line 1)."""


def _phone(raw: str) -> str:
    digits = re.sub(r"[\s.()-]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    return digits


def _row(
    line: int, cells: dict[str, str], units: set[str] | None
) -> tuple[ContactRow | None, list[str]]:
    errors: list[str] = []
    values = {k: " ".join((cells.get(k) or "").split()) for k in COLUMNS}
    for column, value in values.items():
        if len(value) > MAX_FIELD:
            errors.append(f"{column}: longer than {MAX_FIELD} characters")
    for column in REQUIRED:
        if not values[column]:
            errors.append(f"{column}: missing")
    code = values["unit_code"]
    if code and not _CODE.match(code):
        errors.append(f"unit_code {code!r}: not a unit code (digits, e.g. 12337)")
    elif code and units is not None and code not in units:
        errors.append(f"unit_code {code}: no such unit in the inventory")
    role = ROLE_ALIASES.get(_fold(values["role"]))
    if values["role"] and role is None:
        errors.append(f"role {values['role']!r}: one of {', '.join(ROLES)}")
    values["phone"] = _phone(values["phone"]) if values["phone"] else ""
    checks = (("email", _EMAIL), ("phone", _PHONE), ("telegram", _TELEGRAM), ("zalo", _ZALO))
    for column, pattern in checks:
        if values[column] and not pattern.match(values[column]):
            errors.append(f"{column} {values[column]!r}: not a valid {column}")
    if not any(values[a] for a in ADDRESSES):
        errors.append("no address: give at least one of email, phone, telegram, zalo")
    if errors or role is None:
        return None, errors
    values["role"] = role
    return ContactRow(line=line, **values), []


def parse_contacts(text: str, source: str, units: set[str] | None = None) -> ContactsFile:
    """Every good row, and a problem for every bad one (``source:line: ...``).

    ``units``: the unit codes that exist (None: not checked). A row repeating an earlier
    one (same unit, role and name) is reported and left out."""
    result = ContactsFile()
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower().removeprefix("\ufeff") for h in next(reader)]
    except StopIteration:
        result.problems.append(f"{source}:1: the file is empty (header: {','.join(COLUMNS)})")
        return result
    except csv.Error as exc:
        result.problems.append(f"{source}:1: {exc}")
        return result
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        what = [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        what += [f"missing columns: {', '.join(missing)}"] if missing else []
        result.problems.append(
            f"{source}:1: header: {'; '.join(what)} (columns: {','.join(COLUMNS)})"
        )
        return result
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(result.rows) + len(result.problems) >= MAX_ROWS:
                result.problems.append(f"{source}:{line}: more than {MAX_ROWS:,} rows")
                break
            if len(cells) > len(header):
                result.problems.append(
                    f"{source}:{line}: {len(cells)} cells, the header has {len(header)}"
                )
                continue
            row, errors = _row(line, dict(zip(header, cells, strict=False)), units)
            if row is None:
                result.problems.append(f"{source}:{line}: " + "; ".join(errors))
                continue
            key = (row.unit_code, row.role, _fold(row.name))
            if key in seen:
                result.problems.append(
                    f"{source}:{line}: repeats line {seen[key]} "
                    f"({row.unit_code}, {row.role}, {row.name})"
                )
                continue
            seen[key] = line
            result.rows.append(row)
    except csv.Error as exc:
        result.problems.append(f"{source}:{reader.line_num}: {exc}")
    return result


def read_contacts(path: Path, units: set[str] | None = None) -> ContactsFile:
    """:func:`parse_contacts` of a file; an unreadable file is one problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return ContactsFile(problems=[f"{path}:1: cannot read the file: {exc}"])
    return parse_contacts(text, str(path), units)


def contacts_csv(rows: Iterable[ContactRow]) -> str:
    """The CSV text (with a byte-order mark, CRLF line ends as Excel writes them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return "\ufeff" + out.getvalue()


def rows_from_contacts(unit_code: str, contacts: Iterable[dict[str, str]]) -> list[ContactRow]:
    """Inventory contacts of one unit as rows (for export)."""
    return [
        ContactRow(
            line=0,
            unit_code=unit_code,
            role=c.get("role", "it_focal_point"),
            name=c.get("name", ""),
            **{k: str(c.get(k) or "") for k in ("title", "email", "phone", "telegram", "zalo")},
        )
        for c in contacts
    ]


def unit_codes(inv: Inventory) -> set[str]:
    codes = {inv.province.code, *(u.code for u in inv.units)}
    if inv.national is not None:
        codes.add(inv.national.code)
    return codes


def attach_contacts(inv: Inventory, base_dir: Path) -> Inventory:
    """The inventory with its ``contacts_file`` rows added to the units' contacts.

    ``ConfigError`` listing every bad row (``file:line: ...``) when the file has any."""
    if inv.contacts_file is None:
        return inv
    found = read_contacts(base_dir / inv.contacts_file, unit_codes(inv))
    if found.problems:
        raise ConfigError(found.problems)
    by_unit: dict[str, list[Contact]] = {}
    for row in found.rows:
        by_unit.setdefault(row.unit_code, []).append(Contact.model_validate(row.contact()))

    def more(unit: M) -> M:
        extra = by_unit.get(getattr(unit, "code", ""))
        if not extra:
            return unit
        return unit.model_copy(update={"contacts": [*unit.contacts, *extra]})

    return inv.model_copy(
        update={
            "province": more(inv.province),
            "national": None if inv.national is None else more(inv.national),
            "units": [more(u) for u in inv.units],
        }
    )


def inventory_rows(inv: Inventory) -> list[ContactRow]:
    """Every unit's contacts (the YAML's and the CSV's), province first, as rows."""
    units: list[UnitBase] = [inv.province, *inv.units]
    if inv.national is not None:
        units.insert(0, inv.national)
    rows: list[ContactRow] = []
    for unit in units:
        code: str = getattr(unit, "code", "")
        rows += rows_from_contacts(code, [c.model_dump(exclude_none=True) for c in unit.contacts])
    return rows
