"""The contacts directory (issue 11.3): a CSV of every unit's heads and IT contacts.

Bad rows are reported with their line numbers and the good rows kept; UTF-8 with a BOM;
Vietnamese names survive a round trip; unknown unit codes and repeated rows are refused;
an inventory's ``contacts_file`` becomes the units' contacts when it loads.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.errors import ConfigError
from app.inventory.check_config import check_config
from app.inventory.contacts import COLUMNS, contacts_csv, parse_contacts, read_contacts
from app.inventory.document import ContactRole
from app.inventory.loader import flatten, load_inventory
from app.vocab.words import ROLES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hung-yen.yaml"
EXAMPLE_CONTACTS = ROOT / "examples" / "hung-yen-contacts.csv"
UNITS = {"33", "12337", "11977"}

GOOD_AND_BAD = """\ufeffunit_code,role,name,title,email,phone,telegram,zalo,note
12337,head,Nguyễn Thị Ánh Tuyết,Chủ tịch UBND xã,tuyet@example.invalid,0900 000 101,,,
12337,Cán bộ CNTT,Trần Văn Đức,,duc@example.invalid,+84900000102,,,gọi giờ hành chính
99999,head,Lê Văn Ma,,ma@example.invalid,0900000103,,,
11977,thủ quỹ,Phạm Văn Sai,,sai@example.invalid,,,,
11977,head,,,,0900000105,,,
11977,head,Đỗ Thị Hằng,,khong-phai-email,0900000106,,,
11977,on_call,Vũ Minh Châu,,,,,,
12337,head,nguyễn thị ánh tuyết,,khac@example.invalid,0900000108,,,
11977,head,Hoàng Văn Đúng,Chủ tịch UBND xã,dung@example.invalid,0900000109,-1001234,2468,
"""


def test_good_rows_are_kept_and_every_bad_row_is_named_by_its_line() -> None:
    found = parse_contacts(GOOD_AND_BAD, "lien-he.csv", UNITS)
    assert [(r.line, r.unit_code, r.role, r.name) for r in found.rows] == [
        (2, "12337", "head", "Nguyễn Thị Ánh Tuyết"),
        (3, "12337", "it_focal_point", "Trần Văn Đức"),  # the role in words
        (10, "11977", "head", "Hoàng Văn Đúng"),
    ]
    assert found.rows[0].phone == "0900000101" and found.rows[1].phone == "0900000102"
    problems = found.problems
    assert problems[0] == "lien-he.csv:4: unit_code 99999: no such unit in the inventory"
    assert problems[1].startswith("lien-he.csv:5: role 'thủ quỹ': one of head, deputy")
    assert problems[2] == "lien-he.csv:6: name: missing"
    assert problems[3] == "lien-he.csv:7: email 'khong-phai-email': not a valid email"
    assert problems[4] == (
        "lien-he.csv:8: no address: give at least one of email, phone, telegram, zalo"
    )
    assert problems[5] == ("lien-he.csv:9: repeats line 2 (12337, head, nguyễn thị ánh tuyết)")
    assert len(problems) == 6


def test_header_problems_are_line_one() -> None:
    found = parse_contacts("ma_don_vi,role,name\n12337,head,A\n", "x.csv", UNITS)
    assert found.rows == [] and found.problems[0].startswith(
        "x.csv:1: header: unknown columns: ma_don_vi; missing columns: unit_code"
    )
    assert parse_contacts("", "x.csv").problems == [
        f"x.csv:1: the file is empty (header: {','.join(COLUMNS)})"
    ]


def test_written_with_a_bom_and_read_back_unchanged_vietnamese_names_included(
    tmp_path: Path,
) -> None:
    rows = parse_contacts(GOOD_AND_BAD, "in.csv", UNITS).rows
    path = tmp_path / "out.csv"
    path.write_text(contacts_csv(rows), encoding="utf-8", newline="")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Nguyễn Thị Ánh Tuyết".encode() in raw
    again = read_contacts(path, UNITS)
    assert again.problems == []
    assert [r.cells() for r in again.rows] == [r.cells() for r in rows]
    # also without a BOM, and in Excel's CRLF
    plain = tmp_path / "plain.csv"
    plain.write_bytes(raw[3:].replace(b"\r\n", b"\n"))
    assert [r.cells() for r in read_contacts(plain, UNITS).rows] == [r.cells() for r in rows]


def test_roles_are_the_vocabulary_roles() -> None:
    from typing import get_args

    assert set(get_args(ContactRole)) == set(ROLES)


def _example_copy(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    shutil.copy(EXAMPLE_CONTACTS, tmp_path / EXAMPLE_CONTACTS.name)
    return tmp_path / EXAMPLE.name


def test_contacts_file_rows_become_the_units_contacts(tmp_path: Path) -> None:
    inventory = _example_copy(tmp_path)
    flat = flatten(load_inventory(inventory))
    units = {u.code: u for u in flat.units}
    head = next(c for c in units["12337"].settings["contacts"] if c["role"] == "head")
    assert head["name"] == "Chủ tịch UBND xã Hoàng Hoa Thám (ĐIỀN)"
    assert head["phone"].startswith("0900000") and head["email"].endswith("@example.invalid")
    # a bad row stops the load, naming the CSV and its line
    csv_path = tmp_path / EXAMPLE_CONTACTS.name
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    lines[4] = lines[4].replace("@example.invalid", "")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_inventory(inventory)
    assert caught.value.errors == [f"{csv_path}:5: email 'cntt.11977': not a valid email"]
    out = io.StringIO()
    assert check_config(inventory, out) == 2
    assert f"{csv_path}:5: email" in out.getvalue()


def test_cli_import_keeps_good_rows_reports_bad_ones_and_export_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _example_copy(tmp_path)
    incoming = tmp_path / "moi.csv"
    incoming.write_text(
        GOOD_AND_BAD.replace("99999", "12364").replace("11977,head,Hoàng", "99999,head,Hoàng"),
        encoding="utf-8",
    )
    code = main(["contacts", "import", str(incoming), "--inventory", str(inventory)])
    captured = capsys.readouterr()
    assert code == 1  # some rows were left out
    assert f"{incoming}:10: unit_code 99999: no such unit in the inventory" in captured.err
    assert f"{incoming}:5: role 'thủ quỹ'" in captured.err
    assert "Đã ghi 3 người liên hệ" in captured.out
    written = tmp_path / "hung-yen-contacts.csv"  # the inventory's contacts_file
    assert written.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8-sig"))))
    assert rows[0] == list(COLUMNS) and [r[2] for r in rows[1:]] == [
        "Nguyễn Thị Ánh Tuyết",
        "Trần Văn Đức",
        "Lê Văn Ma",
    ]
    # the inventory now loads with exactly those contacts, and exports them back
    out_path = tmp_path / "xuat.csv"
    assert main(["contacts", "export", str(out_path), "--inventory", str(inventory)]) == 0
    exported = read_contacts(out_path)
    assert exported.problems == []
    assert [(r.unit_code, r.role, r.name, r.phone) for r in exported.rows] == [
        ("12337", "head", "Nguyễn Thị Ánh Tuyết", "0900000101"),
        ("12337", "it_focal_point", "Trần Văn Đức", "0900000102"),
        ("12364", "head", "Lê Văn Ma", "0900000103"),
    ]


def test_cli_export_of_the_example_lists_every_unit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contacts", "export", "--inventory", str(EXAMPLE)]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 + 104 * 2
    shipped = read_contacts(EXAMPLE_CONTACTS)
    assert shipped.problems == []
    assert [(r["unit_code"], r["role"], r["name"], r["email"], r["phone"]) for r in rows] == [
        (r.unit_code, r.role, r.name, r.email, r.phone) for r in shipped.rows
    ]


def test_cli_import_without_any_good_row_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_code,role,name\n12337,head,A\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["contacts", "import", str(bad), "--out", str(out)]) == 2
    assert "bad.csv:2: no address" in capsys.readouterr().err
    assert not out.exists()
