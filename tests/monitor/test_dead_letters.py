"""One bad row never blocks the others (issue 10, item 1).

A batch the database refuses for its *data* is split until the refused outcome
is alone; that one goes to the ``dead_letter`` table (counted in
``thongsuot_results_dead_lettered_total``) and its batch-mates are written, in
memory and when replayed from the journal. A lost connection still keeps the
whole batch for a retry. Real SQLite and PostgreSQL; the bad rows are forced
past clean_text on purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import Check, DeadLetter, Flip, ProbeResult
from app.monitor.evaluator import CheckState, Outcome, apply_result
from app.monitor.metrics import ProcessMetrics
from app.monitor.pipeline import ResultPipeline
from app.monitor.records import outcome_from_record
from app.monitor.writer import is_data_error, write_batch
from probes import ErrorKind
from probes import ProbeResult as Result
from tests import factories
from tests.monitor.test_pipeline import FlakySessions

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)
GONE = 987_654  # no check has this id
DEAD_LETTERED = "thongsuot_results_dead_lettered_total"


async def _check(sm: async_sessionmaker[AsyncSession]) -> Check:
    async with sm() as s, s.begin():
        return await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.http")


def _outcomes(check: Check, pattern: str) -> list[Outcome]:
    cs = CheckState(check.id, check.unit_id)
    res = {"u": Result.up(0.01), "d": Result.down(ErrorKind.CONNECT, "refused")}
    return [apply_result(cs, res[c], T0 + timedelta(seconds=30 * i)) for i, c in enumerate(pattern)]


def _refused_by_both(outcome: Outcome) -> None:
    """A result row for a check that does not exist: a foreign-key violation."""
    outcome.result_row["check_id"] = GONE


def _unencodable(outcome: Outcome) -> None:
    """A lone surrogate: neither driver can encode it (clean_text would replace it)."""
    outcome.result_row["message"] = "a\ud800b"


async def _count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def _dead_letters(sm: async_sessionmaker[AsyncSession]) -> list[DeadLetter]:
    async with sm() as s:
        return list((await s.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars())


async def test_a_bad_row_is_set_aside_and_its_batch_mates_are_written(
    sessionmaker: async_sessionmaker[AsyncSession], backend: str
) -> None:
    check = await _check(sessionmaker)
    outs = _outcomes(check, "uudddduu" * 2)
    _refused_by_both(outs[3])
    _unencodable(outs[12])
    bad = {outs[3].result_row["uid"], outs[12].result_row["uid"]}
    if backend == "postgresql":  # SQLite stores a NUL; PostgreSQL refuses it
        outs[9].result_row["details"] = {"body": "a\x00b"}
        bad.add(outs[9].result_row["uid"])
    metrics = ProcessMetrics()
    pipe = ResultPipeline(
        sessionmaker, batch_size=len(outs), on_dead_letter=metrics.dead_lettered.inc
    )
    for out in outs:
        pipe.put(out)
    await pipe.flush()  # raised "flush failed" before: the bad rows blocked every batch
    assert pipe.depth == 0
    assert await _count(sessionmaker, ProbeResult) == len(outs) - len(bad)
    async with sessionmaker() as s:
        uids = set((await s.execute(select(ProbeResult.uid))).scalars())
    assert uids == {o.result_row["uid"] for o in outs} - bad
    letters = await _dead_letters(sessionmaker)
    assert {d.uid for d in letters} == bad
    assert pipe.stats.dead_lettered == len(bad)
    assert metrics.registry.get_sample_value(DEAD_LETTERED) == len(bad)
    by_uid = {d.uid: d for d in letters}
    fk = by_uid[outs[3].result_row["uid"]]
    assert fk.error_type == "IntegrityError" and fk.error and fk.created_at is not None
    surrogate = by_uid[outs[12].result_row["uid"]]
    assert "\\ud800" in surrogate.record  # escaped, so the row itself is storable
    if backend == "postgresql":
        assert "\\u0000" in by_uid[outs[9].result_row["uid"]].record
    # the record is the outcome, ready to replay once fixed
    back = outcome_from_record(json.loads(fk.record))
    assert back.result_row["uid"] == outs[3].result_row["uid"]
    assert back.result_row["check_id"] == GONE
    async with sessionmaker() as s:
        row = await s.get(Check, check.id)
    assert row is not None and row.state == "up"  # the check's state moved on


async def test_a_state_update_for_a_missing_check_does_not_block(
    sessionmaker: async_sessionmaker[AsyncSession], backend: str
) -> None:
    """SQLite reports the UPDATE that matched no check (StaleDataError): set aside.
    asyncpg's executemany reports no row counts, so PostgreSQL writes it all."""
    check = await _check(sessionmaker)
    outs = _outcomes(check, "udu")
    outs[1].check_row["id"] = GONE
    pipe = ResultPipeline(sessionmaker)
    for out in outs:
        pipe.put(out)
    await pipe.flush()
    refused = [outs[1].result_row["uid"]] if backend == "sqlite" else []
    assert [d.uid for d in await _dead_letters(sessionmaker)] == refused
    assert await _count(sessionmaker, ProbeResult) == 3 - len(refused)


async def test_setting_aside_twice_keeps_one_dead_letter(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    (out,) = _outcomes(check, "u")
    _refused_by_both(out)
    for _ in range(2):  # e.g. the commit landed but its answer was lost
        pipe = ResultPipeline(sessionmaker)
        pipe.put(out)
        await pipe.flush()
    assert len(await _dead_letters(sessionmaker)) == 1


async def test_a_bad_row_replayed_from_the_journal_does_not_block_the_others(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    away = FlakySessions(sessionmaker, failures=10**9)  # the database never comes back
    pipe = ResultPipeline(
        away,  # type: ignore[arg-type]
        batch_size=4,
        flush_interval=0.05,
        max_backoff=0.05,
        spool_dir=tmp_path,
    )
    pipe.start()
    outs = _outcomes(check, "uddu" * 3)
    _refused_by_both(outs[5])
    for out in outs:
        pipe.put(out)
    await pipe.stop(grace=0.3)
    assert pipe.stats.dead_lettered == 0  # a lost connection is retried, never set aside
    again = ResultPipeline(sessionmaker, spool_dir=tmp_path)
    assert again.restore() == len(outs)
    await again.flush()
    assert again.depth == 0
    assert await _count(sessionmaker, ProbeResult) == len(outs) - 1
    assert [d.uid for d in await _dead_letters(sessionmaker)] == [outs[5].result_row["uid"]]
    assert await _count(sessionmaker, Flip) == 7  # unknown→up, then 3 × (down, up)


async def _write_and_commit(session: AsyncSession, outs: list[Outcome]) -> None:
    await write_batch(session, outs)
    await session.commit()


@pytest.mark.postgres
async def test_a_cut_connection_is_not_a_data_error(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """PostgreSQL ends the session mid-transaction (57P01, as at a shutdown): the
    error is not a data error, so the pipeline retries the whole batch."""
    check = await _check(sessionmaker)
    outs = _outcomes(check, "uddu")
    admin = make_engine(db_url)
    try:
        async with sessionmaker() as s:
            pid = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with admin.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Exception) as cut:
                await _write_and_commit(s, outs)
    finally:
        await admin.dispose()
    assert not is_data_error(cut.value)


async def test_a_lost_database_keeps_the_whole_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    outs = _outcomes(check, "udduu")
    _refused_by_both(outs[2])
    flaky = FlakySessions(sessionmaker, failures=2)
    pipe = ResultPipeline(flaky, batch_size=10)  # type: ignore[arg-type]
    for out in outs:
        pipe.put(out)
    with pytest.raises(RuntimeError, match="database went away"):
        await pipe.flush()
    assert pipe.depth == len(outs) and pipe.stats.dead_lettered == 0
    assert pipe.write_failing_for() > 0
    with pytest.raises(RuntimeError, match="database went away"):
        await pipe.flush()
    await pipe.flush()  # back: the bad one is set aside, the rest written
    assert pipe.write_failing_for() == 0
    assert await _count(sessionmaker, ProbeResult) == len(outs) - 1
    assert len(await _dead_letters(sessionmaker)) == 1


# against a running app -------------------------------------------------------

ADMIN = "admin-token-0123456789abcdef"
PUSH = "kiosk-secret-12337"


async def _app_client(db_url: str, sm: async_sessionmaker[AsyncSession], **settings: Any) -> Any:
    async with sm() as s, s.begin():
        await factories.check(
            s,
            "heartbeat",
            {"period_s": 60, "grace_s": 30},
            key="12337.centre.kiosk",
            interval_s=60,
            timeout_s=0.5,
            push_token_hash=hash_token(PUSH),
        )
    return create_app(
        Settings(database_url=db_url, api_token=ADMIN, flush_interval_s=0.05, **settings)
    )


@pytest.fixture
async def running(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = await _app_client(db_url, sessionmaker, ready_max_write_failure_s=0.2)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def test_a_nul_in_a_push_message_no_longer_stops_writes(
    running: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The repro: ``GET /api/v1/push/{token}?msg=a%00b`` used to fail its batch on
    PostgreSQL forever (and store a NUL on SQLite). The query form may be refused
    at the door (422); the same text in a JSON body is cleaned (clean_text), and
    every later result is written."""
    monitor = running.app.state.monitor  # type: ignore[attr-defined]
    resp = await running.get(f"/api/v1/push/{PUSH}?msg=a%00b")
    assert resp.status_code in (200, 422), resp.text
    got = 1 if resp.status_code == 200 else 0
    resp = await running.post(f"/api/v1/push/{PUSH}", json={"message": "c\u0000d\u0007"})
    assert resp.status_code == 200, resp.text
    for i in range(3):  # within the push rate limit's burst
        resp = await running.get(f"/api/v1/push/{PUSH}", params={"msg": f"beat {i}\x01"})
        assert resp.status_code == 200, resp.text
    await monitor.pipeline.flush()  # "flush failed" on PostgreSQL before
    async with sessionmaker() as s:
        messages = list(
            (await s.execute(select(ProbeResult.message).order_by(ProbeResult.at))).scalars()
        )
    assert messages == ["ab"] * got + ["cd ", "beat 0 ", "beat 1 ", "beat 2 "]
    assert await _dead_letters(sessionmaker) == []


async def test_readyz_is_503_while_writes_keep_failing(
    running: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    monitor = running.app.state.monitor  # type: ignore[attr-defined]
    ready = await running.get("/readyz")
    assert ready.status_code == 200 and ready.json()["writes"] == {"status": "ok"}
    async with sessionmaker() as s, s.begin():  # writes fail; SELECT 1 still answers
        await s.execute(text("ALTER TABLE probe_result RENAME TO probe_result_away"))
    try:
        assert (await running.get(f"/api/v1/push/{PUSH}", params={"msg": "up"})).status_code == 200
        deadline = asyncio.get_running_loop().time() + 20
        while (resp := await running.get("/readyz")).status_code == 200:
            assert asyncio.get_running_loop().time() < deadline, resp.json()
            await asyncio.sleep(0.05)
        body = resp.json()
        assert resp.status_code == 503 and body["database"] == "ok"
        assert body["writes"]["status"] == "failing"
        assert body["writes"]["limit_s"] == 0.2
        assert "result writes failing" in body["writes"]["reason"]
    finally:
        async with sessionmaker() as s, s.begin():
            await s.execute(text("ALTER TABLE probe_result_away RENAME TO probe_result"))
    await monitor.pipeline.flush()  # the buffered beat lands
    resp = await running.get("/readyz")
    assert resp.status_code == 200 and resp.json()["writes"] == {"status": "ok"}
    assert await _count(sessionmaker, ProbeResult) == 1
