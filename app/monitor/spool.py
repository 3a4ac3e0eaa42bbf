"""Outcomes the writer could not store before the process stopped, kept on disk.

On stop with the database away, what is still buffered goes to a JSON-lines
file; the next start reads it back first. Replays are idempotent (uid keys), so
a spool written twice or half-read never writes a result twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from app.monitor.evaluator import Outcome

FILE = "pending-outcomes.jsonl"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    raise TypeError(f"cannot spool {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    return datetime.fromisoformat(obj["$dt"]) if set(obj) == {"$dt"} else obj


def save(directory: Path, outcomes: Iterable[Outcome]) -> int:
    """Append ``outcomes`` to the spool; fsync before returning. Returns the count."""
    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    with (directory / FILE).open("a", encoding="utf-8") as fh:
        for outcome in outcomes:
            fh.write(json.dumps(asdict(outcome), default=_encode, ensure_ascii=False) + "\n")
            n += 1
        fh.flush()
        os.fsync(fh.fileno())
    return n


def load(directory: Path) -> list[Outcome]:
    """Read the spool and remove it; a torn last line (a crash mid-write) is skipped."""
    path = directory / FILE
    if not path.exists():
        return []
    outcomes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            outcomes.append(Outcome(**json.loads(line, object_hook=_decode)))
        except (ValueError, TypeError):
            continue
    path.unlink()
    return outcomes
