"""The on-disk format of outcomes kept across a crash or a stop: versioned JSON lines.

A file starts with a header line ``{"format": "thongsuot-outcomes", "version": 1}``
and holds one outcome record per line after it: ``outcome_to_record`` of
app/monitor/records.py, datetimes as ISO 8601 text. Files written before the
header existed (``pending-outcomes.jsonl`` of the first spool, version 0: datetimes
as ``{"$dt": ...}``, an ``extra`` field) are still read.

Reading never loses a line silently: a record that cannot be read back (a torn
last line after a crash, a damaged disk block, a version this build does not
know) is logged with its file and line, counted, appended to ``<file>.rejected``
and removed from the file, so it is kept for a person to look at and is not
counted twice on the next start. Replays are idempotent (uid keys), so a file
read twice never writes a result twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.monitor.evaluator import Outcome
from app.monitor.records import MalformedRecord, outcome_from_record, outcome_to_json

log = logging.getLogger(__name__)

FORMAT = "thongsuot-outcomes"
VERSION = 1
FILE = "pending-outcomes.jsonl"  # the first spool's file; still read on start
REJECTED_SUFFIX = ".rejected"


def header(database: str = "") -> bytes:
    """The first line of a file; ``database`` names the database its records are for."""
    head: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if database:
        head["database"] = database
    return (json.dumps(head) + "\n").encode()


HEADER = header()


class UnreadableRecord(ValueError):
    """A line that is not an outcome record; the message says why."""


def _version_0_value(obj: dict[str, Any]) -> Any:
    return datetime.fromisoformat(obj["$dt"]) if set(obj) == {"$dt"} else obj


def encode(outcome: Outcome) -> bytes:
    """One record line (with its newline)."""
    return outcome_to_json(outcome) + b"\n"


def decode(line: str, version: int = VERSION) -> Outcome:
    """The outcome one record line holds; :class:`UnreadableRecord` naming the field otherwise."""
    try:
        record = json.loads(line, object_hook=_version_0_value if version == 0 else None)
    except ValueError as exc:
        raise UnreadableRecord(f"not JSON: {exc}") from None
    if version == 0 and isinstance(record, dict) and not record.get("extra"):
        record.pop("extra", None)  # the first spool's always-empty field
    try:
        return outcome_from_record(record)
    except MalformedRecord as exc:
        raise UnreadableRecord(str(exc)) from None


def save(directory: Path, outcomes: Iterable[Outcome]) -> int:
    """Append ``outcomes`` to ``directory/FILE`` (header first); fsync. Returns the count."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE
    lines = [encode(o) for o in outcomes]
    with path.open("ab") as fh:
        if fh.tell() == 0:
            fh.write(HEADER)
        fh.writelines(lines)
        fh.flush()
        os.fsync(fh.fileno())
    return len(lines)


@dataclass
class Rejected:
    line: int  # 1-based, in the file as it was read
    text: str
    reason: str


@dataclass
class Reading:
    """What one file held: the outcomes read back and the lines that were not."""

    path: Path
    header: bytes = HEADER
    database: str = ""  # "" when the file does not say (version 0, or written by save())
    outcomes: list[Outcome] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    kept: bool = True  # the rejected lines are in ``<file>.rejected`` (or there were none)


def read(path: Path, on_rejected: Callable[[int], None] | None = None) -> Reading:
    """Read ``path``; log, count, and keep aside every line that is not a record."""
    reading = Reading(path)
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    version, start, reading.database = _version(lines[0] if lines else b"")
    if start:
        reading.header = lines[0] + b"\n"
    for number, data in enumerate(lines[start:], start=start + 1):
        try:
            if version not in (0, VERSION):
                raise UnreadableRecord(f"format version {version} is not known to this build")
            reading.outcomes.append(decode(data.decode("utf-8"), version))
        except (UnreadableRecord, UnicodeDecodeError) as exc:
            text = data.decode("utf-8", errors="replace")
            reading.rejected.append(Rejected(number, text, str(exc)))
    if reading.rejected and version not in (0, VERSION):
        _move_aside(reading, version)
    elif reading.rejected:
        _set_aside(reading)
    if reading.rejected and on_rejected is not None:
        on_rejected(len(reading.rejected))
    return reading


def _version(first: bytes) -> tuple[int | None, int, str]:
    """The file's format version, the index of its first record line, its database."""
    try:
        head = json.loads(first)
    except ValueError:
        return 0, 0, ""  # no header: a torn or damaged first line of a version-0 file
    if isinstance(head, dict) and head.get("format") == FORMAT:
        version, database = head.get("version"), head.get("database")
        return (
            version if isinstance(version, int) else None,
            1,
            database if isinstance(database, str) else "",
        )
    return 0, 0, ""  # version 0: records from the first line on


def _side(path: Path) -> Path:
    return path.with_name(path.name + REJECTED_SUFFIX)


def _move_aside(reading: Reading, version: int | None) -> None:
    """A version this build cannot read: the whole file becomes ``<file>.rejected``."""
    path, n = reading.path, len(reading.rejected)
    log.error(
        "%s:2-%d: %d outcome records in format version %s, unknown to this build; kept in %s",
        path, n + 1, n, version, _side(path),
    )  # fmt: skip
    try:
        path.replace(_side(path))
    except OSError as exc:
        reading.kept = False
        log.error("%s: cannot set the file aside (%s); it stays where it is", path, exc)


def _set_aside(reading: Reading) -> None:
    """Move the rejected lines to ``<file>.rejected``; on failure leave the file as it is."""
    path = reading.path
    side = _side(path)
    for bad in reading.rejected:
        log.error(
            "%s:%d: unreadable outcome record (%s); kept in %s", path, bad.line, bad.reason, side
        )
    try:
        with side.open("a", encoding="utf-8") as fh:
            for bad in reading.rejected:
                fh.write(json.dumps({"file": path.name, "line": bad.line, "reason": bad.reason}))
                fh.write("\n" + bad.text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            fh.write(reading.header if reading.header.strip() else HEADER)
            fh.writelines(encode(o) for o in reading.outcomes)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        reading.kept = False
        log.error(
            "%s: cannot set %d unreadable records aside (%s); they stay in the file",
            path,
            len(reading.rejected),
            exc,
        )
