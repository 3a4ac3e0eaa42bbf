"""The result pipeline: a bounded buffer and a batch writer that survives outages.

Probing never waits for the database (docs/design.md §6.4). Outcomes wait in
memory until written; a failed batch stays at the head of the buffer and is
retried with backoff, idempotently, so every result lands exactly once. When the
buffer is full the oldest *sample-only* result is dropped (and counted); flips
are never dropped.

With a journal (app/monitor/journal.py) an outcome is first appended and
fsynced to local disk, every ``journal_flush`` seconds or ``journal_batch``
outcomes; only then is it accepted (counted) and handed to the writer, and it is
released from the journal once its batch has committed. A ``kill -9`` therefore
loses no accepted outcome, and a stop with the database away has nothing more to
save. A journal that cannot write fails safe: outcomes stay in memory, and what
is still unwritten at stop is counted as lost, by reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.monitor.evaluator import Outcome
from app.monitor.journal import Journal
from app.monitor.writer import (
    dead_letter_row,
    describe_error,
    is_data_error,
    write_dead_letter,
    write_fenced,
)

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    results_written: int = 0
    flips_written: int = 0
    incidents_opened: int = 0
    dropped: int = 0
    accepted: int = 0
    lost: int = 0
    write_errors: int = 0
    batches: int = 0
    write_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    last_error: str = ""
    last_write_ok_at: float | None = None
    dead_lettered: int = 0
    # probed under a shard lease another replica holds now: the batch writer
    # refused their state effects (flips, incidents, check state) ...
    fenced: int = 0
    # ... and stored their samples as history, these ones newly
    fenced_kept: int = 0
    # monotonic time of the first failed write since the last good one (None: writing)
    failing_since: float | None = None


WriteHook = Callable[[float, dict[str, int]], None]
LostHook = Callable[[str, int], None]
STOP_PIECE = 16  # outcomes per journal append at stop


class ResultPipeline:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        capacity: int = 200_000,
        batch_size: int = 1_000,
        flush_interval: float = 1.0,
        max_backoff: float = 30.0,
        on_write: WriteHook | None = None,
        on_error: Callable[[], None] | None = None,
        on_drop: Callable[[], None] | None = None,
        on_dead_letter: Callable[[], None] | None = None,
        spool_dir: Path | None = None,
        journal: Journal | None = None,
        journal_sync: bool = True,
        journal_flush: float = 0.05,
        journal_batch: int = 1_000,
        on_accept: Callable[[int], None] | None = None,
        on_lost: LostHook | None = None,
    ) -> None:
        self._sm = sessionmaker
        self._buf: deque[Outcome] = deque()
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._drained = False  # stopping, and the journal handed over all put() took
        self._inflight = 0
        self._write_lock = asyncio.Lock()
        self._on_write = on_write
        self._on_error = on_error
        self._on_drop = on_drop
        self._on_dead_letter = on_dead_letter
        if journal is None and spool_dir is not None:
            journal = Journal(spool_dir)
        self.journal = journal
        self._sync = journal is not None and journal_sync
        self._unjournaled: list[Outcome] = []  # taken by put(), not yet on disk
        self._journal_flush = journal_flush
        self._journal_batch = journal_batch
        self._journal_wakeup = asyncio.Event()
        self._journal_task: asyncio.Task[None] | None = None
        self._journaling = False
        self._on_accept = on_accept
        self._on_lost = on_lost
        self.stats = PipelineStats()

    @property
    def depth(self) -> int:
        return len(self._buf) + len(self._unjournaled)

    def put(self, outcome: Outcome) -> None:
        """Queue one outcome; never blocks, never raises."""
        if self.depth >= self._capacity:
            self._drop_one_sample()
        if self._sync:
            self._unjournaled.append(outcome)
            if len(self._unjournaled) >= self._journal_batch:
                self._journal_wakeup.set()
            return
        self._accept([outcome])

    def _accept(self, outcomes: list[Outcome]) -> None:
        self._buf.extend(outcomes)
        self.stats.accepted += len(outcomes)
        if self._on_accept:
            self._on_accept(len(outcomes))
        if len(self._buf) >= self._batch_size:
            self._wakeup.set()

    def _drop_one_sample(self) -> None:
        # Never touch the batch being written: its items are popped on success.
        for i in range(self._inflight, len(self._buf)):
            if not self._buf[i].durable:
                self._release([self._buf[i]])
                del self._buf[i]
                self.stats.dropped += 1
                if self._on_drop:
                    self._on_drop()
                return
        # only flips are left: grow past capacity rather than lose one

    def start(self) -> None:
        if self.journal is not None and not self.journal.opened:
            self.restore()
        self._task = asyncio.create_task(self._run(), name="result-writer")
        if self._sync:
            self._journal_task = asyncio.create_task(self._journal_run(), name="result-journal")

    async def stop(self, grace: float = 30.0) -> None:
        """Flush what is buffered (bounded by ``grace`` seconds), then stop.

        Never raises: what can be neither written nor journaled is counted as lost."""
        self._stopping = True
        self._journal_wakeup.set()
        if self._journal_task is not None:
            try:
                await self._journal_task  # what put() took is journaled (or in memory)
            except Exception:
                log.exception("the journal task failed")
        await self._journal_now()
        self._drained = True  # only now may the writer end on an empty buffer
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self._spool_rest()
        if self.journal is not None:
            self.journal.close()

    async def _spool_rest(self) -> None:
        """Journal what is still unwritten and not on disk yet; count what cannot be."""
        if not self._buf:
            return
        journal = self.journal
        if journal is not None and not journal.opened:
            self.restore()
        kept = sum(1 for o in self._buf if journal.holds(o)) if journal is not None else 0
        loose = [o for o in self._buf if journal is None or not journal.holds(o)]
        self._buf.clear()
        while loose and journal is not None:  # in small pieces: on a full disk keep what fits
            piece = loose[:STOP_PIECE]
            if not await journal.append(piece):
                break
            kept, loose = kept + len(piece), loose[STOP_PIECE:]
        if kept:
            log.warning("database unreachable at stop: %d outcomes kept in the journal", kept)
        if loose:
            reason = "no_data_dir" if journal is None else _reason(journal.problem)
            log.error("result writer stopped: %d outcomes lost (%s)", len(loose), reason)
            self.stats.lost += len(loose)
            if self._on_lost:
                self._on_lost(reason, len(loose))

    def restore(self) -> int:
        """Open the journal; put what an earlier run left at the head of the buffer."""
        if self.journal is None or self.journal.opened:
            return 0
        outcomes = self.journal.open()
        self._buf.extendleft(reversed(outcomes))
        return len(outcomes)

    # the journal ------------------------------------------------------------
    async def _journal_run(self) -> None:
        while not self._stopping:
            await self._sleep_journal()
            try:
                await self._journal_now()
            except Exception:  # a bug must not stop the outcomes reaching the writer
                log.exception("journal append failed unexpectedly")

    async def _sleep_journal(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._journal_wakeup.wait(), self._journal_flush)
        self._journal_wakeup.clear()

    async def flush_journal(self) -> None:
        """Journal what put() took, now (tests; the journal task does it every flush)."""
        await self._journal_now()

    async def _journal_now(self) -> None:
        """Append what put() took since the last time; accept it once it is on disk."""
        if not self._unjournaled:
            return
        batch, self._unjournaled = self._unjournaled, []
        assert self.journal is not None
        self._journaling = True
        try:
            await self.journal.append(batch)  # on failure: in memory only (health is 0)
        finally:
            self._journaling = False
            self._accept(batch)

    def _release(self, outcomes: list[Outcome]) -> None:
        """``outcomes`` are committed (or dropped): the journal no longer needs them.

        Every path that takes outcomes out of the buffer calls this."""
        journal = self.journal
        if journal is None:
            return
        journal.release(outcomes)
        if not self._buf and not self._unjournaled and not self._journaling:
            journal.release_all()  # drained: nothing on disk is still needed

    async def flush(self) -> None:
        """Write everything buffered now (used by tests and on stop)."""
        await self._journal_now()
        while self._buf:
            if not await self._write_once():
                raise RuntimeError(f"flush failed: {self.stats.last_error}")

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            if not self._buf:
                if self._drained:  # not merely stopping: a slow journal append may
                    return  # still be handing the last outcomes over
                await self._sleep(self._flush_interval)
                continue
            if await self._write_once():
                backoff = 0.5
                if len(self._buf) < self._batch_size and not self._stopping:
                    await self._sleep(self._flush_interval)
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    async def _write_once(self) -> bool:
        # flush() and the writer task may both get here: one batch at a time, or
        # both would pop the same head items.
        async with self._write_lock:
            if not self._buf:
                return True
            return await self._write_head()

    async def _write_head(self) -> bool:
        batch = [self._buf[i] for i in range(min(self._batch_size, len(self._buf)))]
        start = time.perf_counter()
        self._inflight = len(batch)
        progress = _Progress()
        try:
            await self._write_isolating(batch, progress)
        except Exception as exc:  # the database went away: keep what is left and retry
            self._write_failed(exc)
            return False
        finally:
            self._inflight = 0
            self._pop_done(progress.done)
            if progress.done:
                self._record(time.perf_counter() - start, progress.counts)
        self.stats.failing_since = None
        return True

    async def _write_isolating(self, batch: list[Outcome], progress: _Progress) -> None:
        """Write ``batch`` in one transaction; if its *data* is refused, split it in
        halves and write each, down to the one outcome that is refused, which goes
        to the dead-letter table. Any other failure propagates (the caller retries)
        with ``progress`` saying how many head outcomes are done (written or set
        aside): halves are written in order, so the done ones are always a prefix."""
        try:
            counts = await write_fenced(self._sm, batch)
        except Exception as exc:
            if not is_data_error(exc):
                raise
            if len(batch) == 1:
                await self._dead_letter(batch[0], exc)
            else:
                log.warning(
                    "a batch of %d refused for its data, splitting it: %s",
                    len(batch),
                    describe_error(exc)[:300],
                )
                mid = len(batch) // 2
                await self._write_isolating(batch[:mid], progress)
                await self._write_isolating(batch[mid:], progress)
                return
            counts = {}
        progress.advance(len(batch), counts)

    async def _dead_letter(self, outcome: Outcome, exc: BaseException) -> None:
        error = describe_error(exc)
        try:
            async with self._sm() as session, session.begin():
                await write_dead_letter(session, outcome, exc)
        except Exception as again:
            if not is_data_error(again):
                raise  # connection trouble: the outcome stays at the head, retried
            log.error(
                "outcome refused (%s) and not storable as a dead letter (%s); dropped: %s",
                error,
                describe_error(again),
                dead_letter_row(outcome, exc)["record"],
            )
        else:
            log.error(
                "outcome %s of check %s set aside as a dead letter: %s",
                outcome.result_row.get("uid"),
                outcome.result_row.get("check_id"),
                error,
            )
        self.stats.dead_lettered += 1
        if self._on_dead_letter:
            self._on_dead_letter()

    def _pop_done(self, n: int) -> None:
        done = [self._buf.popleft() for _ in range(n)]
        if done:
            self._release(done)

    def _write_failed(self, exc: BaseException) -> None:
        self.stats.write_errors += 1
        self.stats.last_error = describe_error(exc)[:300]
        if self.stats.failing_since is None:
            self.stats.failing_since = time.monotonic()
        log.warning("batch write failed (%d buffered): %s", len(self._buf), self.stats.last_error)
        if self._on_error:
            self._on_error()

    def write_failing_for(self, now: float | None = None) -> float:
        """Seconds since writes started failing without one succeeding; 0 when writing."""
        since = self.stats.failing_since
        if since is None:
            return 0.0
        return max(0.0, (time.monotonic() if now is None else now) - since)

    def _record(self, elapsed: float, counts: dict[str, int]) -> None:
        s = self.stats
        s.batches += 1
        s.results_written += counts["probe_result"]
        s.flips_written += counts["flip"]
        s.incidents_opened += counts["incident"]
        if counts.get("fenced"):
            s.fenced += counts["fenced"]
            s.fenced_kept += counts.get("fenced_kept", 0)
            log.warning(
                "%d results probed under a shard lease that moved: their state effects are "
                "left to the new owner, %d samples stored as history",
                counts["fenced"],
                counts.get("fenced_kept", 0),
            )
        s.write_seconds.append(elapsed)
        s.last_write_ok_at = time.monotonic()
        if self._on_write:
            self._on_write(elapsed, counts)


@dataclass
class _Progress:
    """How far one head batch got: outcomes done (a prefix) and rows written."""

    done: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"probe_result": 0, "flip": 0, "incident": 0}
    )

    def advance(self, n: int, counts: dict[str, int]) -> None:
        self.done += n
        for table, rows in counts.items():
            self.counts[table] = self.counts.get(table, 0) + rows


def _reason(problem: str) -> str:
    """The ``reason`` label from the journal's last problem ("...: disk_full: ...")."""
    for reason in ("disk_full", "read_only", "locked", "io_error"):
        if f": {reason}: " in problem:
            return reason
    return "io_error"
