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


def _inventory(tmp_path: Path, *, agent: bool) -> Path:
    from app.demo.inventory import DemoExtras, demo_inventory, demo_units

    extras = DemoExtras(kiosks=2, agent=agent, agent_unit=demo_units(3)[0].code)
    path = tmp_path / "inventory.yaml"
    path.write_text(demo_inventory("http://127.0.0.1:9", 3, extras=extras), encoding="utf-8")
    return path


def test_serve_counts_agents_apart_from_device_heartbeats(tmp_path: Path) -> None:
    """Device beats are relayed through SQL (push_beat), agents' results are not: only
    the agents' liveness checks hold `serve` to one process."""
    from app.cli import _agent_checks, _push_checks
    from app.config import Settings
    from app.inventory.loader import load_parsed
    from app.monitor.workers import worker_count

    pg = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    kiosks = load_parsed(_inventory(tmp_path, agent=False)).flat
    assert (_push_checks(kiosks), _agent_checks(kiosks)) == (2, 0)
    assert worker_count(pg, 2, _push_checks(kiosks), _agent_checks(kiosks)) == 2
    with_agent = load_parsed(_inventory(tmp_path, agent=True)).flat
    assert (_push_checks(with_agent), _agent_checks(with_agent)) == (3, 1)
    assert worker_count(pg, None, _push_checks(with_agent), _agent_checks(with_agent)) == 1


def test_serve_with_agents_refuses_two_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _inventory(tmp_path, agent=True)
    db = "postgresql://postgres@127.0.0.1:5432/test"
    code = main(["serve", "--db", db, "--inventory", str(path), "--workers", "2", "--no-migrate"])
    err = capsys.readouterr().err
    assert code == 2
    assert "The inventory has 1 agent liveness checks" in err
