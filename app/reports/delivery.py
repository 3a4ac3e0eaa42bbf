"""The files of a scheduled report mail (PDF, XLSX, CSV), rendered from the rollups when
the mail is sent.

The notifier (``app.notify.reports``) decides when and to whom; it may not import the
reports, so the monitor hands it a :class:`ReportFiles` (an ``AttachmentSource``).
A province report holds every unit; a unit's head gets a one-unit report: the same
workbook with only that unit's rows (its services, checks and incidents) and totals.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.notify.channels.base import Attachment
from app.notify.reports import CSV, PDF, XLSX, ReportJob, file_stem
from app.reports import report
from app.reports.document import build_report, render_csv, render_pdf, render_xlsx
from app.reports.schemas import ReportRead, ReportRow


def _own(row: ReportRow, group: str, code: str) -> bool:
    return row.key == code if group == "unit" else row.unit_code == code


def only_unit(part: ReportRead, code: str, unit_rows: list[ReportRow]) -> ReportRead:
    """``part`` cut down to one unit: its rows, totals over them, its incidents."""
    if part.group == "province":
        rows = report.by_province(unit_rows)
    else:
        rows = [r for r in part.rows if _own(r, part.group, code)]
    totals = part.totals
    return part.model_copy(
        update={
            "rows": rows,
            "totals": report.combine(
                totals.key, totals.name, (totals.province_code, totals.province_name), rows
            ),
            "incidents": [i for i in part.incidents if i.unit_code == code],
        }
    )


class ReportFiles:
    """Renders a job's PDF, XLSX and CSV from the database (letterhead and signature from
    ``settings``); the last few are kept for ``ttl_s`` so one province report mailed to
    several recipients is rendered once."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings | None = None,
        ttl_s: float = 600,
    ) -> None:
        self._sm = sessionmaker
        self._settings = settings or Settings()
        self._ttl = ttl_s
        self._cache: dict[tuple[str, str, str | None, str], tuple[float, list[Attachment]]] = {}

    async def __call__(self, job: ReportJob) -> list[Attachment]:
        key = (job.kind, job.label, job.unit_code, job.lang)
        hit = self._cache.get(key)
        if hit is not None and clock.monotonic() - hit[0] < self._ttl:
            return hit[1]
        files = await self.render(job)
        if len(self._cache) >= 8:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (clock.monotonic(), files)
        return files

    async def render(self, job: ReportJob) -> list[Attachment]:
        async with self._sm() as session:
            doc = await build_report(
                session,
                self._settings,
                period=job.kind,
                at=job.label,
                group="unit",
                lang=job.lang,
                now=datetime.now(UTC),
            )
        if job.unit_code is not None:
            code = job.unit_code
            unit_rows = [r for r in doc.report.rows if r.key == code]
            main = only_unit(doc.report, code, unit_rows)
            levels = {name: only_unit(part, code, unit_rows) for name, part in doc.levels.items()}
            levels["unit"] = main
            doc = doc.with_report(main, levels)
        stem = file_stem(job)
        return [
            Attachment(f"{stem}.pdf", PDF, render_pdf(doc)),
            Attachment(f"{stem}.xlsx", XLSX, render_xlsx(doc)),
            Attachment(f"{stem}.csv", CSV, render_csv(doc)),
        ]


__all__ = ["ReportFiles", "only_unit"]
