"""``kill -9`` loses no accepted result: the real ``thongsuot serve`` probes a
loopback target, is killed mid-run, is started again, and every result it had
accepted (``thongsuot_results_accepted_total`` just before the kill) and every
outcome in its journal files is in the database afterwards.

Without the journal (``THONGSUOT_JOURNAL_SYNC=false``) the outcomes buffered
since the last batch write die with the process and this test fails."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ProbeResult as ResultRow
from app.monitor import spool
from tests import factories
from tests.support.http import Reply, ScriptedHTTP

CHECKS = 40


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP(routes={"/ok": Reply(200, "Dịch vụ công")}).start()
    yield server
    await server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``thongsuot serve`` in a child process, with its own data directory."""

    def __init__(self, db_url: str, data_dir: Path, log: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
             "serve", "--db", db_url, "--port", str(self.port), "--no-migrate"],
            env={
                **os.environ,
                "THONGSUOT_DATA_DIR": str(data_dir),
                "THONGSUOT_FLUSH_INTERVAL_S": "2",  # two seconds of results in memory
                "THONGSUOT_NOTIFY_ENABLED": "false",
                "THONGSUOT_SPREAD_FIRST_RUNS": "false",
                **env,
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def up(self, within: float = 60.0) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for _ in range(int(within * 10)):
                assert self.proc.poll() is None, "thongsuot serve exited"
                try:
                    if (await client.get(f"{self.base}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("thongsuot serve did not come up")

    async def accepted(self) -> float:
        async with httpx.AsyncClient(timeout=5.0) as client:
            text = (await client.get(f"{self.base}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "thongsuot_results_accepted_total":
                    return sample.value
        raise AssertionError("no thongsuot_results_accepted_total in /metrics")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def _uids(sm: async_sessionmaker[AsyncSession], until: datetime) -> set[str]:
    async with sm() as s:
        rows = await s.execute(select(ResultRow.uid).where(ResultRow.at <= until))
        return {r[0] for r in rows}


async def _count(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(ResultRow))).scalar_one())


def _journaled(journal: Path) -> set[str]:
    files = [journal / spool.FILE, *sorted(journal.glob("journal-*.jsonl"))]
    return {o.result_row["uid"] for f in files if f.exists() for o in spool.read(f).outcomes}


@pytest.mark.slow
async def test_kill_9_loses_no_accepted_result(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: ScriptedHTTP,
    tmp_path: Path,
) -> None:
    async with sessionmaker() as s, s.begin():
        for i in range(CHECKS):
            await factories.http_check(
                s, web.url("/ok"), key=f"{10000 + i}.centre.web", unit_code=str(10000 + i),
                interval_s=1, timeout_s=1.0,
            )  # fmt: skip
    data = tmp_path / "data"
    first = Serve(db_url, data, tmp_path / "serve.log")
    try:
        await first.up()
        for _ in range(300):  # a few rounds, and some batches written
            if await first.accepted() >= 3 * CHECKS:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.7)  # mid-way between two batch writes
        accepted = await first.accepted()
        first.kill()
    finally:
        first.stop()
    killed_at = datetime.now(UTC)
    on_disk = _journaled(data / "journal")
    written_before = await _count(sessionmaker)

    second = Serve(db_url, data, tmp_path / "serve.log")
    try:
        await second.up()  # start-up writes the journal before it serves
    finally:
        second.stop()
    stored = await _uids(sessionmaker, killed_at)
    log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert "(event loop: uvloop.Loop)" in log, log[-3000:]  # serve's default (Settings)
    assert on_disk - stored == set(), log[-3000:]  # every journaled outcome is in SQL
    lost = accepted - len(stored)
    assert lost <= 0, (accepted, written_before, len(stored), log[-3000:])
