"""The outcome journal fails safe: unreadable records are kept and counted, a full
disk or a read-only directory never stops the monitor starting or stopping, and
what cannot be kept is counted as lost. Full disks are real (a 64 KiB tmpfs), and
read-only directories are real read-only mounts (root ignores ``chmod``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Check, Flip
from app.models import ProbeResult as ResultRow
from app.monitor import spool
from app.monitor.evaluator import CheckState, Outcome, apply_result
from app.monitor.journal import Journal, database_identity
from app.monitor.pipeline import ResultPipeline
from app.monitor.records import outcome_to_record
from app.monitor.runtime import Monitor
from probes import ErrorKind, ProbeResult
from tests import factories


class Switchable:
    """A real sessionmaker that can be told the database went away."""

    def __init__(self, sm: async_sessionmaker[AsyncSession]) -> None:
        self._sm, self.away = sm, False

    def __call__(self) -> Any:
        return self._session()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        if self.away:
            raise ConnectionError("database went away")
        async with self._sm() as s:
            yield s


def _mount(target: Path, *options: str) -> None:
    target.mkdir(exist_ok=True)
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        reason = f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode})"
        print(reason)
        if os.environ.get("CI") == "true":  # CI runs as root: the full-disk proofs must run
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB filesystem: writes past it fail with ENOSPC."""
    target = tmp_path / "small"
    _mount(target, "size=64k")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def _remount_ro(target: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


async def _check(sm: async_sessionmaker[AsyncSession]) -> Check:
    async with sm() as s, s.begin():
        return await factories.http_check(s, "http://127.0.0.1:9/", key="k", interval_s=3600)


def _outcomes(check: Check, n: int, start: datetime | None = None) -> list[Outcome]:
    cs = CheckState(check.id, check.unit_id)
    t0 = start or datetime.now(UTC) - timedelta(hours=2)
    down = ProbeResult.down(ErrorKind.CONNECT, "refused " + "x" * 300)  # ~1 KiB a record
    return [apply_result(cs, down, t0 + timedelta(seconds=i)) for i in range(n)]


async def _rows(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(ResultRow))).scalar_one())


def _sample(monitor: Monitor, name: str, **labels: str) -> float:
    value = monitor.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _records(directory: Path) -> int:
    return sum(len(spool.read(p).outcomes) for p in directory.glob("journal-*.jsonl"))


# unreadable records ---------------------------------------------------------------


async def test_unreadable_records_are_logged_counted_and_kept(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = await _check(sessionmaker)
    good = [spool.encode(o) for o in _outcomes(check, 3)]
    not_json = b'{"result_row": {"uid": "half'
    wrong = json.dumps({"result_row": {"uid": "u1"}, "colour": "blue"}).encode()
    path = tmp_path / "journal-000000000007.jsonl"
    path.write_bytes(
        spool.HEADER + good[0] + not_json + b"\n" + good[1] + wrong + b"\n" + good[2] + b"[1, 2"
    )
    monitor = Monitor(Settings(database_url=db_url, spool_dir=tmp_path), sessionmaker)
    with caplog.at_level(logging.ERROR):
        await monitor.start()
    try:
        assert _sample(monitor, "thongsuot_spool_rejected_total") == 3
    finally:
        await monitor.stop()
    assert await _rows(sessionmaker) == 3  # the readable ones are written
    logged = [r.getMessage() for r in caplog.records]
    for line in (3, 5, 7):  # the header is line 1
        assert any(f"{path}:{line}: unreadable outcome record" in m for m in logged), logged
    kept = path.with_name(path.name + ".rejected").read_text(encoding="utf-8")
    assert '"colour": "blue"' in kept
    assert '{"result_row": {"uid": "half' in kept
    assert "[1, 2" in kept
    assert not path.exists()  # its readable records are written; the rest is set aside


async def test_a_file_in_an_unknown_format_version_is_set_aside_whole(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    future = json.dumps({"format": spool.FORMAT, "version": 99}).encode() + b"\n"
    body = b"".join(spool.encode(o) for o in _outcomes(check, 2))
    path = tmp_path / "journal-000000000001.jsonl"
    path.write_bytes(future + body)
    monitor = Monitor(Settings(database_url=db_url, spool_dir=tmp_path), sessionmaker)
    await monitor.start()
    try:
        assert _sample(monitor, "thongsuot_spool_rejected_total") == 2
    finally:
        await monitor.stop()
    assert await _rows(sessionmaker) == 0
    assert path.with_name(path.name + ".rejected").read_bytes() == future + body


async def test_version_0_spool_of_the_first_release_is_still_read(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    lines = [_version_0_line(o) for o in _outcomes(check, 4)]
    (tmp_path / spool.FILE).write_text("".join(lines), encoding="utf-8")
    monitor = Monitor(Settings(database_url=db_url, spool_dir=tmp_path), sessionmaker)
    await monitor.start()
    await monitor.stop()
    assert await _rows(sessionmaker) == 4
    assert not (tmp_path / spool.FILE).exists()


def _version_0_line(outcome: Outcome) -> str:
    """A line as the first spool wrote it: datetimes as {"$dt": ...}, an ``extra`` field."""
    record = outcome_to_record(outcome)
    for row in record.values():
        for key, value in (row or {}).items():
            if key in TIMES and value is not None:
                row[key] = {"$dt": datetime.fromisoformat(value).isoformat()}
    return json.dumps({**record, "extra": {}}, ensure_ascii=False) + "\n"


TIMES = {"at", "state_since", "streak_started_at", "last_result_at", "last_beat_at", "started_at"}


# a full disk ----------------------------------------------------------------------


@pytest.mark.slow
async def test_a_full_disk_at_stop_counts_what_is_lost_and_the_stop_goes_on(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = await _check(sessionmaker)
    db = Switchable(sessionmaker)
    settings = Settings(database_url=db_url, spool_dir=small_disk, flush_interval_s=0.05)
    monitor = Monitor(settings, db)  # type: ignore[arg-type]
    await monitor.start()
    assert _sample(monitor, "thongsuot_spool_healthy") == 1
    db.away = True
    outcomes = _outcomes(check, 200)  # ~200 KiB: three times what the disk holds
    for outcome in outcomes:
        monitor.pipeline.put(outcome)
    with caplog.at_level(logging.ERROR):
        await monitor.stop()  # must not raise
    lost = _sample(monitor, "thongsuot_results_lost_total", reason="disk_full")
    kept = _records(small_disk)
    assert lost > 0
    assert kept + lost == len(outcomes)
    assert _sample(monitor, "thongsuot_spool_healthy") == 0
    assert any(f"{int(lost)} outcomes lost (disk_full)" in r.getMessage() for r in caplog.records)
    # the kept ones are written on the next start, once the database is back
    db.away = False
    again = Monitor(settings, sessionmaker)
    await again.start()
    await again.stop()
    assert await _rows(sessionmaker) == kept


async def test_a_full_disk_while_running_keeps_results_in_memory_and_recovers(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], small_disk: Path
) -> None:
    check = await _check(sessionmaker)
    settings = Settings(database_url=db_url, spool_dir=small_disk, flush_interval_s=0.05)
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    filler = small_disk / "filler"
    try:
        with filler.open("wb") as fh:  # someone else fills the disk
            fh.write(b"x" * (64 * 1024))
    except OSError:
        pass
    try:
        for outcome in _outcomes(check, 20):
            monitor.pipeline.put(outcome)
        await monitor.pipeline.flush()
        assert _sample(monitor, "thongsuot_spool_healthy") == 0
        assert await _rows(sessionmaker) == 20  # still written, from memory
        filler.unlink()
        later = datetime.now(UTC) - timedelta(hours=1)
        for outcome in _outcomes(check, 5, later):
            monitor.pipeline.put(outcome)
        await monitor.pipeline.flush()
        assert _sample(monitor, "thongsuot_spool_healthy") == 1
    finally:
        await monitor.stop()
    assert await _rows(sessionmaker) == 25


# a read-only directory --------------------------------------------------------------


async def test_a_read_only_directory_with_pending_outcomes_does_not_stop_start(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], small_disk: Path
) -> None:
    check = await _check(sessionmaker)
    spool.save(small_disk, _outcomes(check, 5))
    _remount_ro(small_disk)
    monitor = Monitor(Settings(database_url=db_url, spool_dir=small_disk), sessionmaker)
    await monitor.start()
    try:
        assert monitor.ready
        assert _sample(monitor, "thongsuot_spool_healthy") == 0
        assert await _rows(sessionmaker) == 5  # read and written all the same
    finally:
        await monitor.stop()
    assert (small_disk / spool.FILE).exists()  # could not be removed: replayed once more, harmless


# another database -------------------------------------------------------------------


async def test_a_journal_is_never_replayed_into_another_database(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    theirs = Journal(tmp_path, database=database_identity("sqlite:////elsewhere/demo.db"))
    theirs.open()
    assert await theirs.append(_outcomes(check, 3))
    theirs._close_lock()  # the other process was killed: its segment stays
    monitor = Monitor(Settings(database_url=db_url, spool_dir=tmp_path), sessionmaker)
    await monitor.start()
    await monitor.stop()
    assert await _rows(sessionmaker) == 0
    assert _records(tmp_path) == 3  # kept for the database they belong to
    again = Journal(tmp_path, database=theirs.database)
    assert len(again.open()) == 3
    again.close()


# a long outage ------------------------------------------------------------------------


async def test_a_long_outage_keeps_the_journal_near_what_is_still_unwritten(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Samples dropped from a full buffer leave the journal too: segments are
    compacted around the flips they keep, instead of staying whole."""
    check = await _check(sessionmaker)
    db = Switchable(sessionmaker)
    db.away = True
    journal = Journal(tmp_path, segment_bytes=8192)
    pipe = ResultPipeline(db, capacity=50, journal=journal, flush_interval=0.05, max_backoff=0.05)  # type: ignore[arg-type]
    pipe.start()
    cs = CheckState(check.id, check.unit_id)
    up, down = ProbeResult.up(0.01), ProbeResult.down(ErrorKind.CONNECT, "refused")
    t0 = datetime.now(UTC) - timedelta(hours=3)
    outcomes = [
        apply_result(cs, down if (i // 10) % 2 else up, t0 + timedelta(seconds=i))
        for i in range(2000)
    ]  # a flip every ten results
    for i in range(0, len(outcomes), 20):
        for outcome in outcomes[i : i + 20]:
            pipe.put(outcome)
        await pipe.flush_journal()
    on_disk, unwritten = _records(tmp_path), pipe.depth
    flips = sum(1 for o in outcomes if o.flip_row is not None)
    assert unwritten >= flips  # flips are never dropped
    assert on_disk <= 2 * unwritten + 100, (on_disk, unwritten)
    await pipe.stop(grace=0.2)  # the database is still away: the journal keeps it all
    again = ResultPipeline(sessionmaker, journal=Journal(tmp_path))
    restored = again.restore()  # compacted, in order, nothing unwritten missing
    assert unwritten <= restored <= 2 * unwritten + 100
    await again.flush()
    await again.stop()
    async with sessionmaker() as s:
        written = (await s.execute(select(func.count()).select_from(Flip))).scalar_one()
        row = await s.get(Check, check.id)
    assert written == flips
    assert await _rows(sessionmaker) == restored  # (and a few dropped samples come back)
    assert row is not None
    assert row.state == outcomes[-1].check_row["state"]  # replayed in order


# the hand-over at stop -------------------------------------------------------------


class SlowJournal(Journal):
    """A real journal whose appends take longer than the writer's flush interval
    (a busy disk): what put() took reaches the buffer only after the writer woke."""

    async def append(self, outcomes: Any) -> bool:
        await asyncio.sleep(0.3)
        return await super().append(outcomes)


async def test_a_slow_last_journal_append_is_still_written_at_stop_not_spooled(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    check = await _check(sessionmaker)
    pipe = ResultPipeline(sessionmaker, journal=SlowJournal(tmp_path), flush_interval=0.05)
    pipe.start()
    (outcome,) = _outcomes(check, 1)
    pipe.put(outcome)
    await pipe.stop()  # the database is there: the last outcome is written, not journaled
    assert await _rows(sessionmaker) == 1
    assert _records(tmp_path) == 0
