"""``thongsuot report``: the monthly report of the province to a file or stdout.

``--db`` takes a URL or a plain file path (an SQLite database), else
``THONGSUOT_DATABASE_URL`` as ``serve`` reads it. A database that is missing, out of
reach or not migrated gives one Vietnamese line and exit code 2; nothing is created.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from app.accounting.period import resolve
from app.config import DEFAULT_DB, Settings, normalise_db_url
from app.errors import AppError, ConfigError
from app.reports import rollup
from app.reports.document import build_report, render_csv, render_pdf, render_xlsx

Format = Literal["json", "csv", "xlsx", "pdf"]
NEEDED_TABLES = ("unit", "check", "rollup_day", "rollup_month", "outage_day")


class DatabaseNotReady(Exception):
    """The database cannot give a report; the message is the one line to show."""


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (``None`` for another database or memory)."""
    parsed = make_url(normalise_db_url(url))
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _migrated(connection: Connection) -> tuple[set[str], str | None]:
    tables = set(inspect(connection).get_table_names())
    version = None
    if "alembic_version" in tables:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return tables, version


async def check_ready(url: str) -> None:
    """Raise :class:`DatabaseNotReady` unless ``url`` is a reachable, migrated database."""
    from app.db import make_engine

    shown = _redact(url)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseNotReady(
            f"Không tìm thấy cơ sở dữ liệu {path} (--db hoặc THONGSUOT_DATABASE_URL); "
            "chạy `thongsuot serve` hoặc `thongsuot db upgrade` trước."
        )
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            tables, version = await connection.run_sync(_migrated)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseNotReady(f"Không kết nối được cơ sở dữ liệu {shown}: {reason}") from None
    finally:
        await engine.dispose()
    head = _head_revision(url)
    if version is None or any(t not in tables for t in NEEDED_TABLES):
        raise DatabaseNotReady(
            f"Cơ sở dữ liệu {shown} chưa được khởi tạo (chưa chạy migration); "
            f"chạy `thongsuot db upgrade --db {shown}` trước."
        )
    if head is not None and version != head:
        raise DatabaseNotReady(
            f"Cơ sở dữ liệu {shown} ở phiên bản {version}, cần {head}; "
            f"chạy `thongsuot db upgrade --db {shown}` trước."
        )


async def render(
    settings: Settings,
    month: str,
    fmt: Format = "xlsx",
    *,
    clock: Literal["24/7", "service_hours"] = "24/7",
    province: str | None = None,
    lang: Literal["vi", "en"] = "vi",
    refresh: bool = False,
) -> bytes:
    """The report "Báo cáo tình hình bảo đảm hoạt động thông suốt" of ``month`` (YYYY-MM)
    grouped by unit; ``refresh`` recomputes the rollups from the month's first day."""
    from app.db import make_engine, make_sessionmaker

    await check_ready(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            if refresh:
                now = datetime.now(UTC)
                first = resolve("month", month, None, None, now.date()).first
                async with session.begin():
                    await rollup.recompute(session, first, now)
            doc = await build_report(
                session,
                settings,
                period="month",
                at=month,
                clock=clock,
                province=province,
                lang=lang,
            )
    finally:
        await engine.dispose()
    if fmt == "json":
        return doc.report.model_dump_json(indent=2).encode("utf-8")
    if fmt == "csv":
        return render_csv(doc)
    if fmt == "pdf":
        return render_pdf(doc)
    return render_xlsx(doc)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report to ``--out`` (default ``bao-cao-thong-suot-YYYY-MM.<format>``; ``-``
    is stdout). Exit 2 with one line on stderr when the report cannot be made."""
    import asyncio

    try:
        body = asyncio.run(
            render(
                settings,
                args.month,
                args.format,
                clock=args.clock,
                province=args.province,
                lang=args.lang,
                refresh=args.refresh,
            )
        )
    except DatabaseNotReady as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"lỗi: {exc.message}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"lỗi: {exc}", file=sys.stderr)
        return 2
    out = args.out or f"bao-cao-thong-suot-{args.month}.{args.format}"
    if out == "-":
        sys.stdout.buffer.write(body)
    else:
        Path(out).write_bytes(body)
        print(out)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", required=True, help="tháng báo cáo, YYYY-MM (e.g. 2026-11)")
    p.add_argument(
        "--format",
        choices=["xlsx", "pdf", "csv", "json"],
        default="xlsx",
        help="định dạng (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        help="tệp kết quả; '-' là stdout (default: bao-cao-thong-suot-YYYY-MM.<format>)",
    )
    p.add_argument(
        "--clock",
        choices=["24/7", "service_hours"],
        default="24/7",
        help="cách tính: cả ngày hoặc trong giờ hành chính (default: %(default)s)",
    )
    p.add_argument("--province", help="mã tỉnh (default: mọi đơn vị)")
    p.add_argument(
        "--lang", choices=["vi", "en"], default="vi", help="ngôn ngữ (default: %(default)s)"
    )
    p.add_argument("--refresh", action="store_true", help="tính lại số liệu tổng hợp của tháng")
    p.add_argument(
        "--db",
        dest="database_url",
        help="URL cơ sở dữ liệu hoặc đường dẫn tệp SQLite (default: THONGSUOT_DATABASE_URL, "
        f"else {DEFAULT_DB.replace('%', '%%')})",
    )
