"""The line to the province is cut (issue 14): the real agent runs in its own network
namespace and reaches the real central (``thongsuot serve`` on SQLite) over a veth pair;
the test takes the link down for ``THONGSUOT_NETNS_CUT_S`` seconds (20 s in the suite;
the issue's scenario is 2 minutes: ``THONGSUOT_NETNS_CUT_S=120``), the agent keeps probing
into its spool, the link comes back, and every result the agent made is one row of
``probe_result`` for its vantage: none lost, none twice by (check, vantage, slot).

The checks probe an HTTP server inside the agent's namespace (the commune's LAN), which
central cannot reach. Where namespaces cannot be made the test is skipped with the
reason printed (it fails under CI=true: tests/support/netns.py).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.agent.stack import (
    Serve,
    agent_config,
    counts,
    enrol,
    inventory,
    rows,
    start_agent,
    stop_agent,
)
from tests.support.net import free_port
from tests.support.netns import veth_namespace
from tests.support.wait import until

CUT_S = float(os.environ.get("THONGSUOT_NETNS_CUT_S", "20"))
INTERVAL_S = 2
CHECKS = 3
LAN_PORT = 18080  # inside the agent's namespace, on its own loopback


def _depth(spool: Path) -> int:
    if not spool.exists():
        return 0
    db = sqlite3.connect(spool, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM result").fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.timeout(300 + 2 * CUT_S)
async def test_cut_line_spools_then_every_result_arrives_once(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        inventory(f"http://127.0.0.1:{LAN_PORT}/", checks=CHECKS, interval_s=INTERVAL_S),
        encoding="utf-8",
    )
    db_file = tmp_path / "central.db"
    db_url = f"sqlite:///{db_file}"
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    spool, log = agent_dir / "spool" / "spool.sqlite3", agent_dir / "agent.log"
    with veth_namespace() as ns:
        lan = await asyncio.create_subprocess_exec(
            *ns.run_args(sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                         str(LAN_PORT)),
            cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        serve = agent = None
        try:
            serve = Serve(db_url, inv, tmp_path / "data", ns.host_ip, free_port())
            await serve.up()
            cfg = agent_config(agent_dir, serve.base, enrol(db_url, inv))
            agent = await start_agent(cfg, log, prefix=ns.run_args())
            await until(lambda: len(rows(db_file)) >= 2 * CHECKS, within=60, every=0.5)
            ns.cut()
            cut_at = time.time()
            await asyncio.sleep(CUT_S)
            # nothing crossed the cut line, and the agent kept probing into its spool
            assert not [r for r in rows(db_file) if r[3] > cut_at + 1.0]
            expected = CHECKS * (CUT_S - 1.0) / INTERVAL_S
            assert _depth(spool) >= 0.8 * expected
            ns.restore()
            restored_at = time.time()
            # replayed: the results made during the cut are in central's database
            await until(
                lambda: (
                    sum(cut_at + 1 < r[3] < restored_at for r in rows(db_file)) >= 0.8 * expected
                ),
                within=90,
                every=0.5,
            )
            await stop_agent(agent)
            made, pushed, queued = counts(log)
            await until(lambda: len(rows(db_file)) >= pushed, within=20, every=0.5)
        finally:
            for proc in (agent, lan):
                if proc is not None and proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            if serve is not None:
                serve.stop()
    stored = rows(db_file)
    print(f"cut {CUT_S:g} s: the agent made {made} results, pushed {pushed}, left {queued}; "
          f"probe_result holds {len(stored)} for its vantage")  # fmt: skip
    assert queued == 0
    assert made == pushed == len(stored)  # every result arrived exactly once
    assert not [k for k, n in Counter((c, s) for c, s, _, _ in stored).items() if n > 1]
    by_check: dict[int, list[int]] = {}
    for check_id, slot, _, _ in stored:
        assert slot is not None
        by_check.setdefault(check_id, []).append(slot)
    for slots in by_check.values():  # no slot lost in the cut
        assert sorted(slots) == list(range(min(slots), min(slots) + len(slots)))
    assert "push failed" in log.read_text()  # the agent saw the cut
