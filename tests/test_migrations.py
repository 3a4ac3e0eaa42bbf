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


def _diff(connection: Connection) -> list[Any]:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


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
