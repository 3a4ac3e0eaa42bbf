"""Hostile inventories: an alias bomb, deep nesting and a huge file are refused at once
with an error naming the line (check-config and reload share this loader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.inventory import loader
from app.inventory.loader import load_inventory, parse_inventory

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_inventory(text, "hostile.yaml")
    return caught.value.errors


def test_an_alias_bomb_is_refused_with_its_line() -> None:
    """534 bytes that expand to 9^9 values took 94 s and 2.4 GB before the bound."""
    assert len(BOMB) < 600
    (error,) = _errors(BOMB)
    assert error.startswith("hostile.yaml:")
    assert "alias" in error and f"{loader.MAX_NODES:,}" in error
    line = int(error.split(":")[1])
    assert 1 < line <= 9


def test_aliases_that_expand_modestly_are_still_welcome() -> None:
    text = "defaults: &d {interval: 60}\nprovince: {code: '33', name: Hưng Yên, defaults: *d}\n"
    errors = _errors(text + "units: 3\n")  # invalid for other reasons, not for its alias
    assert not any("alias" in e for e in errors)


def test_a_recursive_alias_reads_as_null_and_does_not_hang() -> None:
    errors = _errors("province: &p {code: '33', name: X, parent: *p}\n")
    assert errors and not any("alias" in e for e in errors)


def test_nesting_is_bounded() -> None:
    deep = "a: " + "[" * (loader.MAX_DEPTH + 5) + "]" * (loader.MAX_DEPTH + 5) + "\n"
    (error,) = _errors(deep)
    assert f"nested more than {loader.MAX_DEPTH} levels deep" in error


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "MAX_BYTES", 1024)
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert caught.value.errors == [f"{path}:1: the file is 2,003 bytes; at most 1,024"]
