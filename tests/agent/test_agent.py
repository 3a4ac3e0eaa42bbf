"""The agent process against a loopback central that keeps the wire format strictly
(tests/agent/fake_central.py) and a loopback HTTP target its checks probe."""

from __future__ import annotations

import asyncio
import json
import math
import os
import stat
import time
from pathlib import Path

from app.agent.runner import BACKOFF_MAX_S, backoff_delay, next_due
from tests.agent.conftest import TOKEN, running, write_config
from tests.agent.fake_central import FakeCentral, assignment
from tests.support.http import Reply, ScriptedHTTP
from tests.support.net import free_port
from tests.support.tls import Certs
from tests.support.wait import until

CONFIG = "/api/v1/agent/config"
RESULTS = "/api/v1/agent/results"


def _per_check_slots(central: FakeCentral) -> dict[int, list[int]]:
    slots: dict[int, list[int]] = {}
    for r in sorted(central.results.values(), key=lambda r: r["at"]):
        slots.setdefault(r["check_id"], []).append(r["slot"])
    return slots


async def test_pull_etag_headers_cache_and_slots(tmp_path: Path, central: FakeCentral) -> None:
    central.assignment["pull_interval_s"] = 0.5
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: len(central.requests(CONFIG)) >= 3, within=10)
        await until(lambda: len(_per_check_slots(central).get(18, [])) >= 3, within=10)
        assert agent.spool.stats.depth <= 4
    pulls = central.requests(CONFIG)
    assert "if-none-match" not in pulls[0].headers
    assert all(p.headers["if-none-match"] == central.etag() for p in pulls[1:])
    for req in central.server.requests:
        assert req.headers["user-agent"].startswith("thongsuot-agent/")
        assert abs(float(req.headers["x-thongsuot-agent-time"]) - time.time()) < 30
        assert req.headers["authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in req.target
    cache = tmp_path / "spool" / "config.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert json.loads(cache.read_text())["etag"] == central.etag()
    checks = {c["id"]: c for c in central.assignment["checks"]}
    for check_id, slots in _per_check_slots(central).items():
        c = checks[check_id]
        assert slots == list(range(slots[0], slots[0] + len(slots)))  # no gap, none twice
        for r in (r for r in central.results.values() if r["check_id"] == check_id):
            # run at phase + k * interval: its slot is k
            k = (r["at"] - c["phase_s"]) / c["interval_s"]
            assert abs(k - r["slot"]) < 0.5, (r["at"], r["slot"])
            assert r["status"] == "up"
    assert central.duplicates == 0


async def test_central_away_results_kept_and_sent_once_with_the_same_key(
    tmp_path: Path, central: FakeCentral
) -> None:
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: len(central.results) >= 2, within=10)
        central.away = True  # 503 + Retry-After: 1
        await until(lambda: agent.spool.stats.depth >= 6, within=15)
        refused_keys = {k for k, status in central.keys_seen if status == 503}
        central.away = False
        await until(lambda: agent.spool.stats.depth <= 2, within=15)
        produced = agent.metrics.results
    assert refused_keys
    stored_keys = {k for k, status in central.keys_seen if status == 200}
    assert refused_keys & stored_keys  # the refused batch was sent again under its key
    assert central.duplicates == 0
    for slots in _per_check_slots(central).values():
        assert slots == list(range(slots[0], slots[0] + len(slots)))
    # every result produced arrived exactly once (the last push at stop sends the rest)
    assert len(central.results) == produced


async def test_retry_after_is_honoured(tmp_path: Path, central: FakeCentral) -> None:
    central.script = [Reply(429, json={"error": "busy"}, headers={"Retry-After": "3"})]
    # under load the first push can be an empty keep-alive, which is not kept for a retry
    central.script_skips_keepalive = True
    cfg = write_config(tmp_path, central.url)
    async with running(cfg):
        await until(lambda: any(s == 200 for _, s in central.keys_seen), within=15)
        await until(lambda: not central.script and len(central.results) > 0, within=15)
    posts = [r for r in central.server.requests if r.path == RESULTS and r.json()["results"]]
    first, second = posts[0], posts[1]
    gap = float(second.headers["x-thongsuot-agent-time"]) - float(
        first.headers["x-thongsuot-agent-time"]
    )
    assert gap >= 2.9
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


async def test_starts_on_the_cached_config_while_central_is_unreachable(
    tmp_path: Path, central: FakeCentral
) -> None:
    cfg = write_config(tmp_path, central.url)
    async with running(cfg):
        await until(lambda: (tmp_path / "spool" / "config.json").exists(), within=10)
    port = central.server.port
    await central.close()
    async with running(cfg) as agent:  # central refuses connections
        await until(lambda: agent.spool.stats.depth >= 4, within=15)
        assert len(agent.checks) == 2
        before = len(central.results)
        await central.start(port=port)
        await until(lambda: agent.spool.stats.depth <= 2, within=30)
    assert len(central.results) > before + 3
    assert central.duplicates == 0


async def test_413_splits_the_batch(tmp_path: Path, central: FakeCentral) -> None:
    central.max_batch = 3
    central.assignment["push_interval_s"] = 3  # ~6 results queued between pushes
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: any(s == 413 for _, s in central.keys_seen), within=15)
        await until(lambda: len(central.results) >= 6, within=15)
        produced = agent.metrics.results
    assert len(central.results) == produced
    assert central.duplicates == 0


async def test_401_waits_for_a_new_token_then_sends(tmp_path: Path, central: FakeCentral) -> None:
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: len(central.results) >= 2, within=10)
        central.tokens = {"tsa_rotated"}  # the agent's token is revoked
        await until(lambda: 401 in central.statuses(RESULTS), within=10)
        refused = len(central.requests(RESULTS))
        await until(lambda: agent.spool.stats.depth >= 4, within=10)
        await asyncio.sleep(1.0)  # never sent again as is: no push in 2 push intervals
        assert len(central.requests(RESULTS)) == refused
        (tmp_path / "token").write_text("tsa_rotated\n")
        os.kill(os.getpid(), 1)  # SIGHUP: the agent re-reads its token file
        await until(lambda: agent.spool.stats.depth <= 2, within=10)
    assert central.duplicates == 0


async def test_clock_skew_kept_and_sent_after_the_next_pull(
    tmp_path: Path, central: FakeCentral
) -> None:
    central.skew_s = 1000.0  # the agent's clock looks 1000 s off
    central.assignment["pull_interval_s"] = 2
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: any(s == 422 for _, s in central.keys_seen), within=10)
        pulls = len(central.requests(CONFIG))
        await until(lambda: agent.spool.stats.depth >= 3, within=10)
        assert not central.results
        central.skew_s = 0.0  # NTP fixed
        await until(lambda: len(central.results) >= 3, within=10)
        assert len(central.requests(CONFIG)) > pulls  # sent again after a pull
    assert central.duplicates == 0


async def test_not_assigned_results_dropped_others_sent(
    tmp_path: Path, central: FakeCentral, target: ScriptedHTTP
) -> None:
    cfg = write_config(tmp_path, central.url)
    async with running(cfg) as agent:
        await until(lambda: len(central.results) >= 2, within=10)
        central.assignment["checks"] = central.assignment["checks"][:1]  # 18 is taken away
        # ... but the agent has not pulled yet: its results of 18 are refused (403)
        await until(lambda: any(s == 403 for _, s in central.keys_seen), within=10)
        await until(lambda: agent.metrics.refused >= 1, within=10)
        n17 = len(_per_check_slots(central).get(17, []))
        await until(lambda: len(_per_check_slots(central).get(17, [])) > n17 + 1, within=10)


def test_backoff_grows_with_jitter_within_bounds() -> None:
    delays = [backoff_delay(n) for n in range(12)]
    assert 0.5 <= delays[0] <= 0.75
    assert all(d <= BACKOFF_MAX_S == 30 for d in delays)
    assert 8 <= delays[4] <= 12  # 0.5 x 2^4, up to +50 % jitter
    assert math.isclose(min(backoff_delay(20) for _ in range(20)), BACKOFF_MAX_S)


async def test_metrics_on_loopback(tmp_path: Path, central: FakeCentral) -> None:
    port = free_port()
    cfg = write_config(tmp_path, central.url, metrics_port=port)
    async with running(cfg):
        await until(lambda: len(central.results) >= 2, within=10)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        text = (await reader.read()).decode()
        writer.close()
    assert "200 OK" in text
    assert "thongsuot_agent_spool_depth " in text
    assert "thongsuot_agent_results_pushed_total " in text
    assert "thongsuot_agent_checks 2" in text


async def test_secrets_sent_with_the_check_reach_the_probe(
    tmp_path: Path, central: FakeCentral, target: ScriptedHTTP
) -> None:
    target.routes["/private"] = lambda req: Reply(
        200 if req.headers.get("authorization") == "Bearer lan-secret-1" else 401, "x"
    )
    check = central.assignment["checks"][0]
    check["config"] = {
        "url": target.url("/private"),
        "auth": {"type": "bearer", "secret": "LAN_QUEUE_TOKEN"},
    }
    check["secrets"] = {"LAN_QUEUE_TOKEN": "lan-secret-1"}
    cfg = write_config(tmp_path, central.url)
    async with running(cfg):
        await until(lambda: len(_per_check_slots(central).get(17, [])) >= 2, within=10)
    assert {r["status"] for r in central.results.values() if r["check_id"] == 17} == {"up"}


async def test_dropped_by_age_are_counted_and_reported_to_central(
    tmp_path: Path, central: FakeCentral
) -> None:
    cfg = write_config(tmp_path, central.url, spool_max_age="3s")
    async with running(cfg) as agent:
        await until(lambda: len(central.results) >= 2, within=10)
        central.away = True
        await until(lambda: agent.spool.stats.dropped_total >= 4, within=20)
        central.away = False
        await until(lambda: any(s.get("dropped", 0) > 0 for s in central.spool_reports), 10)
        await until(lambda: agent.spool.stats.dropped_unreported == 0, within=10)
        dropped = agent.spool.stats.dropped_total
        produced = agent.metrics.results
    reported = sum(s.get("dropped", 0) for s in central.spool_reports)
    assert reported >= 4
    assert reported <= dropped
    # what was not dropped arrived, once
    assert len(central.results) + dropped == produced
    assert central.duplicates == 0


def test_next_due_on_the_grid() -> None:
    # phase 12.25, interval 30: grid 12.25, 42.25, 72.25, ...
    assert next_due(50.0, None, 12.25, 30) == 72.25
    assert next_due(72.25, None, 12.25, 30) == 72.25
    assert next_due(72.249, 72.25, 12.25, 30) == 102.25  # woke early: not the same slot
    assert next_due(80.0, 72.25, 12.25, 30) == 102.25
    # the clock stepped back an hour: back on the grid now, not an hour of silence
    assert next_due(80.0 - 3600, 72.25, 12.25, 30) == 102.25 - 3600


async def test_https_central_with_a_private_ca(tmp_path: Path, target: ScriptedHTTP) -> None:
    """``ca_file`` trusts central's private CA; without it the agent refuses the
    certificate and keeps its results."""
    certs = Certs(tmp_path)
    central = FakeCentral({TOKEN}, assignment(target.url("/")))
    central.server.ssl_context = Certs.server_context(certs.valid)
    await central.start(host="localhost")
    try:
        assert central.url.startswith("https://localhost:")
        untrusting = tmp_path / "a"
        untrusting.mkdir()
        async with running(write_config(untrusting, central.url)) as agent:
            await asyncio.sleep(2.0)
            assert agent.metrics.pulls.get("retry", 0) >= 1  # TLS refused: as if away
            assert not central.server.requests
        trusting = tmp_path / "b"
        trusting.mkdir()
        cfg = write_config(trusting, central.url, ca_file=certs.ca_file)
        async with running(cfg):
            await until(lambda: len(central.results) >= 2, within=10)
    finally:
        await central.close()
