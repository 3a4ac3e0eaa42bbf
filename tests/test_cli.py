"""The console: a bad inventory stops `serve` with file:line:field and exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


def test_serve_refuses_a_bad_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "inventory.yaml"
    bad.write_text(
        'version: 1\nprovince:\n  code: "33"\n  name: Hưng Yên\n  bogus: 2\n', encoding="utf-8"
    )
    code = main(["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--inventory", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:5: province.bogus: unknown key" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


def test_token_revoke_of_an_unknown_name_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    assert main(["token", "revoke", "nobody", "--db", db]) == 2
    assert "nobody" in capsys.readouterr().err
