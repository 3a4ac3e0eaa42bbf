"""Credentials written into a check's URL (``https://user:pass@host/``) are refused by
check-config, naming file:line:field and pointing to ``auth:`` (issue 10.8); a target
stored before this rule is shown without them (tests/api/test_targets.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.inventory.check_config import EXIT_INVALID, check_config
from app.inventory.loader import load_inventory, load_resolved
from tests.inventory.helpers import BASE, line_of, write

CHECK = "units[0].services[0].checks[0]"


@pytest.mark.parametrize(
    ("options", "needle", "field"),
    [
        ('{url: "https://canbo:mat-khau@dvc.hungyen.gov.vn/"}', "canbo:mat-khau", "url"),
        ('{url: "http://token@127.0.0.1:9/"}', "token@", "url"),
    ],
)
def test_check_config_refuses_credentials_in_a_url(
    tmp_path: Path, options: str, needle: str, field: str
) -> None:
    text = BASE.replace('options: {url: "http://127.0.0.1:9/"}', f"options: {options}")
    path = write(tmp_path, text)
    prefix = f"{path}:{line_of(text, needle)}: {CHECK}.options.{field}: "
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    [error] = [e for e in info.value.errors if e.startswith(prefix)]
    assert "auth:" in error and "secret" in error
    assert "mat-khau" not in error
    out = io.StringIO()
    assert check_config(path, out) == EXIT_INVALID
    assert prefix in out.getvalue() and "mat-khau" not in out.getvalue()


def test_credentials_in_inherited_options_name_where_they_are_set(tmp_path: Path) -> None:
    text = BASE.replace(
        "    interval: 30\n",
        '    interval: 30\n    options:\n      http: {url: "https://u:p@x.gov.vn/"}\n',
    ).replace('options: {url: "http://127.0.0.1:9/"}', "options: {}")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    line = line_of(text, "u:p@")
    assert any(
        e.startswith(f"{path}:{line}: province.defaults.options.http.url: ")
        for e in info.value.errors
    ), info.value.errors


def test_auth_with_a_secret_name_is_accepted(tmp_path: Path) -> None:
    text = BASE.replace(
        'options: {url: "http://127.0.0.1:9/"}',
        'options: {url: "https://dvc.hungyen.gov.vn/", '
        "auth: {type: basic, username: canbo, secret: DVC_PASSWORD}}",
    )
    _, flat = load_resolved(write(tmp_path, text))
    [check] = flat.checks
    assert check.target == "https://dvc.hungyen.gov.vn/"
