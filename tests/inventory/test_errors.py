"""Every kind of inventory error names the file, the line and the field; exit code 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.inventory.check_config import EXIT_INVALID, check_config
from app.inventory.loader import load_inventory
from tests.inventory.helpers import BASE, line_of, write

CHECK = "units[0].services[0].checks[0]"


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return info.value.errors


def _assert_reported(path: Path, line: int, field: str, fragment: str) -> None:
    prefix = f"{path}:{line}: {field}: "
    errors = _errors(path)
    matching = [e for e in errors if e.startswith(prefix)]
    assert matching, f"no error starting {prefix!r} in {errors}"
    assert any(fragment in e for e in matching), (fragment, matching)
    out = io.StringIO()
    assert check_config(path, out) == EXIT_INVALID
    assert any(line.startswith(prefix) for line in out.getvalue().splitlines())


# (name, yaml text, line needle, field path, message fragment)
CASES = [
    (
        "interval_out_of_range",
        BASE.replace(
            'options: {url: "http://127.0.0.1:9/"}',
            'interval: 0\n            options: {url: "http://127.0.0.1:9/"}',
        ),
        "interval: 0",
        f"{CHECK}.interval",
        "must be between 1 and 86400 (got 0)",
    ),
    (
        "interval_too_long",
        BASE.replace("interval: 30", "interval: 86401"),
        "interval: 86401",
        "province.defaults.interval",
        "must be between 1 and 86400 (got 86401)",
    ),
    (
        "unknown_key",
        BASE.replace("kind: http", "kind: http\n            intervall: 5"),
        "intervall: 5",
        f"{CHECK}.intervall",
        "unknown key",
    ),
    (
        "unknown_probe_kind",
        BASE.replace("kind: http", "kind: htttp"),
        "kind: htttp",
        f"{CHECK}.kind",
        "unknown probe kind 'htttp'",
    ),
    (
        "bad_url",
        BASE.replace("http://127.0.0.1:9/", "ftp://127.0.0.1/x"),
        "ftp://",
        f"{CHECK}.options.url",
        "http",
    ),
    (
        "missing_url",
        BASE.replace('options: {url: "http://127.0.0.1:9/"}', "options: {}"),
        "options: {}",
        f"{CHECK}.options.url",
        "required field is missing",
    ),
    (
        "timeout_not_below_interval",
        BASE.replace("kind: http", "kind: http\n            interval: 5\n            timeout: 5"),
        "timeout: 5",
        f"{CHECK}.timeout",
        "must be shorter than the interval of 5 s (got 5.0)",
    ),
    (
        "unknown_depends_on",
        BASE.replace("kind: http", "kind: http\n            depends_on: [nope]"),
        "depends_on",
        f"{CHECK}.depends_on[0]",
        "unknown check key '12337.commune_centre.nope'",
    ),
    (
        "bad_service_kind",
        BASE.replace("kind: commune_centre", "kind: commune_center"),
        "commune_center",
        "units[0].services[0].kind",
        "commune_centre",
    ),
    (
        "unquoted_code",
        BASE.replace('code: "12337"', "code: 12337"),
        "code: 12337",
        "units[0].code",
        "string",
    ),
]


@pytest.mark.parametrize(
    ("text", "needle", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_names_file_line_and_field(
    tmp_path: Path, text: str, needle: str, field: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    _assert_reported(path, line_of(text, needle), field, fragment)


def test_yaml_syntax_error_has_the_parser_line(tmp_path: Path) -> None:
    text = BASE.replace("name: Hoàng Hoa Thám", "name: [Hoàng Hoa Thám")
    path = write(tmp_path, text)
    errors = _errors(path)
    assert len(errors) == 1
    # the parser notices the unclosed flow sequence at the next line's ':'
    assert errors[0].startswith(f"{path}:{line_of(text, 'kind: commune')}: YAML syntax error")
    assert check_config(path, io.StringIO()) == EXIT_INVALID


def test_duplicate_yaml_key_is_a_syntax_error(tmp_path: Path) -> None:
    text = BASE.replace("kind: commune\n", "kind: commune\n    kind: ward\n")
    path = write(tmp_path, text)
    errors = _errors(path)
    assert errors[0].startswith(f"{path}:{line_of(text, 'kind: ward')}: YAML syntax error")
    assert 'duplicate key "kind"' in errors[0]


def test_duplicate_unit_code(tmp_path: Path) -> None:
    text = BASE + '  - {code: "12337", name: Tiên Lữ, kind: commune}\n'
    path = write(tmp_path, text)
    first = line_of(text, 'code: "12337"')
    second = line_of(text, 'code: "12337"', nth=2)
    _assert_reported(path, second, "units[1].code", "duplicate unit code '12337'")
    assert f"(first defined at line {first})" in _errors(path)[0]


def test_duplicate_check_key(tmp_path: Path) -> None:
    text = BASE + '          - {name: web, kind: http, options: {url: "http://127.0.0.1:8/"}}\n'
    path = write(tmp_path, text)
    _assert_reported(
        path,
        line_of(text, "{name: web"),
        "units[0].services[0].checks[1].name",
        "duplicate check key '12337.commune_centre.web'",
    )


def test_duplicate_service_key(tmp_path: Path) -> None:
    text = BASE + "      - {kind: commune_centre, name: again}\n"
    path = write(tmp_path, text)
    _assert_reported(
        path,
        line_of(text, "name: again"),
        "units[0].services[1].kind",
        "duplicate service key 'commune_centre' in unit 12337",
    )


def test_unknown_parent(tmp_path: Path) -> None:
    text = BASE.replace("kind: commune\n", "kind: commune\n    parent: '99'\n")
    path = write(tmp_path, text)
    _assert_reported(path, line_of(text, "parent:"), "units[0].parent", "unknown parent")


def test_inherited_option_error_points_at_the_defaults(tmp_path: Path) -> None:
    text = BASE.replace(
        "interval: 30", "interval: 30\n    options:\n      http: {max_redirects: 99}"
    )
    path = write(tmp_path, text)
    _assert_reported(
        path,
        line_of(text, "max_redirects"),
        "province.defaults.options.http.max_redirects",
        "99",
    )


def test_inherited_timeout_names_where_it_was_set(tmp_path: Path) -> None:
    text = BASE.replace("interval: 30", "interval: 30\n    timeout: 20").replace(
        "kind: http", "kind: http\n            interval: 10"
    )
    path = write(tmp_path, text)
    _assert_reported(
        path, line_of(text, "- name: web"), f"{CHECK}.timeout", "set at province.defaults.timeout"
    )


def test_dependency_cycle(tmp_path: Path) -> None:
    text = BASE.replace("kind: http", "kind: http\n            depends_on: [other]") + (
        "          - {name: other, kind: http, depends_on: [web],"
        ' options: {url: "http://127.0.0.1:8/"}}\n'
    )
    path = write(tmp_path, text)
    errors = _errors(path)
    assert any("dependency cycle" in e and f"{path}:" in e for e in errors), errors


def test_all_errors_are_collected(tmp_path: Path) -> None:
    text = (
        BASE.replace("kind: http", "kind: http\n            interval: 0")
        .replace("http://127.0.0.1:9/", "not a url")
        .replace("kind: commune_centre", "kind: nonsense")
    )
    path = write(tmp_path, text)
    errors = _errors(path)
    fields = {e.split(": ")[1] for e in errors}
    assert {f"{CHECK}.interval", "units[0].services[0].kind"} <= fields, errors
    out = io.StringIO()
    assert check_config(path, out) == EXIT_INVALID
    assert len(out.getvalue().splitlines()) == len(errors) + 1  # a heading, then one a line


def test_template_error_is_reported_once_for_all_units(tmp_path: Path) -> None:
    text = BASE + (
        '  - {code: "12364", name: Tiên Lữ, kind: commune}\n'
        "commune_template:\n"
        "  services:\n"
        "    - key: centre\n"
        "      kind: commune_centre\n"
        "      name: TT {name}\n"
        "      checks:\n"
        '        - {name: gw, kind: http, options: {url: "gopher://{code}"}}\n'
    )
    path = write(tmp_path, text)
    errors = _errors(path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(
        f"{path}:{line_of(text, 'gopher')}: commune_template.services[0].checks[0].options.url: "
    )
    assert "[2 units, e.g. 12337]" in errors[0]


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = write(tmp_path, "")
    assert _errors(empty) == [f"{empty}:1: (top level): the file is empty"]
    missing = tmp_path / "nope.yaml"
    assert str(missing) in _errors(missing)[0]
    assert check_config(missing, io.StringIO()) == EXIT_INVALID


def test_missing_province(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nunits: []\n")
    _assert_reported(path, 1, "province", "required field is missing")


def test_names_longer_than_the_columns_are_refused(tmp_path: Path) -> None:
    long_name = "x" * 201
    text = BASE.replace("name: TTPVHCC Hoàng Hoa Thám", f"name: {long_name}")
    path = write(tmp_path, text)
    _assert_reported(path, line_of(text, long_name), "units[0].services[0].name", "200")
