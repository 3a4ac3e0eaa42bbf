"""``thongsuot contacts import FILE.csv`` and ``thongsuot contacts export [FILE.csv]``.

import: checks a contacts CSV against the inventory's unit codes, prints every bad row
with its line number, and writes the good rows, normalised, to ``--out`` (default: the
inventory's ``contacts_file``). Exit 0: every row was good; 1: some rows were left out
(the good ones were written); 2: nothing could be done.

export: writes every unit's contacts (the YAML's and the CSV's) as CSV with a BOM.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from app.errors import ConfigError
from app.inventory.contacts import contacts_csv, inventory_rows, read_contacts, unit_codes
from app.inventory.document import Inventory
from app.inventory.loader import load_inventory


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["import", "export"])
    p.add_argument("file", nargs="?", type=Path, help="import: the CSV; export: where to write")
    p.add_argument("--inventory", type=Path, help="inventory YAML (THONGSUOT_INVENTORY)")
    p.add_argument("--out", type=Path, help="import: where to write the checked file")


def _inventory_path(args: argparse.Namespace) -> Path | None:
    if args.inventory is not None:
        return Path(args.inventory)
    env = os.environ.get("THONGSUOT_INVENTORY")
    return Path(env) if env else None


def _load(path: Path, err: TextIO) -> Inventory | None:
    try:
        return load_inventory(path)
    except ConfigError as exc:
        print(f"thongsuot: kiểm kê không hợp lệ / invalid inventory: {path}", file=err)
        for line in exc.errors:
            print(f"  {line}", file=err)
        return None


def _load_without_contacts(path: Path, err: TextIO) -> Inventory | None:
    """The inventory whose units the CSV may name; its own contacts file is not read
    (it is what is being replaced, and may be the one with the errors)."""
    from app.inventory.loader import decode, parse_resolved, read_bytes

    try:
        text = decode(path, read_bytes(path))
        return parse_resolved(text, str(path), path.parent, with_contacts=False)[0]
    except ConfigError as exc:
        print(f"thongsuot: kiểm kê không hợp lệ / invalid inventory: {path}", file=err)
        for line in exc.errors:
            print(f"  {line}", file=err)
        return None


def cmd_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.file is None:
        print("thongsuot contacts import FILE.csv: thiếu tệp / no file given", file=err)
        return 2
    inv_path = _inventory_path(args)
    inventory = None if inv_path is None else _load_without_contacts(inv_path, err)
    if inv_path is not None and inventory is None:
        return 2
    target = args.out
    if target is None and inventory is not None and inventory.contacts_file and inv_path:
        target = inv_path.parent / inventory.contacts_file
    if target is None:
        print(
            "thongsuot: chỉ ra nơi ghi bằng --out, hoặc dùng --inventory có contacts_file "
            "/ name the output with --out, or an --inventory with contacts_file",
            file=err,
        )
        return 2
    codes = None if inventory is None else unit_codes(inventory)
    found = read_contacts(args.file, codes)
    for problem in found.problems:
        print(problem, file=err)
    if not found.rows:
        print(f"Không có dòng hợp lệ nào; không ghi {target}. / No good row.", file=err)
        return 2
    target.write_text(contacts_csv(found.rows), encoding="utf-8", newline="")
    bad = len(found.problems)
    print(
        f"Đã ghi {len(found.rows)} người liên hệ vào {target}; {bad} dòng lỗi bị bỏ qua."
        + ("" if codes is not None else " (Chưa đối chiếu mã đơn vị: thiếu --inventory.)"),
        file=out,
    )
    return 1 if bad else 0


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inv_path = _inventory_path(args)
    if inv_path is None:
        print("thongsuot contacts export: cần --inventory / needs --inventory", file=err)
        return 2
    inventory = _load(inv_path, err)
    if inventory is None:
        return 2
    rows = inventory_rows(inventory)
    text = contacts_csv(rows)
    if args.file is None:
        out.write(text.removeprefix("\ufeff"))
        return 0
    Path(args.file).write_text(text, encoding="utf-8", newline="")
    print(f"Đã ghi {len(rows)} người liên hệ vào {args.file}.", file=out)
    return 0


def cmd_contacts(args: argparse.Namespace) -> int:
    if args.action == "import":
        return cmd_import(args, sys.stdout, sys.stderr)
    return cmd_export(args, sys.stdout, sys.stderr)
