"""The real central and the real agent on loopback: ``thongsuot serve`` on SQLite with an
inventory declaring the agent, ``thongsuot agent create`` for its token, ``thongsuot
agent run``; every result the agent made is one row of ``probe_result`` for its vantage."""

from __future__ import annotations

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
from tests.support.http import Reply, ScriptedHTTP
from tests.support.net import free_port
from tests.support.wait import until

CHECKS = 3


@pytest.mark.slow
async def test_real_central_stores_every_agent_result_once(tmp_path: Path) -> None:
    lan = await ScriptedHTTP(routes={"/q": Reply(200, "Hàng chờ")}).start()
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(lan.url("/q"), checks=CHECKS, interval_s=2), encoding="utf-8")
    db_file = tmp_path / "central.db"
    db_url = f"sqlite:///{db_file}"
    serve = None
    try:
        serve = Serve(db_url, inv, tmp_path / "data", "127.0.0.1", free_port())
        await serve.up()
        token = enrol(db_url, inv)
        agent_dir = tmp_path / "agent"
        agent_dir.mkdir()
        cfg = agent_config(agent_dir, serve.base, token)
        log = agent_dir / "agent.log"
        agent = await start_agent(cfg, log)
        try:
            await until(lambda: len(rows(db_file)) >= 3 * CHECKS, within=60, every=0.5)
        finally:
            await stop_agent(agent)
        made, pushed, queued = counts(log)
        await until(lambda: len(rows(db_file)) >= pushed, within=20, every=0.5)
    finally:
        if serve is not None:
            serve.stop()
        await lan.close()
    stored = rows(db_file)
    assert queued == 0
    assert made == pushed == len(stored)
    assert not [k for k, n in Counter((c, s) for c, s, _, _ in stored).items() if n > 1]
    assert len({c for c, _, _, _ in stored}) == CHECKS
    assert token not in log.read_text()
