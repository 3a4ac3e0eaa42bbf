"""Inheritance of defaults, templates, keys and the flat specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.inventory.flat import CheckSpec, FlatInventory
from app.inventory.loader import flatten, load_inventory, parse_inventory
from app.inventory.resolve import config_hash, qualify, slugify
from probes import registry
from tests.inventory.helpers import BASE, write

LAYERED = """\
version: 1
national:
  services:
    - kind: national_portal
      name: Cổng DVC quốc gia
      checks:
        - {name: home, kind: http, options: {url: "http://127.0.0.1:7/"}}
province:
  code: "33"
  name: Hưng Yên
  calendar: {saturday: ["07:30-11:30"]}
  defaults:
    interval: 30
    timeout: 5
    failure_threshold: 3
    options:
      http:
        headers: {A: province, B: province}
        max_redirects: 2
  services:
    - kind: provincial_system
      name: HTTT giải quyết TTHC tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:8/"}}
units:
  - code: "12337"
    name: Hoàng Hoa Thám
    kind: commune
    defaults:
      recovery_threshold: 2
      options:
        http:
          headers: {B: unit, C: unit}
    contacts:
      - {name: Nguyễn Văn A, role: head, phone: "0900000000", zalo: "nva"}
    services:
      - key: extra
        kind: commune_centre
        name: Máy chủ riêng
        defaults: {interval: 20, critical: false}
        checks:
          - name: own
            title: Máy chủ riêng của xã
            kind: http
            timeout: 2
            options: {url: "http://127.0.0.1:9/", headers: {C: check}}
            depends_on: [centre.backoffice, 33.provincial_system.backoffice]
  - {code: "12364", name: Tiên Lữ, kind: commune, defaults: {enabled: false}}
  - {code: "11953", name: Phố Hiến, kind: ward, template: false, parent: "12364"}
commune_template:
  services:
    - key: centre
      kind: commune_centre
      name: TTPVHCC {name}
      contacts: [{name: "Tổ CNTT {name}", email: "cntt-{code}@example.invalid"}]
      checks:
        - name: backoffice
          kind: http
          options: {url: "http://127.0.0.1:9/xa/{code}/{slug}"}
          depends_on: [33.provincial_system.backoffice]
        - {name: public, kind: http, interval: 2, timeout: 1, options: {url: "http://127.0.0.1:9/"}}
"""


@pytest.fixture
def flat(tmp_path: Path) -> FlatInventory:
    return flatten(load_inventory(write(tmp_path, LAYERED)))


def _check(flat: FlatInventory, key: str) -> CheckSpec:
    return next(c for c in flat.checks if c.key == key)


def test_keys_follow_the_scheme(flat: FlatInventory) -> None:
    assert [c.key for c in flat.checks] == [
        "VN.national_portal.home",
        "33.provincial_system.backoffice",
        "12337.extra.own",
        "12337.centre.backoffice",
        "12337.centre.public",
        "12364.centre.backoffice",
        "12364.centre.public",
    ]
    assert [s.key for s in flat.services][:3] == [
        "VN.national_portal",
        "33.provincial_system",
        "12337.extra",
    ]
    assert {c.service_key for c in flat.checks} <= {s.key for s in flat.services}


def test_defaults_are_inherited_province_unit_service_check(flat: FlatInventory) -> None:
    own = _check(flat, "12337.extra.own")
    assert (own.interval_s, own.timeout_s) == (20, 2.0)  # service, check
    assert (own.failure_threshold, own.recovery_threshold) == (3, 2)  # province, unit
    assert own.critical is False and own.enabled is True
    assert own.config["headers"] == {"A": "province", "B": "unit", "C": "check"}
    assert own.config["max_redirects"] == 2
    assert own.name == "Máy chủ riêng của xã"
    assert own.target == "http://127.0.0.1:9/"


def test_the_national_layer_inherits_province_defaults(flat: FlatInventory) -> None:
    home = _check(flat, "VN.national_portal.home")
    assert (home.interval_s, home.timeout_s, home.failure_threshold) == (30, 5.0, 3)
    assert home.config["headers"] == {"A": "province", "B": "province"}


def test_unit_defaults_reach_template_checks(flat: FlatInventory) -> None:
    assert _check(flat, "12364.centre.backoffice").enabled is False
    assert _check(flat, "12337.centre.backoffice").enabled is True
    assert _check(flat, "12337.centre.backoffice").recovery_threshold == 2
    public = _check(flat, "12364.centre.public")
    assert (public.interval_s, public.timeout_s) == (2, 1.0)


def test_template_placeholders_are_filled(flat: FlatInventory) -> None:
    target = _check(flat, "12337.centre.backoffice").target
    assert target == "http://127.0.0.1:9/xa/12337/hoang-hoa-tham"
    centre = next(s for s in flat.services if s.key == "12364.centre")
    assert centre.name == "TTPVHCC Tiên Lữ"
    assert centre.contacts == [
        {"name": "Tổ CNTT Tiên Lữ", "email": "cntt-12364@example.invalid", "role": "it_focal_point"}
    ]


def test_template_can_be_switched_off_per_unit(flat: FlatInventory) -> None:
    assert not [c for c in flat.checks if c.unit_code == "11953"]
    assert "11953" in {u.code for u in flat.units}


def test_units_carry_parent_calendar_and_contacts(flat: FlatInventory) -> None:
    units = {u.code: u for u in flat.units}
    assert units["VN"].kind == "national" and units["VN"].parent_code is None
    assert units["33"].kind == "province" and units["33"].parent_code is None
    assert units["33"].settings == {"calendar": {"saturday": ["07:30-11:30"]}}
    assert units["12337"].parent_code == "33"
    assert units["11953"].parent_code == "12364" and units["11953"].kind == "ward"
    assert units["12337"].settings["contacts"][0]["zalo"] == "nva"


def test_depends_on_is_qualified(flat: FlatInventory) -> None:
    assert _check(flat, "12337.extra.own").depends_on == [
        "12337.centre.backoffice",
        "33.provincial_system.backoffice",
    ]
    assert qualify("web", "12337.centre.x") == "12337.centre.web"
    assert qualify("lgsp.gw", "12337.centre.x") == "12337.lgsp.gw"
    assert qualify("33.lgsp.gw", "12337.centre.x") == "33.lgsp.gw"


def test_default_timeout_fits_a_short_interval(tmp_path: Path) -> None:
    text = BASE.replace("interval: 30", "interval: 1")
    check = flatten(load_inventory(write(tmp_path, text))).checks[0]
    assert (check.interval_s, check.timeout_s) == (1, 0.8)
    assert check.failure_threshold == 2 and check.recovery_threshold == 1
    assert check.critical is True and check.enabled is True


def test_config_is_the_full_validated_probe_config(flat: FlatInventory) -> None:
    check = _check(flat, "33.provincial_system.backoffice")
    model = registry.get("http").config_model
    assert model.model_validate(check.config).model_dump(mode="json") == check.config
    assert set(check.config) == set(model.model_fields)


def test_config_hash_covers_what_probing_depends_on(flat: FlatInventory) -> None:
    check = _check(flat, "12337.extra.own")
    assert check.config_hash == config_hash("http", check.config, 20, 2.0)
    assert config_hash("http", check.config, 21, 2.0) != check.config_hash
    changed = {**check.config, "url": "http://127.0.0.1:10/"}
    assert config_hash("http", changed, 20, 2.0) != check.config_hash
    again = flatten(parse_inventory(textwrap.dedent(LAYERED)))
    assert _check(again, "12337.extra.own").config_hash == check.config_hash


def test_slugify() -> None:
    assert slugify("Hoàng Hoa Thám") == "hoang-hoa-tham"
    assert slugify("Đường Hào") == "duong-hao"
    assert slugify("A Sào") == "a-sao"


def test_flatten_rejects_an_inconsistent_model(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, BASE))
    broken = inv.model_copy(update={"units": [*inv.units, inv.units[0]]})
    with pytest.raises(ConfigError) as info:
        flatten(broken)
    assert "units[1].code: duplicate unit code '12337'" in info.value.errors[0]


def test_schema_and_whole_file_errors_are_reported_together(tmp_path: Path) -> None:
    text = BASE.replace("http://127.0.0.1:9/", "nope") + (
        '  - {code: "12364", name: Tiên Lữ, kind: commune, colour: red}\n'
    )
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, text))
    fields = [e.split(": ")[1] for e in info.value.errors]
    assert fields == ["units[0].services[0].checks[0].options.url", "units[1].colour"]
