"""examples/hung-yen.yaml: the 104 real units of Hưng Yên, loaded only, never probed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from app.inventory.check_config import EXIT_OK, check_config
from app.inventory.flat import FlatInventory
from app.inventory.loader import flatten, load_inventory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hung-yen.yaml"
CSV = Path(__file__).with_name("data") / "hung-yen-communes-2025.csv"
KINDS = {"xã": "commune", "phường": "ward", "đặc khu": "special_zone"}


@pytest.fixture(scope="module")
def flat() -> FlatInventory:
    return flatten(load_inventory(EXAMPLE))


def _csv_units() -> list[tuple[str, str, str]]:
    with CSV.open(encoding="utf-8", newline="") as fh:
        return [(r["code_qd19_2025"], r["name"], KINDS[r["type"]]) for r in csv.DictReader(fh)]


def test_the_104_units_match_the_official_list(flat: FlatInventory) -> None:
    expected = _csv_units()
    assert len(expected) == 104
    communes = [(u.code, u.name, u.kind) for u in flat.units if u.parent_code == "33"]
    assert communes == expected


def test_layers_and_template(flat: FlatInventory) -> None:
    units = {u.code: u for u in flat.units}
    assert (units["33"].name, units["33"].kind) == ("Hưng Yên", "province")
    assert units["VN"].kind == "national"
    national = {s.kind for s in flat.services if s.unit_code == "VN"}
    assert national == {"national_portal", "national_sso", "vneid", "paygov", "data_sharing", "emc"}
    assert {"provincial_system", "provincial_portal", "lgsp"} <= {
        s.kind for s in flat.services if s.unit_code == "33"
    }
    for code, *_ in _csv_units():
        checks = [c for c in flat.checks if c.unit_code == code]
        assert 3 <= len(checks) <= 8, code
        assert all(c.service_key == f"{code}.centre" for c in checks)
        assert sum(f"/{code}/" in c.target for c in checks) >= 2, code
        web = [c for c in checks if c.kind in ("http", "freshness")]
        assert web and all(c.target.startswith("https://") for c in web), code
        kiosk = next(c for c in checks if c.kind == "heartbeat")
        assert kiosk.config["token_secret"] == f"KIOSK_TOKEN_{code}"  # one token per device


@pytest.mark.slow
def test_check_config_summarises_the_example() -> None:
    out = io.StringIO()
    assert check_config(EXAMPLE, out) == EXIT_OK
    text = out.getvalue()
    assert "hợp lệ" in text
    # unit kinds in the words of app.vocab.words.UNIT_KINDS, communes first
    assert "Đơn vị: 106 (xã 93, phường 11, tỉnh 1, quốc gia 1)" in text
    english = io.StringIO()
    assert check_config(EXAMPLE, english, lang="en") == EXIT_OK
    assert "Units: 106 (commune 93, ward 11, province 1, national 1)" in english.getvalue()


def test_the_example_is_what_the_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_hung_yen", ROOT / "scripts/gen_hung_yen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = tmp_path / "hung-yen.yaml"
    assert gen.main(["gen", str(CSV), str(out)]) == 0
    assert out.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
