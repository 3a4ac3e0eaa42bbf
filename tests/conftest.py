"""Shared fixtures: the same tests run on real SQLite and real PostgreSQL.

``--db sqlite|postgresql|both`` (or ``THONGSUOT_TEST_DB``) picks the backends;
the default is both. The schema always comes from ``alembic upgrade head``.
PostgreSQL gets a database of its own per test session; each test starts from
empty tables (TRUNCATE), because the code under test commits for itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import migrate
from app.db import make_engine, make_sessionmaker
from app.models import Base

PG_ADMIN = os.environ.get("THONGSUOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("THONGSUOT_TEST_DB", "both"),
        choices=["sqlite", "postgresql", "both"],
        help="database backends to test against",
    )


def _backends(config: pytest.Config) -> list[str]:
    choice = config.getoption("--db")
    return ["sqlite", "postgresql"] if choice == "both" else [choice]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        if metafunc.definition.get_closest_marker("postgres") is not None:
            backends = [b for b in backends if b == "postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


DEPLOY_TESTS = Path(__file__).parent / "deploy"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/deploy is marked ``deploy`` (``-m "not deploy"`` skips them)."""
    for item in items:
        if item.path.is_relative_to(DEPLOY_TESTS):
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A THONGSUOT_DATA_DIR of its own per test: outcome journals never mix."""
    monkeypatch.setenv("THONGSUOT_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"thongsuot_test_{os.getpid()}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    migrate.upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for stmt in statements:
            await conn.execute(stmt)
    finally:
        await conn.close()


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the parametrised backend."""
    if backend == "sqlite":
        path = tmp_path / "thongsuot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate_all(url))
    return url.replace("postgresql://", "postgresql+asyncpg://")


async def _truncate_all(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s
        await s.rollback()


async def count_rows(sm: async_sessionmaker[AsyncSession], table: str) -> int:
    async with sm() as s:
        return int((await s.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())
