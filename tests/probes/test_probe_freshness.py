"""The freshness probe against a real SQLite file, the real PostgreSQL and a JSON endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from pydantic import ValidationError

from probes import freshness
from probes.base import ErrorKind, Status
from probes.freshness import FreshnessConfig, evaluate_value, probe_freshness
from probes.resources import ProbeResources
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.support.http import Reply
from tests.support.net import closed_port

PG = os.environ.get("THONGSUOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
SYNCED = NOW - timedelta(minutes=10)


@pytest.fixture
async def sql_source(
    backend: str, tmp_path: Path, resources: ProbeResources
) -> AsyncIterator[tuple[str, str]]:
    """(URL, table) holding dossier rows: two synced, three waiting."""
    if backend == "sqlite":
        path = tmp_path / "sync.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE dossier (id INTEGER, synced_at TEXT, pending INTEGER)")
            db.executemany("INSERT INTO dossier VALUES (?, ?, ?)", _rows(str))
        yield f"sqlite:///{path}", "dossier"
    else:
        schema = f"probe_fresh_{os.getpid()}"
        conn = await asyncpg.connect(PG)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        await conn.execute(
            f"CREATE TABLE {schema}.dossier (id int, synced_at timestamptz, pending int)"
        )
        await conn.executemany(f"INSERT INTO {schema}.dossier VALUES ($1, $2, $3)", _rows())
        try:
            yield PG.replace("postgresql://", "postgresql+asyncpg://"), f"{schema}.dossier"
        finally:
            await resources.aclose()
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            await conn.close()


def _rows(conv: object = None) -> list[tuple[object, ...]]:
    stamps = [SYNCED - timedelta(hours=1), SYNCED, None, None, None]
    out: list[tuple[object, ...]] = []
    for i, at in enumerate(stamps):
        value = at if conv is None or at is None else at.isoformat()
        out.append((i, value, 0 if at else 1))
    return out


def sql(url: str, query: str, **kw: object) -> FreshnessConfig:
    return FreshnessConfig.model_validate({"source": "sql", "url": url, "query": query, **kw})


async def test_sql_lag_up_degraded_down(sql_source: tuple[str, str], make_ctx: MakeCtx) -> None:
    url, table = sql_source
    ctx = make_ctx(clock=lambda: NOW)
    query = f"SELECT max(synced_at) FROM {table}"
    up = await probe_freshness(sql(url, query, lag_degraded_s=900, lag_down_s=3600), ctx)
    assert (up.status, up.details["lag_s"]) == (Status.UP, 600.0)
    deg = await probe_freshness(sql(url, query, lag_degraded_s=300, lag_down_s=3600), ctx)
    assert (deg.status, deg.error_kind) == (Status.DEGRADED, ErrorKind.STALE)
    down = await probe_freshness(sql(url, query, lag_down_s=600), ctx)
    assert (down.status, down.error_kind) == (Status.DOWN, ErrorKind.STALE)


async def test_sql_counts_and_query_errors(sql_source: tuple[str, str], make_ctx: MakeCtx) -> None:
    url, table = sql_source
    ctx = make_ctx()
    backlog = f"SELECT count(*) FROM {table} WHERE pending = 1"
    up = await probe_freshness(sql(url, backlog, value="count", count_degraded=5), ctx)
    assert (up.status, up.details["count"]) == (Status.UP, 3)
    deg = await probe_freshness(sql(url, backlog, value="count", count_degraded=3), ctx)
    assert (deg.status, deg.error_kind) == (Status.DEGRADED, ErrorKind.STALE)
    down = await probe_freshness(
        sql(url, backlog, value="count", count_degraded=1, count_down=2), ctx
    )
    assert (down.status, down.error_kind) == (Status.DOWN, ErrorKind.STALE)
    broken = await probe_freshness(sql(url, "SELECT nope FROM missing", lag_down_s=1), ctx)
    assert (broken.status, broken.error_kind) == (Status.DOWN, ErrorKind.QUERY)
    empty = f"SELECT max(synced_at) FROM {table} WHERE id > 99"
    null = await probe_freshness(sql(url, empty, lag_down_s=1), ctx)
    assert null.error_kind is ErrorKind.QUERY
    assert null.message.startswith("the query returned no value (NULL)")  # + the role warning


async def test_sql_is_read_only(sql_source: tuple[str, str], make_ctx: MakeCtx) -> None:
    url, table = sql_source
    write = f"DELETE FROM {table} RETURNING id" if "postgresql" in url else f"DELETE FROM {table}"
    result = await probe_freshness(sql(url, write, value="count", count_down=1), make_ctx())
    assert result.error_kind is ErrorKind.QUERY
    assert "read" in result.message.lower()  # "read-only transaction" / "readonly database"
    count = await probe_freshness(
        sql(url, f"SELECT count(*) FROM {table}", value="count", count_down=99), make_ctx()
    )
    assert count.details["count"] == 5


@pytest.mark.postgres
async def test_postgres_statement_timeout(
    backend: str, make_ctx: MakeCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's statement timeout, not the probe's own, cut the query short (issue 9.8).

    The probe's own timeout answers "no value within ... s" without
    ``statement_timeout_ms``; the statement timeout is set to half of the time
    left, so a loaded machine has a whole second to spare before that one fires.
    """
    monkeypatch.setattr(freshness, "STATEMENT_SHARE", 0.5)
    url = PG.replace("postgresql://", "postgresql+asyncpg://")
    ctx = make_ctx(2.0)
    result = await probe_freshness(sql(url, "SELECT pg_sleep(30)", lag_down_s=1), ctx)
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)
    assert "statement timeout" in result.message, result.message
    millis = result.details["statement_timeout_ms"]
    assert 0 < millis <= 1000
    assert millis / 1000 <= result.latency < ctx.timeout


@pytest.mark.postgres
async def test_postgres_superuser_is_warned_or_refused(backend: str, make_ctx: MakeCtx) -> None:
    """The test database's ``postgres`` role is a superuser (issue 10: lo_import ran)."""
    url = PG.replace("postgresql://", "postgresql+asyncpg://")
    warned = await probe_freshness(sql(url, "SELECT 4", value="count", count_down=9), make_ctx())
    assert (warned.status, warned.details["count"]) == (Status.UP, 4)
    assert (warned.details["db_role"], warned.details["db_superuser"]) == ("postgres", True)
    assert warned.message == (
        "4 waiting; warning: role 'postgres' is a PostgreSQL superuser; "
        "use a least-privilege role (docs/probes.md)"
    )
    # failures carry the warning too
    never_run = "SELECT count(*) FROM no_such_table"
    failed = await probe_freshness(sql(url, never_run, value="count", count_down=9), make_ctx())
    assert (failed.error_kind, failed.details["db_superuser"]) == (ErrorKind.QUERY, True)
    assert failed.message.endswith("use a least-privilege role (docs/probes.md)")
    # refused before the query runs: CONFIG, where running it would have been QUERY
    refused = await probe_freshness(
        sql(url, never_run, value="count", count_down=9, refuse_superuser=True), make_ctx()
    )
    assert (refused.status, refused.error_kind) == (Status.DOWN, ErrorKind.CONFIG)
    assert "refuse_superuser" in refused.message
    assert (refused.details["db_role"], refused.details["db_superuser"]) == ("postgres", True)


@pytest.mark.postgres
async def test_postgres_least_privilege_role(
    backend: str, make_ctx: MakeCtx, resources: ProbeResources
) -> None:
    """The role docs/probes.md describes: no warning, refuse_superuser passes, and it
    can read its one table and nothing else (no lo_import, no other table)."""
    role, schema = f"probe_ro_{os.getpid()}", f"probe_lp_{os.getpid()}"
    admin = await asyncpg.connect(PG)
    database = await admin.fetchval("SELECT current_database()")
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.execute(f"CREATE SCHEMA {schema}")
        await admin.execute(f"CREATE TABLE {schema}.dossier (id int, synced_at timestamptz)")
        await admin.execute(f"CREATE TABLE {schema}.secret (v text)")
        await admin.execute(f"INSERT INTO {schema}.dossier VALUES (1, now()), (2, now())")
        # docs/probes.md, "A least-privilege role"
        await admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        await admin.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        await admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        await admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        await admin.execute(f"GRANT SELECT ON {schema}.dossier TO {role}")

        url = PG.replace("postgresql://postgres@", f"postgresql+asyncpg://{role}@")
        count = f"SELECT count(*) FROM {schema}.dossier"
        ok = await probe_freshness(
            sql(url, count, value="count", count_down=9, refuse_superuser=True), make_ctx()
        )
        assert (ok.status, ok.details["count"], ok.message) == (Status.UP, 2, "2 waiting")
        assert (ok.details["db_role"], "db_superuser" in ok.details) == (role, False)
        for query in ("SELECT lo_import('/etc/hostname')", f"SELECT count(*) FROM {schema}.secret"):
            denied = await probe_freshness(sql(url, query, value="count", count_down=9), make_ctx())
            assert denied.error_kind is ErrorKind.QUERY, (query, denied.message)
    finally:
        await resources.aclose()  # the role's pooled connection
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await admin.execute(f"DROP OWNED BY {role}")
            await admin.execute(f"DROP ROLE {role}")
        await admin.close()


# A recursive CTE that would count to 10 million: 5-10 s of one core, far past the
# probe timeouts below, yet finite so that a build without the fix still exits.
RUNAWAY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
    "SELECT max(i) FROM n"
)


def sqlite_threads() -> list[threading.Thread]:
    """aiosqlite runs each connection in a thread of its own."""
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def until_no_sqlite_threads(within_s: float = 2.0) -> float:
    """Seconds until every aiosqlite thread has ended (fails after ``within_s``)."""
    start = time.monotonic()
    while sqlite_threads():
        assert time.monotonic() - start < within_s, f"still running: {sqlite_threads()}"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_sqlite_runaway_query_is_stopped(
    tmp_path: Path, make_ctx: MakeCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10: SQLite has no statement timeout; the probe stops a runaway query at
    its deadline, or at once when the run is cancelled, and no thread keeps running.

    The deadline is set at half the time left (not 90 %) so that, on a loaded
    machine, the probe's own timeout cannot win the race.
    """
    monkeypatch.setattr(freshness, "STATEMENT_SHARE", 0.5)
    db = tmp_path / "runaway.db"
    sqlite3.connect(db).close()
    url = f"sqlite:///{db}"
    assert not sqlite_threads()
    config = sql(url, RUNAWAY, value="count", count_down=1)

    # the probe's timeout: the query is stopped at the statement deadline
    async with ProbeResources() as kept:
        start = time.monotonic()
        async with asyncio.timeout(5):  # without the fix the probe hangs here
            result = await probe_freshness(config, make_ctx(0.6, resources=kept))
        took = time.monotonic() - start
        assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)
        assert "statement timeout" in result.message, result.message
        assert 0 < result.details["statement_timeout_ms"] <= 300
        assert took < 1.5
        # the connection went back to the pool idle: the next run gets it at once
        again = await probe_freshness(
            sql(url, "SELECT 7", value="count", count_down=9), make_ctx(0.5, resources=kept)
        )
        assert (again.status, again.details["count"]) == (Status.UP, 7)
        assert kept.count("freshness.engine") == 1
    await until_no_sqlite_threads()

    # cancelled from outside (the monitor's own guard, shutdown) long before the deadline
    async with ProbeResources() as kept:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await probe_freshness(config, make_ctx(10.0, resources=kept))
        assert time.monotonic() - start < 1.0
    await until_no_sqlite_threads()


async def test_engine_per_run_without_resources(tmp_path: Path, make_ctx: MakeCtx) -> None:
    """A context without resources gets an engine for the run, disposed of after it."""
    db = tmp_path / "one.db"
    sqlite3.connect(db).close()
    ok = await probe_freshness(
        sql(f"sqlite:///{db}", "SELECT 3", value="count", count_down=9),
        make_ctx(resources=None),
    )
    assert (ok.status, ok.details["count"]) == (Status.UP, 3)
    await until_no_sqlite_threads(0.5)
    async with asyncio.timeout(5):
        stopped = await probe_freshness(
            sql(f"sqlite:///{db}", RUNAWAY, value="count", count_down=1),
            make_ctx(0.3, resources=None),
        )
    assert stopped.error_kind is ErrorKind.TIMEOUT
    await until_no_sqlite_threads()


async def test_resources_keep_engines_until_closed(tmp_path: Path, make_ctx: MakeCtx) -> None:
    from probes.resources import ResourcesClosed

    kept = ProbeResources()
    for name in ("a.db", "b.db", "a.db"):
        url = f"sqlite:///{tmp_path / name}"
        result = await probe_freshness(
            sql(url, "SELECT 1", value="count", count_down=9), make_ctx(resources=kept)
        )
        assert result.status is Status.UP
    assert kept.count("freshness.engine") == 2
    assert len(sqlite_threads()) == 2  # one pooled connection per database
    await kept.aclose()
    assert (kept.closed, kept.count()) == (True, 0)
    await until_no_sqlite_threads()
    with pytest.raises(ResourcesClosed):
        kept.get("freshness.engine", "x", object)


async def test_password_and_url_from_secrets(make_ctx: MakeCtx) -> None:
    refused = f"postgresql://sync:{{}}@127.0.0.1:{closed_port()}/x"
    config = FreshnessConfig(
        source="sql",
        url=refused.replace(":{}", ""),
        password_secret="SYNC_DB_PASSWORD",
        query="SELECT 1",
        value="count",
        count_down=5,
    )
    missing = await probe_freshness(config, make_ctx(secrets={}))
    assert (missing.error_kind, "SYNC_DB_PASSWORD" in missing.message) == (ErrorKind.CONFIG, True)
    result = await probe_freshness(config, make_ctx(secrets={"SYNC_DB_PASSWORD": "bí-mật"}))
    assert (result.error_kind, "bí-mật" in result.message) == (ErrorKind.CONNECT, False)
    assert "bí-mật" not in config.model_dump_json()
    via_url = FreshnessConfig(
        source="sql", url_secret="SYNC_DB_URL", query="SELECT 1", value="count", count_down=5
    )
    ok = await probe_freshness(via_url, make_ctx(secrets={"SYNC_DB_URL": "sqlite://"}))
    assert (ok.status, ok.details["count"]) == (Status.UP, 1)


async def test_http_source(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    doc = {"lastSync": SYNCED.isoformat(), "epoch": int(SYNCED.timestamp()) * 1000, "queue": 12}
    srv = await make_http(
        {
            "/sync": Reply(200, json.dumps(doc), {"Content-Type": "application/json"}),
            "/gone": Reply(502, "bad gateway"),
            "/html": Reply(200, "<html>"),
        }
    )
    ctx = make_ctx(clock=lambda: NOW)

    def http(path: str, json_path: str, **kw: object) -> FreshnessConfig:
        raw = {"source": "http", "url": srv.url(path), "json_path": json_path, **kw}
        return FreshnessConfig.model_validate(raw)

    iso = await probe_freshness(http("/sync", "$.lastSync", lag_down_s=3600), ctx)
    assert (iso.status, iso.details["lag_s"]) == (Status.UP, 600.0)
    epoch = await probe_freshness(http("/sync", "$.epoch", lag_degraded_s=60), ctx)
    assert (epoch.status, epoch.details["lag_s"]) == (Status.DEGRADED, 600.0)
    queue = await probe_freshness(http("/sync", "$.queue", value="count", count_down=10), ctx)
    assert (queue.status, queue.details["count"]) == (Status.DOWN, 12)
    missing = await probe_freshness(http("/sync", "$.nothing", lag_down_s=1), ctx)
    assert missing.error_kind is ErrorKind.QUERY
    status = await probe_freshness(http("/gone", "$.x", lag_down_s=1), ctx)
    assert (status.error_kind, status.details["http_status"]) == (ErrorKind.HTTP_STATUS, 502)
    html = await probe_freshness(http("/html", "$.x", lag_down_s=1), ctx)
    assert (html.error_kind, html.message.startswith("body is not JSON")) == (ErrorKind.QUERY, True)


def test_refuse_superuser_may_come_from_defaults() -> None:
    """Set in ``defaults: options: freshness:``, it reaches http checks too: harmless."""
    raw = {"source": "http", "url": "http://x/", "json_path": "$.t", "lag_down_s": 60}
    assert FreshnessConfig.model_validate({**raw, "refuse_superuser": True}).refuse_superuser


def test_timestamp_forms_and_zones() -> None:
    config = FreshnessConfig(
        source="http", url="http://x/", json_path="$.t", lag_down_s=60, timezone="Asia/Ho_Chi_Minh"
    )
    naive_vn = datetime(2026, 5, 4, 10, 0)  # 03:00 UTC
    assert evaluate_value(config, naive_vn, NOW, 0).details["lag_s"] == 0
    assert evaluate_value(config, "1777863600", NOW, 0).details["lag_s"] == 0
    assert evaluate_value(config, "hôm qua", NOW, 0).error_kind is ErrorKind.QUERY


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"source": "sql", "url": "sqlite://", "lag_down_s": 1}, "needs a query"),
        (
            {"source": "sql", "url": "postgresql://u:pw@h/db", "query": "q", "lag_down_s": 1},
            "password_secret",
        ),
        ({"source": "sql", "query": "q", "lag_down_s": 1}, "exactly one of url or url_secret"),
        ({"source": "http", "url": "http://x", "lag_down_s": 1}, "needs url and json_path"),
        ({"source": "http", "url": "http://x", "json_path": "$.a"}, "lag_degraded"),
        (
            {
                "source": "http",
                "url": "http://x",
                "json_path": "$.a",
                "value": "count",
                "count_degraded": 9,
                "count_down": 3,
            },
            "must not exceed",
        ),
    ],
)
def test_config_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FreshnessConfig.model_validate(raw)
