"""The line to the province is cut (issue 14): the real agent runs in its own network
namespace and reaches the real central (``thongsuot serve`` on SQLite) over a veth pair;
the test takes the link down for ``THONGSUOT_NETNS_CUT_S`` seconds (20 s in the suite;
the issue's scenario is 2 minutes: ``THONGSUOT_NETNS_CUT_S=120``), the agent keeps probing
into its spool, the link comes back, and every result the agent made is one row of
``probe_result`` for its vantage: none lost, none twice by (check, vantage, slot).

Central's side of the cut, through its API and SQL: the agent goes silent after
``offline_after`` (10 s here, the least allowed), so within the cut the agent is ``offline`` in
``/api/v1/agents``, its checks are ``unknown`` in ``/api/v1/checks/{key}`` and
``/api/v1/incidents`` holds one open ``agent_offline`` incident (its checks' none); after
the link returns the agent is online, the incident is closed, no ``unknown`` flip of its
checks is left over the cut (the replay replaced it), and the day's rollup was marked
stale by the late results (or already recomputed after the replay).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.stack import (
    AGENT,
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
OFFLINE_AFTER_S = 10  # silence before central counts the agent offline (the least allowed)
TOKEN = "netns-write-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEYS = [f"12337.commune_centre.lan{i}" for i in range(CHECKS)]
LIVE = f"agent.{AGENT}"


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
        inventory(
            f"http://127.0.0.1:{LAN_PORT}/",
            checks=CHECKS,
            interval_s=INTERVAL_S,
            offline_after=f"{OFFLINE_AFTER_S}s",
        ),
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
            serve = Serve(
                db_url,
                inv,
                tmp_path / "data",
                ns.host_ip,
                free_port(),
                env={"THONGSUOT_API_TOKEN": TOKEN},
            )
            await serve.up()
            cfg = agent_config(agent_dir, serve.base, enrol(db_url, inv))
            agent = await start_agent(cfg, log, prefix=ns.run_args())
            await until(lambda: len(rows(db_file)) >= 2 * CHECKS, within=60, every=0.5)
            ns.cut()
            cut_at = time.time()
            # central's side of the cut (its API is reached from this namespace)
            during = await _silent_seen(serve.base, within=CUT_S - 1.0)
            await asyncio.sleep(max(0.0, cut_at + CUT_S - time.time()))
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
            after = await _back_seen(serve.base, db_file, cut_at, restored_at)
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
    # central during the cut: offline, its checks unknown, one agent-offline incident
    assert during["agent"] == "offline"
    assert during["checks"] == dict.fromkeys(KEYS, "unknown")
    assert during["incidents"] == [(LIVE, "agent_offline")]
    # after: online, the incident closed, the unknown time replaced, the day recomputed
    print(f"after the cut: {after}")
    assert after["agent"] == "online" and after["incident_closed"]
    assert after["unknown_flips_over_cut"] == []
    assert after["rollup"] in ("stale", "recomputed")


async def _silent_seen(base: str, within: float) -> dict[str, Any]:
    """Central's view once the agent is offline (polled through the API)."""
    seen: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=5) as client:

        async def offline() -> bool:
            agents = (await client.get("/api/v1/agents")).json()
            state = next(a["state"] for a in agents if a["name"] == AGENT)
            checks = {}
            for key in KEYS:
                checks[key] = (await client.get(f"/api/v1/checks/{key}")).json()["state"]
            found = await client.get("/api/v1/incidents", params={"state": "open"})
            incidents = [(i["check_key"], i["error_kind"]) for i in found.json()["items"]]
            seen.update(agent=state, checks=checks, incidents=incidents)
            return state == "offline" and set(checks.values()) == {"unknown"} and bool(incidents)

        await until(offline, within=within, every=0.5)
    return seen


async def _back_seen(base: str, db_file: Path, cut_at: float, restored_at: float) -> dict[str, Any]:
    """Central's view once the replay is in: agent state, the incident, flips, rollups."""
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=5) as client:
        agents = (await client.get("/api/v1/agents")).json()
        found = await client.get("/api/v1/incidents", params={"check": LIVE})
        incidents = found.json()["items"]
    db = sqlite3.connect(db_file, timeout=10)
    try:
        keys = ",".join("?" * len(KEYS))
        flips = db.execute(
            'SELECT c.key, f.at FROM flip f JOIN "check" c ON c.id = f.check_id'
            f" WHERE f.new_state = 'unknown' AND c.key IN ({keys})",
            KEYS,
        ).fetchall()
        stale = db.execute(
            "SELECT count(*) FROM rollup_stale WHERE reason LIKE ?", (f"%{AGENT}%",)
        ).fetchone()[0]
        computed = db.execute(
            'SELECT max(r.computed_at) FROM rollup_day r JOIN "check" c'
            " ON r.level = 'check' AND r.entity_id = c.id"
            f" WHERE c.key IN ({keys})",
            KEYS,
        ).fetchone()[0]
    finally:
        db.close()
    over_cut = [(k, at) for k, at in flips if cut_at - 1 <= _unix(at) <= restored_at + 1]
    recomputed = computed is not None and _unix(computed) > restored_at
    return {
        "agent": next(a["state"] for a in agents if a["name"] == AGENT),
        "incident_closed": len(incidents) == 1 and incidents[0]["ended_at"] is not None,
        "unknown_flips_over_cut": over_cut,
        "rollup": "stale" if stale else "recomputed" if recomputed else "neither",
    }


def _unix(value: str) -> float:
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
