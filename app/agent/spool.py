"""The agent's on-disk queue: every result goes here first, the pusher drains it.

SQLite in WAL mode (stdlib ``sqlite3`` on one worker thread, so the event loop never
waits on the disk). ``synchronous=NORMAL``: a commit is in the WAL before ``put``
returns, so a killed process (kill -9, OOM) loses nothing; only a power cut can lose
the last commits since the previous checkpoint, and never corrupts the file. FULL
would add an fsync per result on an SD card for that last few seconds.

Bounded by age (``max_age``) and by the results' encoded size (``max_bytes``): the
oldest are dropped and counted; the count is persisted and reported in the next batch
(``"spool": {"dropped": n, ...}``) until central has accepted it.

The batch in flight is kept in the ``meta`` table with its Idempotency-Key, so after
a restart the same batch is sent again under the same key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS result (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(slots=True)
class Batch:
    """Results sent together under one Idempotency-Key."""

    key: str
    seqs: list[int]
    results: list[dict[str, Any]]
    dropped: int  # dropped results reported with this batch
    spool: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"results": self.results, "spool": self.spool}


@dataclass(slots=True)
class SpoolStats:
    depth: int = 0
    bytes: int = 0
    oldest_at: float | None = None
    dropped_total: int = 0  # since the spool file was made
    dropped_unreported: int = 0


class Spool:
    def __init__(self, directory: Path, *, max_age_s: float, max_bytes: int) -> None:
        self.path = directory / "spool.sqlite3"
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db: sqlite3.Connection | None = None
        self.stats = SpoolStats()
        self._pending_hi = 0  # seqs up to here are in the batch in flight: never dropped

    # plumbing ------------------------------------------------------------------
    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "spool is not open"
        return self._db

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        self._db = db
        row = db.execute("SELECT count(*), coalesce(sum(size), 0), min(at) FROM result").fetchone()
        self.stats.depth, self.stats.bytes, self.stats.oldest_at = row
        self.stats.dropped_total = int(self._meta("dropped_total") or 0)
        self.stats.dropped_unreported = int(self._meta("dropped_unreported") or 0)
        pending = self._meta("pending")
        if pending:
            self._pending_hi = max(json.loads(pending)["seqs"], default=0)

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._close)
        self._pool.shutdown(wait=True)

    def _close(self) -> None:
        self.db.close()
        self._db = None

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # writing ---------------------------------------------------------------------
    async def put(self, result: dict[str, Any]) -> int:
        """Queue one result (its ``at`` is the agent's clock); returns how many are dropped."""
        return int(await self._call(self._put, result))

    def _put(self, result: dict[str, Any]) -> int:
        body = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        size = len(body.encode())
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO result (at, body, size) VALUES (?, ?, ?)",
                (float(result["at"]), body, size),
            )
            self.stats.depth += 1
            self.stats.bytes += size
            if self.stats.oldest_at is None:
                self.stats.oldest_at = float(result["at"])
            dropped = self._bound(time.time())
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._reload_stats()
            raise
        return dropped

    async def enforce_bounds(self, now: float | None = None) -> int:
        """Drop results older than ``max_age``; returns how many went."""
        return int(await self._call(self._enforce, time.time() if now is None else now))

    def _enforce(self, now: float) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            dropped = self._bound(now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._reload_stats()
            raise
        return dropped

    def _bound(self, now: float) -> int:
        """Inside a transaction: drop the oldest past the age or the size bound."""
        db, dropped = self.db, 0
        cur = db.execute(
            "DELETE FROM result WHERE at < ? AND seq > ? RETURNING size",
            (now - self.max_age_s, self._pending_hi),
        )
        sizes = [r[0] for r in cur.fetchall()]
        dropped += len(sizes)
        self.stats.bytes -= sum(sizes)
        while self.stats.bytes > self.max_bytes:
            # the oldest first, in chunks; the batch in flight stays
            rows = db.execute(
                "SELECT seq, size FROM result WHERE seq > ? ORDER BY seq LIMIT 256",
                (self._pending_hi,),
            ).fetchall()
            if not rows:
                break
            over, cut = self.stats.bytes - self.max_bytes, []
            for seq, size in rows:
                cut.append(seq)
                over -= size
                if over <= 0:
                    break
            hi = cut[-1]
            gone = db.execute(
                "DELETE FROM result WHERE seq > ? AND seq <= ? RETURNING size",
                (self._pending_hi, hi),
            ).fetchall()
            dropped += len(gone)
            self.stats.bytes -= sum(r[0] for r in gone)
        if dropped:
            self.stats.depth -= dropped
            self.stats.dropped_total += dropped
            self.stats.dropped_unreported += dropped
            self._set_meta("dropped_total", str(self.stats.dropped_total))
            self._set_meta("dropped_unreported", str(self.stats.dropped_unreported))
            self.stats.oldest_at = db.execute("SELECT min(at) FROM result").fetchone()[0]
        return dropped

    def _reload_stats(self) -> None:
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(size), 0), min(at) FROM result"
        ).fetchone()
        self.stats.depth, self.stats.bytes, self.stats.oldest_at = row

    # reading -------------------------------------------------------------------------
    async def next_batch(self, limit: int) -> Batch | None:
        """The batch in flight (after a restart too), else the oldest ``limit`` results
        under a new key; ``None`` when there is nothing to send (no results, no drops)."""
        return await self._call(self._next_batch, limit)  # type: ignore[no-any-return]

    def _next_batch(self, limit: int) -> Batch | None:
        if (pending := self._meta("pending")) is not None:
            p = json.loads(pending)
            return Batch(p["key"], p["seqs"], p["results"], p["dropped"], p["spool"])
        rows = self.db.execute(
            "SELECT seq, body FROM result ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        if not rows and not self.stats.dropped_unreported:
            return None
        dropped = self.stats.dropped_unreported
        spool = {"dropped": dropped, "depth": self.stats.depth, "oldest_at": self.stats.oldest_at}
        batch = Batch(
            uuid.uuid4().hex, [r[0] for r in rows], [json.loads(r[1]) for r in rows], dropped, spool
        )
        self._save_pending(batch)
        return batch

    def _save_pending(self, batch: Batch) -> None:
        self._set_meta(
            "pending",
            json.dumps(
                {
                    "key": batch.key,
                    "seqs": batch.seqs,
                    "results": batch.results,
                    "dropped": batch.dropped,
                    "spool": batch.spool,
                },
                separators=(",", ":"),
            ),
        )
        self._pending_hi = max(batch.seqs, default=self._pending_hi)

    async def acknowledge(self, batch: Batch) -> None:
        """Central stored ``batch`` (200): delete its results and its reported drops."""
        await self._call(self._ack, batch)

    def _ack(self, batch: Batch) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            gone: list[Any] = []
            for start in range(0, len(batch.seqs), 500):
                part = batch.seqs[start : start + 500]
                marks = ",".join("?" * len(part))
                gone += db.execute(
                    f"DELETE FROM result WHERE seq IN ({marks}) RETURNING size", part
                ).fetchall()
            self.stats.dropped_unreported = max(0, self.stats.dropped_unreported - batch.dropped)
            self._set_meta("dropped_unreported", str(self.stats.dropped_unreported))
            self._set_meta("pending", None)
            db.execute("COMMIT")
            self._pending_hi = 0
        except BaseException:
            db.execute("ROLLBACK")
            self._reload_stats()
            raise
        self.stats.depth -= len(gone)
        self.stats.bytes -= sum(r[0] for r in gone)
        self.stats.oldest_at = db.execute("SELECT min(at) FROM result").fetchone()[0]

    async def discard_pending(self, *, keep: bool) -> None:
        """Forget the batch in flight: its results go back to the queue (``keep``, sent
        again under new keys, e.g. split after a 413) or are deleted (refused for good)."""
        await self._call(self._discard, keep)

    def _discard(self, keep: bool) -> None:
        pending = self._meta("pending")
        if pending is None:
            return
        if not keep:
            p = json.loads(pending)
            self._pending_hi = 0
            self._ack(Batch(p["key"], p["seqs"], [], 0))
            return
        self._set_meta("pending", None)
        self._pending_hi = 0

    async def replace_pending(self, batch: Batch, results: list[dict[str, Any]]) -> Batch:
        """The batch in flight without some results (refused for good): a new key, and
        the refused ones deleted."""
        return await self._call(self._replace, batch, results)  # type: ignore[no-any-return]

    def _replace(self, batch: Batch, results: list[dict[str, Any]]) -> Batch:
        keep_uids = {r["uid"] for r in results}
        keep_seqs = [
            s for s, r in zip(batch.seqs, batch.results, strict=True) if r["uid"] in keep_uids
        ]
        gone = [s for s in batch.seqs if s not in set(keep_seqs)]
        self._set_meta("pending", None)
        self._ack(Batch(batch.key, gone, [], 0))
        new = Batch(uuid.uuid4().hex, keep_seqs, results, batch.dropped, batch.spool)
        self._save_pending(new)
        return new
