"""Names and DDL of ``probe_result``'s partitions on PostgreSQL (docs/design.md §4).

On PostgreSQL ``probe_result`` is partitioned by range of ``at``, one partition per
UTC day (``probe_result_p20261203``), plus ``probe_result_legacy`` (the rows from
before migration 0010) and ``probe_result_default`` (rows no day partition holds).
A unique index on a partitioned table must contain ``at``, which would make
``(check_id, vantage, slot)`` useless, so each partition carries its own unique
indexes on ``id`` (the parent has no key), ``uid`` and ``(check_id, vantage, slot)``:
``INSERT … ON CONFLICT DO NOTHING`` (no target) honours them. SQLite keeps the plain
table of the model.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

PARENT = "probe_result"
DEFAULT = "probe_result_default"
LEGACY = "probe_result_legacy"
_DAY = re.compile(r"^probe_result_p\d{8}$")


def day_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def is_partition(name: str | None) -> bool:
    """True for a partition's table name (not in the models; Alembic skips them)."""
    return name in (DEFAULT, LEGACY) or bool(name and _DAY.match(name))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def partition_indexes(name: str) -> list[str]:
    """The per-partition unique indexes: the key (the parent has none, see migration
    0010) and exactly once per day (see the module doc)."""
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_id ON {name} (id)",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_uid ON {name} (uid)",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_slot ON {name} (check_id, vantage, slot)",
    ]


def create_day_partitions(first: date, count: int) -> list[str]:
    """DDL for the day partitions ``first`` … ``first + count - 1`` (idempotent)."""
    statements = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        start, end = day_bounds(day)
        name = day_name(day)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        statements += partition_indexes(name)
    return statements


__all__ = [
    "DEFAULT",
    "LEGACY",
    "PARENT",
    "create_day_partitions",
    "day_bounds",
    "day_name",
    "is_partition",
    "partition_indexes",
]
