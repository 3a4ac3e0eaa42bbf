"""The result pipeline: a bounded buffer and a batch writer that survives outages.

Probing never waits for the database (docs/design.md §6.4). Outcomes wait in
memory until written; a failed batch stays at the head of the buffer and is
retried with backoff, idempotently, so every result lands exactly once. When the
buffer is full the oldest *sample-only* result is dropped (and counted); flips
are never dropped.
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

from app.monitor import spool
from app.monitor.evaluator import Outcome
from app.monitor.writer import write_batch

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    results_written: int = 0
    flips_written: int = 0
    incidents_opened: int = 0
    dropped: int = 0
    write_errors: int = 0
    batches: int = 0
    write_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    last_error: str = ""
    last_write_ok_at: float | None = None


WriteHook = Callable[[float, dict[str, int]], None]


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
        spool_dir: Path | None = None,
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
        self._inflight = 0
        self._write_lock = asyncio.Lock()
        self._on_write = on_write
        self._on_error = on_error
        self._on_drop = on_drop
        self._spool_dir = spool_dir
        self.stats = PipelineStats()

    @property
    def depth(self) -> int:
        return len(self._buf)

    def put(self, outcome: Outcome) -> None:
        """Queue one outcome; never blocks, never raises."""
        if len(self._buf) >= self._capacity:
            self._drop_one_sample()
        self._buf.append(outcome)
        if len(self._buf) >= self._batch_size:
            self._wakeup.set()

    def _drop_one_sample(self) -> None:
        # Never touch the batch being written: its items are popped on success.
        for i in range(self._inflight, len(self._buf)):
            if not self._buf[i].durable:
                del self._buf[i]
                self.stats.dropped += 1
                if self._on_drop:
                    self._on_drop()
                return
        # only flips are left: grow past capacity rather than lose one

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="result-writer")

    async def stop(self, grace: float = 30.0) -> None:
        """Flush what is buffered (bounded by ``grace`` seconds), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._spool_rest()

    def _spool_rest(self) -> None:
        if not self._buf:
            return
        if self._spool_dir is None:
            log.error("result writer stopped with %d outcomes unwritten", len(self._buf))
            return
        n = spool.save(self._spool_dir, self._buf)
        self._buf.clear()
        log.warning("database unreachable at stop: %d outcomes spooled to %s", n, self._spool_dir)

    def restore(self) -> int:
        """Put outcomes spooled by an earlier stop at the head of the buffer."""
        if self._spool_dir is None:
            return 0
        outcomes = spool.load(self._spool_dir)
        self._buf.extendleft(reversed(outcomes))
        return len(outcomes)

    async def flush(self) -> None:
        """Write everything buffered now (used by tests and on stop)."""
        while self._buf:
            if not await self._write_once():
                raise RuntimeError(f"flush failed: {self.stats.last_error}")

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            if not self._buf:
                if self._stopping:
                    return
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
        try:
            async with self._sm() as session, session.begin():
                counts = await write_batch(session, batch)
        except Exception as exc:  # the database went away; keep the batch and retry
            self.stats.write_errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning(
                "batch write failed (%d buffered): %s", len(self._buf), self.stats.last_error
            )
            if self._on_error:
                self._on_error()
            return False
        finally:
            self._inflight = 0
        for _ in batch:
            self._buf.popleft()
        self._record(time.perf_counter() - start, counts)
        return True

    def _record(self, elapsed: float, counts: dict[str, int]) -> None:
        s = self.stats
        s.batches += 1
        s.results_written += counts["probe_result"]
        s.flips_written += counts["flip"]
        s.incidents_opened += counts["incident"]
        s.write_seconds.append(elapsed)
        s.last_write_ok_at = time.monotonic()
        if self._on_write:
            self._on_write(elapsed, counts)
