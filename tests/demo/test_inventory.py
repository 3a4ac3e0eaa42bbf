"""The demo inventory is a valid inventory file pointing every check at the farm."""

from __future__ import annotations

from collections import Counter

import pytest
from ruamel.yaml import YAML

from app.demo.inventory import (
    KEYWORD,
    NATIONAL_CODE,
    PROVINCE_CHECK_KEY,
    SYNC_CHECK_KEY,
    TLS_CHECK_KEY,
    DemoExtras,
    demo_inventory,
    demo_inventory_data,
    dump_yaml,
    heartbeat_key,
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


@pytest.mark.slow
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


EXTRAS = DemoExtras(tls_base="https://127.0.0.1:18443", ca_file="/tmp/demo-cert.pem", kiosks=2)


def test_extras_put_every_kind_of_the_demo_into_a_valid_inventory() -> None:
    flat = flatten(parse_inventory(demo_inventory(BASE, 4, extras=EXTRAS), "demo.yaml"))
    by_key = {c.key: c for c in flat.checks}
    kinds = Counter(c.kind for c in flat.checks)
    assert kinds == {"http": 4 + 1 + 2 + 1, "tls": 1, "freshness": 1, "heartbeat": 2}
    national = {c.key for c in flat.checks if c.unit_code == NATIONAL_CODE}
    assert national == {"VN.national_portal.home", "VN.national_sso.login"}
    assert by_key["VN.national_portal.home"].config["url"].startswith("https://127.0.0.1:18443/")
    tls = by_key[TLS_CHECK_KEY].config
    assert (tls["host"], tls["port"], tls["ca_file"]) == ("127.0.0.1", 18443, "/tmp/demo-cert.pem")
    assert (tls["warn_days"], tls["critical_days"]) == (14.0, 3.0)
    sync = by_key[SYNC_CHECK_KEY]
    assert sync.config["url"] == f"{BASE}/province/sync/status"
    assert sync.interval_s == 5
    codes = [u.code for u in flat.units if u.kind != "province" and u.code != NATIONAL_CODE]
    assert {heartbeat_key(c) for c in codes[:2]} <= set(by_key)
    assert heartbeat_key(codes[2]) not in by_key
    assert by_key[heartbeat_key(codes[0])].config["period_s"] == 5.0


def test_without_a_tls_listener_the_https_and_tls_checks_are_left_out() -> None:
    flat = flatten(parse_inventory(demo_inventory(BASE, 2, extras=DemoExtras())))
    assert not [c for c in flat.checks if c.kind == "tls"]
    assert not [c for c in flat.checks if c.config.get("url", "").startswith("https://")]
    assert {c.kind for c in flat.checks} == {"http", "freshness", "heartbeat"}


def test_no_extras_by_default_so_the_benches_count_stays_exact() -> None:
    flat = flatten(parse_inventory(demo_inventory(BASE, 3, checks_per_unit=2)))
    assert len(flat.checks) == 3 * 2 + 1
    assert {c.kind for c in flat.checks} == {"http"}
