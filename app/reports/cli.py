"""``thongsuot report``: the monthly report of the province to a file or stdout."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from app.accounting.period import resolve
from app.config import Settings
from app.reports import exports, report, rollup

Format = Literal["json", "csv", "xlsx"]


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

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            if refresh:
                now = datetime.now(UTC)
                first = resolve("month", month, None, None, now.date()).first
                async with session.begin():
                    await rollup.recompute(session, first, now)
            found = await report.availability_report(
                session,
                period="month",
                at=month,
                clock=clock,
                group="unit",
                province=province,
                with_incidents=True,
                lang=lang,
            )
            if fmt == "json":
                return found.model_dump_json(indent=2).encode("utf-8")
            if fmt == "csv":
                return exports.to_csv(found, lang)
            return exports.to_xlsx(found, await report.all_levels(session, found, lang), lang)
    finally:
        await engine.dispose()


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report to ``--out`` (default ``bao-cao-thong-suot-YYYY-MM.<format>``; ``-``
    is stdout)."""
    import asyncio

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
    out = args.out or f"bao-cao-thong-suot-{args.month}.{args.format}"
    if out == "-":
        sys.stdout.buffer.write(body)
    else:
        Path(out).write_bytes(body)
        print(out)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--format", choices=["xlsx", "csv", "json"], default="xlsx")
    p.add_argument("--out", help="file to write; '-' for stdout")
    p.add_argument("--clock", choices=["24/7", "service_hours"], default="24/7")
    p.add_argument("--province", help="province code (default: every unit)")
    p.add_argument("--lang", choices=["vi", "en"], default="vi")
    p.add_argument("--refresh", action="store_true", help="recompute the month's rollups first")
    p.add_argument("--db", dest="database_url")
