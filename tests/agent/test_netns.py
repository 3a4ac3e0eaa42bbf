"""The line to the province is cut (issue 14): the agent runs in its own network
namespace and reaches central over a veth pair; the test takes the link down for
``THONGSUOT_NETNS_CUT_S`` seconds (20 s in the suite; the issue's scenario is 120 s,
``THONGSUOT_NETNS_CUT_S=120`` runs it), the agent keeps probing into its spool, the link
comes back, and every result the agent made arrives exactly once.

Central here is the loopback stand-in keeping the wire format (tests/agent/fake_central.py),
bound to this namespace's end of the veth; the checks probe an HTTP server inside the
agent's namespace (the commune's LAN).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.agent.conftest import TOKEN, write_config
from tests.agent.fake_central import FakeCentral, assignment
from tests.support.netns import veth_namespace
from tests.support.wait import until

ROOT = Path(__file__).resolve().parents[2]
CUT_S = float(os.environ.get("THONGSUOT_NETNS_CUT_S", "20"))
INTERVAL_S = 2.0
CHECKS = 3
LAN_PORT = 18080  # inside the agent's namespace: its own loopback


def _depth(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM result").fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.timeout(300 + 2 * CUT_S)
async def test_cut_line_spools_then_every_result_arrives_once(tmp_path: Path) -> None:
    with veth_namespace() as ns:
        lan = await asyncio.create_subprocess_exec(
            *ns.run_args(sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(LAN_PORT)),
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        plan = assignment(
            f"http://127.0.0.1:{LAN_PORT}/",
            checks=CHECKS,
            interval_s=INTERVAL_S,
            push_interval_s=1,
            pull_interval_s=10,
        )
        central = await FakeCentral({TOKEN}, plan).start(host=ns.host_ip)
        cfg = write_config(tmp_path, central.url, request_timeout="3s")
        spool = tmp_path / "spool" / "spool.sqlite3"
        log_path = tmp_path / "agent.log"
        with log_path.open("wb") as log_file:
            agent = await asyncio.create_subprocess_exec(
                *ns.run_args(sys.executable, "-m", "app.cli", "agent", "run", "--config", str(cfg)),
                cwd=ROOT,
                stderr=log_file,
            )
        try:
            await until(
                lambda: sum(r["status"] == "up" for r in central.results.values()) >= 2 * CHECKS,
                within=40,
            )
            ns.cut()
            cut_at = time.time()
            await asyncio.sleep(CUT_S)
            # nothing crossed the cut line, and the agent kept probing into its spool
            assert not [r for r in central.results.values() if r["at"] > cut_at + 1.0]
            expected = CHECKS * (CUT_S - 1.0) / INTERVAL_S
            assert _depth(spool) >= 0.8 * expected
            ns.restore()
            restored_at = time.time()
            # replayed: the results made during the cut are at central
            await until(
                lambda: (
                    sum(cut_at + 1 < r["at"] < restored_at for r in central.results.values())
                    >= 0.8 * expected
                ),
                within=90,
            )
            agent.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(agent.wait(), 30) == 0
        finally:
            for proc in (agent, lan):
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await central.close()
    log = log_path.read_text()
    m = re.search(r"stopped: (\d+) results made, (\d+) pushed, (\d+) queued", log)
    assert m, log
    made, pushed, queued = map(int, m.groups())
    print(
        f"cut {CUT_S:g} s: {made} results made, {pushed} pushed, {queued} left; "
        f"central stored {len(central.results)}, duplicates {central.duplicates}"
    )
    assert queued == 0
    assert made == pushed == len(central.results)  # every result arrived exactly once
    assert central.duplicates == 0
    slots: dict[int, list[int]] = {}
    for r in sorted(central.results.values(), key=lambda r: r["at"]):
        slots.setdefault(r["check_id"], []).append(r["slot"])
    for got in slots.values():  # no slot lost in the cut, none twice
        assert got == list(range(got[0], got[0] + len(got)))
    assert "push failed" in log  # the cut was seen by the agent
    assert TOKEN not in log
