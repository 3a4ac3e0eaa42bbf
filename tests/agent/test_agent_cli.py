"""``thongsuot agent run`` as a process: a bad file is one line naming the field; the
process runs, pushes and stops on SIGTERM; it loads none of the server."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import write_config
from tests.agent.fake_central import FakeCentral
from tests.support.wait import until

ROOT = Path(__file__).resolve().parents[2]


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        'central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\nspool_max_age = "x"\n'
    )
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "agent", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert res.returncode == 2
    assert f"{cfg}: spool_max_age: expected a duration" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_token_file_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\n')
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "agent", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert res.returncode == 2
    assert res.stderr.splitlines()[0].startswith("lỗi cấu hình agent")
    assert res.stderr.splitlines()[1].startswith("token_file ")
    assert "Traceback" not in res.stderr


def test_agent_run_imports_no_server_module() -> None:
    code = (
        "import sys, probes\n"
        "from app.agent import cli, runner\n"
        "probes.get('http'); probes.get('tcp'); probes.get('dns')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'fastapi', 'starlette', 'uvicorn', 'apscheduler', 'alembic')"
        " or m.startswith(('app.monitor', 'app.models', 'app.db', 'app.api'))]\n"
        "print(bad)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert res.stdout.strip() == "[]"


async def test_runs_pushes_and_stops_on_sigterm(tmp_path: Path, central: FakeCentral) -> None:
    cfg = write_config(tmp_path, central.url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "agent",
        "run",
        "--config",
        str(cfg),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(lambda: len(central.results) >= 4, within=20)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stderr is not None
    log = (await proc.stderr.read()).decode()
    assert "stopping" in log
    assert "tsa_" not in log  # the token is never logged
    assert central.duplicates == 0


def _spooled_uids(spool: Path) -> set[str]:
    db = sqlite3.connect(spool, timeout=5)
    try:
        uids = {json.loads(body)["uid"] for (body,) in db.execute("SELECT body FROM result")}
        pending = db.execute("SELECT value FROM meta WHERE key = 'pending'").fetchone()
    finally:
        db.close()
    if pending:
        uids |= {r["uid"] for r in json.loads(pending[0])["results"]}
    return uids


async def test_kill_9_while_central_is_away_loses_nothing(
    tmp_path: Path, central: FakeCentral
) -> None:
    cfg = write_config(tmp_path, central.url)
    spool = tmp_path / "spool" / "spool.sqlite3"
    run = [sys.executable, "-m", "app.cli", "agent", "run", "--config", str(cfg)]
    proc = await asyncio.create_subprocess_exec(*run, cwd=ROOT)
    try:
        await until(lambda: len(central.results) >= 2, within=20)
        central.away = True
        await until(lambda: len(_spooled_uids(spool)) >= 6, within=20)
        proc.kill()  # SIGKILL: no shutdown, no last push
        await proc.wait()
        queued = _spooled_uids(spool)
        central.away = False
        proc = await asyncio.create_subprocess_exec(*run, cwd=ROOT)
        await until(lambda: queued <= set(central.results), within=30)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert central.duplicates == 0
    assert not _spooled_uids(spool)
