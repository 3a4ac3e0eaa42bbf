"""Push beats through SQL (docs/design.md §4.1): a beat received by a process that
does not hold its check's shard reaches the owner through ``push_beat``.

Real PostgreSQL, real monitors with shard leases: the API process (an app with its
monitor) and another replica that owns the heartbeat check, both renewing and
polling; then, step by step, a beat whose outcome is fenced before it is written,
applied by the shard's next owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.config import Settings
from app.main import create_app
from app.models import Check, ProbeResult, PushBeat
from app.monitor.leases import SHARDS, shard_of
from app.monitor.push_relay import relay_beat
from app.monitor.runtime import Monitor
from tests import factories

pytestmark = pytest.mark.postgres

TOKEN = "kiosk-secret-relay-12337"
LEASE_S = 3.0


def _settings(db_url: str, data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "data_dir": data_dir,
        "notify_enabled": False,
        "lease_s": LEASE_S,
        "lease_renew_s": 0.5,
        "lease_margin_s": 0.5,
        "flush_interval_s": 0.2,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


async def _heartbeat_check(
    sm: async_sessionmaker[AsyncSession], key: str, *, period_s: float = 2, grace_s: float = 1.5
) -> int:
    async with sm() as s, s.begin():
        check = await factories.check(
            s,
            "heartbeat",
            {"period_s": period_s, "grace_s": grace_s},
            key=key,
            interval_s=1,
            timeout_s=0.5,
            failure_threshold=1,
            push_token_hash=hash_token(TOKEN),
        )
        return check.id


async def _until(what: str, ok: Callable[[], bool], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not ok():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.1)


async def _until_no_push_beat(sm: async_sessionmaker[AsyncSession], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (left := await _push_beats(sm)) != 0:
        assert asyncio.get_running_loop().time() < deadline, f"{left} push_beat rows left"
        await asyncio.sleep(0.1)


async def _rows(sm: async_sessionmaker[AsyncSession], check_id: int) -> list[ProbeResult]:
    async with sm() as s:
        rows = await s.execute(
            select(ProbeResult).where(ProbeResult.check_id == check_id).order_by(ProbeResult.at)
        )
        return list(rows.scalars())


async def _push_beats(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(PushBeat)) or 0)


def _key_in(shards: set[int]) -> str:
    """A check key whose shard is one of ``shards``."""
    return next(k for i in range(10_000) if shard_of(k := f"12337.kiosk{i}.beat") in shards)


@pytest.fixture
async def replicas(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Monitor, Monitor]]:
    """The API process (its monitor holds about half the shards) and another replica."""
    app = create_app(_settings(db_url, tmp_path / "api", api_token="admin-token-0123456789ab"))
    other = Monitor(_settings(db_url, tmp_path / "other"), sessionmaker)
    async with app.router.lifespan_context(app):
        api: Monitor = app.state.monitor
        await other.start()
        try:
            a, b = api.leases, other.leases
            assert a is not None and b is not None
            await _until(
                "the two replicas never shared the shards",
                lambda: a.owned + b.owned == SHARDS and min(a.owned, b.owned) >= SHARDS // 2 - 1,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client, api, other
        finally:
            await other.stop()


@pytest.mark.slow
async def test_a_beat_to_a_process_not_owning_the_check_keeps_it_up_on_the_owner(
    replicas: tuple[httpx.AsyncClient, Monitor, Monitor],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    client, api, other = replicas
    assert other.leases is not None
    key = _key_in(set(other.leases.epochs))
    check_id = await _heartbeat_check(sessionmaker, key)
    await api.refresh_checks()  # within 30 s anyway; the test does not wait for it
    await other.refresh_checks()
    assert not api.holds_check(check_id) and other.holds_check(check_id)

    beats = 0
    for _ in range(8):  # a beat a second for 8 s: more than four periods of 2 s
        resp = await client.post(f"/api/v1/push/{TOKEN}", json={"message": "Máy lấy số OK"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["ok"] is True
        beats += 1
        await asyncio.sleep(1.0)
    await _until("the owner never went up", lambda: other.states[check_id].state == "up")
    await other.pipeline.flush()
    relay = other.beat_relay
    assert relay is not None
    await _until("relayed beats not applied", lambda: relay.applied >= beats)
    await other.pipeline.flush()
    await _until_no_push_beat(sessionmaker)

    rows = await _rows(sessionmaker, check_id)
    pushed = [r for r in rows if r.details.get("source") == "push"]
    assert len(pushed) == beats  # each beat once (its uid), none lost
    assert len({r.uid for r in pushed}) == beats
    assert all(r.status == "up" and r.message == "Máy lấy số OK" for r in pushed)
    # the owner heard every beat: its heartbeat probes found none missed
    assert [r.error_kind for r in rows if r.status == "down"] == []
    assert other.beat_relay is not None and other.beat_relay.applied == beats
    assert api.metrics.push_beats_relayed._value.get() == beats
    assert other.metrics.push_beat_relay_seconds._sum.get() > 0
    async with sessionmaker() as s:
        check = await s.get(Check, check_id)
        assert check is not None and check.state == "up"
        assert check.last_beat_at == max(r.at for r in pushed)
    assert api.pipeline.stats.fenced == other.pipeline.stats.fenced == 0

    # silence: the owner's heartbeat probe finds the beat missed and goes down
    await _until(
        "a missing beat never made the check down",
        lambda: other.states[check_id].state == "down",
        within=10,
    )
    await other.pipeline.flush()
    async with sessionmaker() as s:
        check = await s.get(Check, check_id)
        assert check is not None and check.state == "down"
    resp = await client.get(f"/api/v1/push/{TOKEN}")  # answered with the state in SQL
    assert resp.json() == {"ok": True, "state": "down"}


async def test_a_fenced_beat_is_applied_by_the_next_owner(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Driven by hand (no loops running): the receiver relays a beat; the owner B
    applies it once (however often it polls) but is paused past its lease before
    writing; C takes the shard and applies the row B left; B's late write keeps the
    sample as history and deletes nothing; C's write consumes the row."""
    key = "12337.kiosk.fenced"
    check_id = await _heartbeat_check(sessionmaker, key, period_s=60, grace_s=30)
    receiver = Monitor(_settings(db_url, tmp_path / "r"), sessionmaker)  # holds no shard
    b = Monitor(_settings(db_url, tmp_path / "b", lease_s=1.0), sessionmaker)
    c = Monitor(_settings(db_url, tmp_path / "c"), sessionmaker)
    for m in (receiver, b, c):
        await m.refresh_checks()
    assert b.leases is not None and c.leases is not None
    assert b.beat_relay is not None and c.beat_relay is not None
    await b.leases.renew()  # alone: B takes every shard
    assert shard_of(key) in b.leases.epochs and not receiver.holds_check(check_id)

    before = datetime.now(UTC)
    assert await receiver.relay_beat(check_id, "down", "Máy in hết giấy") == "unknown"
    assert await _push_beats(sessionmaker) == 1
    assert await b.beat_relay.poll() == 0  # a shard newly held settles for one round
    assert await b.beat_relay.poll() == 1
    assert await b.beat_relay.poll() == 0  # applied once, waiting for its write
    assert b.states[check_id].last_beat_status == "down"
    assert b.pipeline.depth == 1

    await asyncio.sleep(1.5)  # B paused past its lease; C takes the shard (a new epoch)
    report = await c.leases.renew()
    assert shard_of(key) in report.gained
    assert c.leases.epoch(shard_of(key)) != b.leases.epoch(shard_of(key))

    await b.pipeline.flush()  # B resumes: its outcome is fenced, the row stays
    assert b.pipeline.stats.fenced == 1
    assert await _push_beats(sessionmaker) == 1
    async with sessionmaker() as s:
        check = await s.get(Check, check_id)
        assert check is not None and check.last_beat_at is None  # no state from B

    assert await c.beat_relay.poll() == 0
    assert await c.beat_relay.poll() == 1  # C applies what B could not write
    await c.pipeline.flush()
    assert c.pipeline.stats.fenced == 0
    assert await _push_beats(sessionmaker) == 0  # consumed with C's write
    rows = await _rows(sessionmaker, check_id)
    assert len(rows) == 1  # B's sample and C's share a uid: stored once
    assert rows[0].status == "down" and rows[0].message == "Máy in hết giấy"
    async with sessionmaker() as s:
        check = await s.get(Check, check_id)
        assert check is not None
        assert check.last_beat_at == rows[0].at and rows[0].at >= before
        assert check.streak_status == "down" or check.state == "down"
    assert await c.beat_relay.poll() == 0  # nothing left, nothing applied twice
    assert c.beat_relay.applied == 1 and b.beat_relay.applied == 1
    for m in (receiver, b, c):
        await m.stop()


async def test_a_beat_taken_in_memory_then_fenced_is_relayed_to_the_next_owner(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """B holds the shard and takes the beat in memory (it is the API process), but the
    shard moves before B writes: B's fenced write hands the beat to the new owner C as
    a push_beat row (once: a replay of the same outcome adds none), and C applies it."""
    key = "12337.kiosk.memory"
    check_id = await _heartbeat_check(sessionmaker, key, period_s=60, grace_s=30)
    b = Monitor(_settings(db_url, tmp_path / "b", lease_s=1.0), sessionmaker)
    c = Monitor(_settings(db_url, tmp_path / "c"), sessionmaker)
    for m in (b, c):
        await m.refresh_checks()
    assert b.leases is not None and c.leases is not None and c.beat_relay is not None
    await b.leases.renew()
    assert b.holds_check(check_id)
    outcome = b.record_beat(check_id, "up", "Máy lấy số OK")
    assert outcome is not None and outcome.push_beat_id is None
    assert await _push_beats(sessionmaker) == 0  # in memory only

    await asyncio.sleep(1.5)  # B paused past its lease; C takes the shard
    assert shard_of(key) in (await c.leases.renew()).gained
    await b.pipeline.flush()
    assert b.pipeline.stats.fenced == 1
    assert await _push_beats(sessionmaker) == 1  # handed to C
    again = Monitor(_settings(db_url, tmp_path / "b2"), sessionmaker).pipeline
    again.put(outcome)  # the same outcome once more (a replayed journal)
    await again.flush()
    assert again.stats.fenced == 1 and await _push_beats(sessionmaker) == 1

    assert await c.beat_relay.poll() == 0
    assert await c.beat_relay.poll() == 1
    await c.pipeline.flush()
    assert await _push_beats(sessionmaker) == 0
    rows = await _rows(sessionmaker, check_id)
    assert [(r.uid, r.status, r.message) for r in rows] == [
        (outcome.result_row["uid"], "up", "Máy lấy số OK")
    ]
    async with sessionmaker() as s:
        check = await s.get(Check, check_id)
        assert check is not None and check.state == "up"
        assert check.last_beat_at == outcome.result_row["at"]
    assert c.states[check_id].last_beat_message == "Máy lấy số OK"
    for m in (b, c):
        await m.stop()


async def test_a_relayed_beat_read_past_its_deadline_is_dropped_not_applied(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A beat read after the deadline it set (the owner down or the database away that
    long) would bring a check the silence made down back up, dated in the past: its
    row is deleted unapplied; a beat within its deadline beside it is applied."""
    check_id = await _heartbeat_check(sessionmaker, "12337.kiosk.late", period_s=60, grace_s=30)
    owner = Monitor(_settings(db_url, tmp_path / "o"), sessionmaker)
    await owner.refresh_checks()
    assert owner.leases is not None and owner.beat_relay is not None
    await owner.leases.renew()
    shard = shard_of("12337.kiosk.late")
    now = datetime.now(UTC)
    async with sessionmaker() as s, s.begin():
        for age, message in ((91, "too late"), (80, "in time")):
            await relay_beat(
                s,
                check_id=check_id,
                shard=shard,
                status=None,
                message=message,
                at=now - timedelta(seconds=age),
            )
    assert await owner.beat_relay.poll() == 0  # settling
    assert await owner.beat_relay.poll() == 1
    assert await _push_beats(sessionmaker) == 1  # the late one deleted at once
    await owner.pipeline.flush()
    assert await _push_beats(sessionmaker) == 0
    rows = await _rows(sessionmaker, check_id)
    assert [r.message for r in rows] == ["in time"]
    await owner.stop()


async def test_a_dead_lettered_relayed_beat_takes_its_row_along(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A relayed beat's outcome the database refuses for its data is set aside as a
    dead letter, and its push_beat row goes with it: no owner applies it again."""
    check_id = await _heartbeat_check(sessionmaker, "12337.kiosk.dead", period_s=60, grace_s=30)
    owner = Monitor(_settings(db_url, tmp_path / "o"), sessionmaker)
    await owner.refresh_checks()
    assert owner.leases is not None and owner.beat_relay is not None
    await owner.leases.renew()
    async with sessionmaker() as s, s.begin():
        await relay_beat(
            s, check_id=check_id, shard=shard_of("12337.kiosk.dead"), status=None, message="ok"
        )
    await owner.beat_relay.poll()
    assert await owner.beat_relay.poll() == 1
    [outcome] = list(owner.pipeline._buf) or list(owner.pipeline._unjournaled)
    outcome.result_row["details"] = {"bad": "\x00 a NUL PostgreSQL refuses in jsonb"}
    await owner.pipeline.flush()
    assert owner.pipeline.stats.dead_lettered == 1
    assert await _push_beats(sessionmaker) == 0
    assert await owner.beat_relay.poll() == 0
    await owner.stop()
