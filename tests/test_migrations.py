"""Models and migrations agree; upgrade → downgrade → upgrade works on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app import migrate
from app.db import make_engine
from app.models import Base
from app.models.partitions import is_partition

# On PostgreSQL probe_result is partitioned by day (migration 0010): its unique
# constraint on uid and unique index on (check_id, vantage, slot) live on each
# partition, not on the parent, since a parent's must contain the partition key
# (docs/design.md §4). These two, and only these, are allowed to differ; the
# partitions' own tables are not in the models (env.py skips them too).
PARTITIONED = {
    ("add_constraint", "probe_result", "uq_probe_result_uid"),
    ("add_index", "probe_result", "uq_probe_result_slot"),
}


def _include(name: str | None, type_: str, parents: Any) -> bool:
    return not (type_ == "table" and is_partition(name))


def _known(diff: Any, dialect: str) -> bool:
    if dialect != "postgresql" or not isinstance(diff, tuple):
        return False
    kind, item = diff[0], diff[1]
    return (kind, getattr(item, "table", None) is not None and item.table.name, item.name) in (
        PARTITIONED
    )


def _diff(connection: Connection) -> list[Any]:
    ctx = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _include}
    )
    dialect = connection.dialect.name
    return [d for d in compare_metadata(ctx, Base.metadata) if not _known(d, dialect)]


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _run(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def test_models_match_migrations(db_url: str) -> None:
    assert await _run(db_url, _diff) == []


async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    expected = set(Base.metadata.tables)
    await asyncio.to_thread(migrate.downgrade, db_url, "base")
    assert not (expected & await _run(db_url, _tables))
    await asyncio.to_thread(migrate.upgrade, db_url)
    assert expected <= await _run(db_url, _tables)
    assert await _run(db_url, _diff) == []
