"""The real central (``thongsuot serve`` on a SQLite file, an inventory declaring one
agent) and the real agent process (``thongsuot agent run``), for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
AGENT = "hy-12337-lan"


def inventory(target_url: str, *, checks: int, interval_s: int, offline_after: str = "90s") -> str:
    lines = [
        "version: 1",
        "province:",
        '  code: "33"',
        "  name: Hưng Yên",
        "agents:",
        f"  - name: {AGENT}",
        '    units: ["12337"]',
        f"    offline_after: {offline_after}",
        "units:",
        '  - code: "12337"',
        "    name: Hoàng Hoa Thám",
        "    kind: commune",
        f"    defaults: {{location: {AGENT}, interval: {interval_s}, timeout: 1}}",
        "    services:",
        "      - kind: commune_centre",
        "        name: TTPVHCC Hoàng Hoa Thám",
        "        checks:",
    ]
    lines += [
        f'          - {{name: lan{i}, kind: http, options: {{url: "{target_url}?c={i}"}}}}'
        for i in range(checks)
    ]
    return "\n".join(lines) + "\n"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def enrol(db_url: str, inv: Path) -> str:
    res = cli("agent", "create", AGENT, "--db", db_url, "--inventory", str(inv))
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


class Serve:
    """``thongsuot serve`` in a child process."""

    def __init__(
        self,
        db_url: str,
        inv: Path,
        data_dir: Path,
        host: str,
        port: int,
        env: dict[str, str] | None = None,
    ) -> None:
        self.base = f"http://{host}:{port}"
        self.log_path = data_dir / "serve.log"
        data_dir.mkdir(exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--db", db_url, "--inventory",
                 str(inv), "--host", host, "--port", str(port)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "THONGSUOT_DATA_DIR": str(data_dir),
                     "THONGSUOT_NOTIFY_ENABLED": "false", "THONGSUOT_FLUSH_INTERVAL_S": "0.5",
                     **(env or {})},
            )  # fmt: skip

    async def up(self, within: float = 90.0) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for _ in range(int(within * 10)):
                assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
                try:
                    if (await client.get(f"{self.base}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("thongsuot serve did not come up")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def agent_config(tmp: Path, central_url: str, token: str) -> Path:
    (tmp / "token").write_text(token + "\n")
    (tmp / "token").chmod(0o600)
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f'central_url = "{central_url}"\ntoken_file = "token"\nspool_dir = "spool"\n'
        f'name = "{AGENT}"\nrequest_timeout = "3s"\n'
    )
    return cfg


async def start_agent(
    cfg: Path, log: Path, prefix: Sequence[str] = ()
) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "app.cli",
            "agent",
            "run",
            "--config",
            str(cfg),
            cwd=ROOT,
            stderr=out,
        )


async def stop_agent(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, as systemd or docker would stop it."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise


def counts(log: Path) -> tuple[int, int, int]:
    """The agent's own count at stop: results made, pushed, left queued."""
    m = re.search(r"stopped: (\d+) results made, (\d+) pushed, (\d+) queued", log.read_text())
    assert m, log.read_text()[-3000:]
    made, pushed, queued = map(int, m.groups())
    return made, pushed, queued


def rows(db_file: Path, vantage: str = AGENT) -> list[tuple[int, int | None, str, float]]:
    """(check_id, slot, uid, at as UNIX time) of the agent's results in probe_result.

    The agent fills a slot with every result (it runs no retries); rows of its vantage
    without a slot are central's own markers (the agent went silent: unknown)."""
    db = sqlite3.connect(db_file, timeout=10)
    try:
        found = db.execute(
            "SELECT check_id, slot, uid, at FROM probe_result"
            " WHERE vantage = ? AND slot IS NOT NULL ORDER BY at",
            (vantage,),
        ).fetchall()
    finally:
        db.close()
    return [(c, s, u, _unix(at)) for c, s, u, at in found]


def _unix(value: str) -> float:
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
