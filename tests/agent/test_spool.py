from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from app.agent.spool import Spool

MiB = 1024**2


def _result(check_id: int, slot: int, at: float, pad: int = 0) -> dict[str, Any]:
    return {
        "uid": uuid.uuid4().hex,
        "check_id": check_id,
        "slot": slot,
        "at": at,
        "status": "up",
        "latency_ms": 1.5,
        "error_kind": None,
        "message": "x" * pad,
        "details": {},
    }


async def test_batches_in_order_deleted_after_ack(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_age_s=3600, max_bytes=MiB)
    await spool.open()
    now = time.time()
    for i in range(7):
        await spool.put(_result(17, i, now + i))
    first = await spool.next_batch(3)
    assert first is not None
    assert [r["slot"] for r in first.results] == [0, 1, 2]
    again = await spool.next_batch(3)  # not acknowledged: the same batch, the same key
    assert again is not None
    assert (again.key, again.seqs) == (first.key, first.seqs)
    await spool.acknowledge(first)
    second = await spool.next_batch(3)
    assert second is not None
    assert second.key != first.key
    assert [r["slot"] for r in second.results] == [3, 4, 5]
    assert spool.stats.depth == 4
    await spool.close()


async def test_bounded_by_bytes_oldest_dropped_counted_reported(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_age_s=3600, max_bytes=64 * 1024)
    await spool.open()
    now = time.time()
    dropped = 0
    for i in range(200):  # ~1 kB each: about 3x the bound
        dropped += await spool.put(_result(17, i, now + i, pad=1000))
    assert dropped > 100
    assert spool.stats.bytes <= 64 * 1024
    assert spool.stats.depth == 200 - dropped
    assert spool.stats.dropped_unreported == dropped
    batch = await spool.next_batch(500)
    assert batch is not None
    assert batch.results[0]["slot"] == dropped  # the oldest went first
    assert batch.results[-1]["slot"] == 199
    assert batch.spool["dropped"] == dropped
    assert batch.spool["depth"] == 200 - dropped
    await spool.acknowledge(batch)
    assert spool.stats.dropped_unreported == 0
    assert spool.stats.dropped_total == dropped
    await spool.close()


async def test_bounded_by_age_but_not_the_batch_in_flight(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_age_s=60, max_bytes=MiB)
    await spool.open()
    now = time.time()
    for i in range(6):
        await spool.put(_result(17, i, now + i))
    batch = await spool.next_batch(2)  # slots 0, 1 in flight
    assert batch is not None
    later = now + 100  # all six are older than 60 s by then; 0, 1 are in flight
    assert await spool.enforce_bounds(later) == 4
    assert spool.stats.dropped_unreported == 4
    await spool.acknowledge(batch)
    nothing_but_drops = await spool.next_batch(10)
    assert nothing_but_drops is not None
    assert nothing_but_drops.results == []
    assert nothing_but_drops.spool["dropped"] == 4
    await spool.close()


_WRITER = """
import asyncio, sys, time, uuid
from pathlib import Path
from app.agent.spool import Spool

async def main():
    spool = Spool(Path(sys.argv[1]), max_age_s=3600, max_bytes=2**20)
    await spool.open()
    for i in range(300):
        await spool.put({"uid": uuid.uuid4().hex, "check_id": 17, "slot": i, "at": time.time(),
                         "status": "up", "latency_ms": 1.0, "error_kind": None,
                         "message": "", "details": {}})
    batch = await spool.next_batch(100)
    print(batch.key, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_survives_kill_9(tmp_path: Path) -> None:
    """Every put() that returned is on disk after kill -9, and the batch in flight comes
    back with its Idempotency-Key."""
    proc = subprocess.Popen(  # noqa: ASYNC220 - a child to kill, read line by line
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        key = proc.stdout.readline().strip()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "spool.sqlite3-wal").exists()  # WAL mode, not yet checkpointed
    spool = Spool(tmp_path, max_age_s=3600, max_bytes=2**20)
    await spool.open()
    assert spool.stats.depth == 300
    batch = await spool.next_batch(100)
    assert batch is not None
    assert batch.key == key
    assert [r["slot"] for r in batch.results] == list(range(100))
    await spool.close()
