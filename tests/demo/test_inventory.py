"""The demo inventory is a valid inventory file pointing every check at the farm."""

from __future__ import annotations

from collections import Counter

import pytest
from ruamel.yaml import YAML

from app.demo.inventory import (
    KEYWORD,
    PROVINCE_CHECK_KEY,
    demo_inventory,
    demo_inventory_data,
    dump_yaml,
)
from app.inventory.loader import flatten, parse_inventory

BASE = "http://127.0.0.1:18080"


def test_yaml_round_trips_to_the_same_data() -> None:
    text = demo_inventory(BASE, 5, 20, checks_per_unit=3)
    assert YAML(typ="safe").load(text) == demo_inventory_data(BASE, 5, 20, checks_per_unit=3)


@pytest.mark.parametrize(
    "value",
    ['quote " and \\ backslash', "new\nline", "colon: hash # dash -", "Đặc khu Bạch Long Vĩ",
     "", "123", "true", "null", "  lead", 0, 1.5, True, None],
)  # fmt: skip
def test_emitter_quotes_what_yaml_would_misread(value: object) -> None:
    data = {"a": value, "b": [value, {"c": value}], "d": {}, "e": []}
    assert YAML(typ="safe").load(dump_yaml(data)) == data


def test_validates_with_the_inventory_loader() -> None:
    flat = flatten(parse_inventory(demo_inventory(BASE, 12), "demo.yaml"))
    assert flat.units_by_kind()["province"] == 1
    assert sum(flat.units_by_kind().values()) - flat.units_by_kind()["province"] >= 12
    names = {u.name for u in flat.units}
    assert "Xã Tân Hưng" in names
    assert len(flat.checks) == 13
    commune = [c for c in flat.checks if c.key != PROVINCE_CHECK_KEY]
    assert all(c.depends_on == [PROVINCE_CHECK_KEY] for c in commune)
    assert all(c.interval_s == 10 and c.timeout_s == 3.0 for c in flat.checks)
    assert all(c.failure_threshold == 2 and c.recovery_threshold == 1 for c in flat.checks)
    for check in flat.checks:
        assert check.config["url"].startswith(BASE + "/")
        assert check.config["keyword"] == KEYWORD


def test_large_inventories_use_synthetic_codes_and_several_checks_per_unit() -> None:
    flat = flatten(parse_inventory(demo_inventory(BASE, 120, 30, checks_per_unit=5)))
    codes = {u.code for u in flat.units}
    assert "900119" in codes
    per_unit = Counter(c.unit_code for c in flat.checks)
    assert per_unit["900119"] == 5
    assert len(flat.checks) == 120 * 5 + 1


def test_checks_per_unit_is_bounded() -> None:
    with pytest.raises(ValueError, match="checks_per_unit"):
        demo_inventory(BASE, 1, checks_per_unit=0)
