"""The outcome journal: an accepted outcome is on local disk before SQL has it.

The pipeline hands the journal the outcomes it took in the last few tens of
milliseconds; the journal appends them to the current segment file, flushes and
fsyncs, and only then does the pipeline count them as accepted and give them to
the batch writer. Once the writer's transaction has committed, the outcomes are
released; a segment whose outcomes are all released is deleted (or, for the
segment being appended to, truncated back to its header). After a crash —
``kill -9``, an OOM kill, a power cut — the next start reads every segment left
and writes it before check states are read from SQL. Inserts are idempotent by
uid, so outcomes that had in fact been written are written again harmlessly.

The same files are the spool of a stop with the database away: the buffered
outcomes are already in the journal, so a stop only has to close the file.

The journal fails safe: a full disk, a read-only or missing directory, or a
directory another process holds never stops the monitor. The outcomes then stay
in memory only, :attr:`Journal.healthy` goes false (``thongsuot_spool_healthy``)
and the failure is logged once; the next successful append restores it. Files
are in the format of :mod:`app.monitor.spool` (versioned JSON lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.monitor import spool
from app.monitor.evaluator import Outcome

log = logging.getLogger(__name__)

PREFIX = "journal-"
SUFFIX = ".jsonl"


def failure_reason(exc: OSError) -> str:
    """The ``reason`` label of a failed disk operation."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk_full"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "read_only"
    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
        return "locked"
    return "io_error"


@dataclass(eq=False)
class _Segment:
    path: Path
    pending: int = 0  # outcomes in this file the database has not committed yet
    records: int = 0  # outcome lines in the file


# A closed segment is rewritten without its released outcomes once fewer than
# this share of its lines are still pending (during a long outage nearly every
# segment keeps a flip, which is never dropped, and would otherwise stay whole).
COMPACT_BELOW = 0.5
_UID_PREFIX = b'{"result_row": {"uid": "'


def _line_uid(line: bytes) -> str | None:
    """The result uid of a record line (fast path for our own lines), or None."""
    if line.startswith(_UID_PREFIX):
        end = line.find(b'"', len(_UID_PREFIX))
        if end > 0:
            return line[len(_UID_PREFIX) : end].decode("ascii", errors="replace")
    try:
        uid = json.loads(line)["result_row"]["uid"]
    except (ValueError, TypeError, KeyError):
        return None
    return uid if isinstance(uid, str) else None


def _rewrite(path: Path, tmp: Path, keep: set[str]) -> int:
    """Copy ``path`` to ``tmp`` with only the lines whose uid is in ``keep`` (and any
    line that is not a record, to be judged on reading); fsync. Returns records kept."""
    kept = 0
    with path.open("rb") as src, tmp.open("wb") as dst:
        dst.write(src.readline())  # the header
        for line in src:
            uid = _line_uid(line)
            if uid is None or uid in keep:
                dst.write(line)
                kept += uid is not None
        dst.flush()
        os.fsync(dst.fileno())
    return kept


def _write_all(fd: int, data: bytes, size: int) -> None:
    """Append ``data`` and fsync; on failure cut the file back to ``size`` bytes."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise


def database_identity(url: str) -> str:
    """A short stable name for a database (password left out): journal files written
    for one database are never replayed into another (a demo's fresh SQLite file)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        u = u.set(database=str(Path(u.database).absolute()))
    name = f"{u.get_backend_name()}://{u.username or ''}@{u.host or ''}:{u.port or ''}/{u.database}"
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _seq(path: Path) -> int:
    try:
        return int(path.name[len(PREFIX) : -len(SUFFIX)])
    except ValueError:
        return -1


class Journal:
    """Segments ``journal-<seq>.jsonl`` in ``directory``, held with ``flock``."""

    def __init__(
        self,
        directory: Path,
        *,
        database: str = "",
        segment_bytes: int = 64 << 20,
        on_rejected: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.database = database
        self._header = spool.header(database)
        self.healthy = True
        self.problem = ""
        self._segment_bytes = segment_bytes
        self._on_rejected = on_rejected
        self._segments: dict[Path, _Segment] = {}
        self._where: dict[str, _Segment] = {}
        self._current: _Segment | None = None
        self._fd: int | None = None
        self._size = 0
        self._seq = 0
        self._lock_fd: int | None = None
        self._usable = False
        self._rotated = False
        self.opened = False
        self._append_lock = asyncio.Lock()

    # start and stop ----------------------------------------------------------
    def open(self) -> list[Outcome]:
        """Take the directory and return what earlier runs left, oldest first."""
        self.opened = True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._close_lock()
            self._failed("cannot take the journal directory", exc)
            return []
        self._usable = True
        outcomes = self._adopt()
        try:
            self._new_segment()  # proves the directory writable now, not at the first result
        except OSError as exc:
            self._failed("cannot start a journal segment", exc)
        return outcomes

    def close(self) -> None:
        """Close the segment; a segment with nothing left unwritten is removed."""
        if self._current is not None:
            self._close_current()
        self._usable = False
        self._close_lock()

    def _close_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    @property
    def usable(self) -> bool:
        return self._usable

    @property
    def unwritten(self) -> int:
        """Outcomes on disk that the database has not committed yet."""
        return sum(s.pending for s in self._segments.values())

    def holds(self, outcome: Outcome) -> bool:
        return outcome.result_row["uid"] in self._where

    # reading what an earlier run left ----------------------------------------
    def _files(self) -> list[Path]:
        legacy = self.directory / spool.FILE
        segments = sorted(self.directory.glob(f"{PREFIX}*{SUFFIX}"), key=_seq)
        return ([legacy] if legacy.exists() else []) + [p for p in segments if _seq(p) >= 0]

    def _adopt(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            files = self._files()
        except OSError as exc:
            self._failed("cannot list the journal directory", exc)
            return outcomes
        for path in files:
            self._seq = max(self._seq, _seq(path))
            try:
                reading = spool.read(path, self._on_rejected)
            except OSError as exc:
                self._failed(f"cannot read {path}", exc)
                continue
            if reading.rejected and not reading.kept:
                self._unhealthy(f"cannot set unreadable records of {path} aside")
            if self.database and reading.database not in ("", self.database):
                log.warning(
                    "%s holds %d outcomes for another database (%s, this one is %s): "
                    "kept, not replayed",
                    path, len(reading.outcomes), reading.database, self.database,
                )  # fmt: skip
                continue
            segment = _Segment(path)
            self._segments[path] = segment
            for outcome in reading.outcomes:
                uid = outcome.result_row["uid"]
                if uid not in self._where:  # the same outcome in two files: replay it once
                    self._where[uid] = segment
                    segment.pending += 1
                    outcomes.append(outcome)
            segment.records = len(reading.outcomes)
            if segment.pending == 0:
                self._remove(segment)
        if outcomes:
            log.warning(
                "%d outcomes from an earlier run found in %s", len(outcomes), self.directory
            )
        return outcomes

    # appending ---------------------------------------------------------------
    async def append(self, outcomes: Sequence[Outcome]) -> bool:
        """Append, flush and fsync ``outcomes``; False (logged, unhealthy) if not on disk."""
        if not outcomes or not self._usable:
            return False
        data = b"".join(map(spool.encode, outcomes))
        async with self._append_lock:
            try:
                fd, size, segment = self._prepare()
                await asyncio.to_thread(_write_all, fd, data, size)
            except OSError as exc:
                self._failed(f"cannot journal {len(outcomes)} outcomes", exc)
                if self._current is not None:
                    self._close_current()  # its tail may be torn: start afresh next time
                return False
        for outcome in outcomes:
            self._where[outcome.result_row["uid"]] = segment
        segment.pending += len(outcomes)
        segment.records += len(outcomes)
        self._size = size + len(data)
        if not self.healthy:
            self.healthy, self.problem = True, ""
            log.warning("outcome journal in %s is writable again", self.directory)
        if self._rotated:
            self._rotated = False
            await self._compact()
        return True

    async def _compact(self) -> None:
        """Rewrite the closed segments that are mostly released, keeping file order."""
        sparse = [
            s
            for s in self._segments.values()
            if s is not self._current and s.pending < s.records * COMPACT_BELOW
        ]
        if not sparse:
            return
        pending: dict[_Segment, set[str]] = {s: set() for s in sparse}
        for uid, segment in self._where.items():
            if segment in pending:
                pending[segment].add(uid)
        async with self._append_lock:
            for segment, keep in pending.items():
                await self._rewrite(segment, keep)

    async def _rewrite(self, segment: _Segment, keep: set[str]) -> None:
        tmp = segment.path.with_name(segment.path.name + ".tmp")
        try:
            kept = await asyncio.to_thread(_rewrite, segment.path, tmp, keep)
            if segment.path not in self._segments:  # all written meanwhile, and removed
                tmp.unlink()
                return
            tmp.replace(segment.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self._failed(f"cannot compact {segment.path}", exc)
            return
        segment.records = kept

    def _prepare(self) -> tuple[int, int, _Segment]:
        """The segment to append to: truncated when drained, rotated when large."""
        if self._current is not None and self._fd is not None:
            if self._current.pending == 0 and self._size > len(self._header):
                os.ftruncate(self._fd, len(self._header))
                self._size, self._current.records = len(self._header), 0
            elif self._size >= self._segment_bytes:
                self._close_current()
                self._rotated = True
        if self._current is None or self._fd is None:
            self._new_segment()
        assert self._current is not None
        assert self._fd is not None
        return self._fd, self._size, self._current

    def _new_segment(self) -> None:
        self._seq += 1
        path = self.directory / f"{PREFIX}{self._seq:012d}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            _write_all(fd, self._header, 0)
            dir_fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)  # the new name survives a crash too
            finally:
                os.close(dir_fd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._fd, self._size = fd, len(self._header)
        self._current = self._segments[path] = _Segment(path)

    def _close_current(self) -> None:
        segment, fd = self._current, self._fd
        self._current, self._fd, self._size = None, None, 0
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if segment is not None and segment.pending == 0:
            self._remove(segment)

    # releasing what the database has committed -------------------------------
    def release(self, outcomes: Sequence[Outcome]) -> None:
        """``outcomes`` are committed: drop every closed segment left with none unwritten."""
        for outcome in outcomes:
            segment = self._where.pop(outcome.result_row["uid"], None)
            if segment is None:
                continue
            segment.pending -= 1
            if segment.pending == 0 and segment is not self._current:
                self._remove(segment)

    def release_all(self) -> None:
        """Nothing is buffered or being appended: every outcome on disk is committed."""
        self._where.clear()
        for segment in list(self._segments.values()):
            segment.pending = 0
            if segment is not self._current:
                self._remove(segment)

    def _remove(self, segment: _Segment) -> None:
        self._segments.pop(segment.path, None)
        try:
            segment.path.unlink(missing_ok=True)
        except OSError as exc:  # replayed again on the next start: idempotent, so harmless
            self._failed(f"cannot remove {segment.path}", exc)

    # health ------------------------------------------------------------------
    def _failed(self, what: str, exc: OSError) -> None:
        self._unhealthy(f"{what}: {failure_reason(exc)}: {exc}")

    def _unhealthy(self, problem: str) -> None:
        if self.healthy:
            log.error("outcome journal in %s failing: %s", self.directory, problem)
        self.healthy, self.problem = False, problem
