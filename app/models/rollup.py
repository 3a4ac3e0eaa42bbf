"""Rollups of the accounted timelines (docs/reports.md): seconds per state per clock.

``level`` is ``check``, ``service`` or ``unit`` and ``entity_id`` the id at that
level. Days and months are local dates in Asia/Ho_Chi_Minh. The ``sh_`` columns
are on the service-hours clock of the entity's unit, the others on the 24/7 clock.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class StateSeconds:
    up_s: Mapped[float] = mapped_column(default=0.0)
    degraded_s: Mapped[float] = mapped_column(default=0.0)
    down_s: Mapped[float] = mapped_column(default=0.0)
    maintenance_s: Mapped[float] = mapped_column(default=0.0)
    unknown_s: Mapped[float] = mapped_column(default=0.0)
    sh_up_s: Mapped[float] = mapped_column(default=0.0)
    sh_degraded_s: Mapped[float] = mapped_column(default=0.0)
    sh_down_s: Mapped[float] = mapped_column(default=0.0)
    sh_maintenance_s: Mapped[float] = mapped_column(default=0.0)
    sh_unknown_s: Mapped[float] = mapped_column(default=0.0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RollupDay(StateSeconds, Base):
    """Seconds per state of one entity on one local day, on both clocks."""

    __tablename__ = "rollup_day"

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = (Index("ix_rollup_day_level_day", "level", "day"),)


class RollupMonth(StateSeconds, Base):
    """The sum of an entity's :class:`RollupDay` rows over one local month."""

    __tablename__ = "rollup_month"

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = (Index("ix_rollup_month_level_month", "level", "month"),)


class OutageDay(Base):
    """The part of one down run (after maintenance and unknown overlays) on one day.

    ``run_*`` describe the whole run: ``run_ended_at`` is ``None`` while it is open;
    ``run_s``/``run_sh_s`` are its whole length on each clock so far. ``first``/
    ``sh_first`` mark the run's first piece with counted time on that clock and
    ``last`` its last piece; ``s``/``sh_s`` are the piece's counted seconds.
    """

    __tablename__ = "outage_day"

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    run_started_at: Mapped[datetime] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    run_ended_at: Mapped[datetime | None]
    run_s: Mapped[float] = mapped_column(default=0.0)
    run_sh_s: Mapped[float] = mapped_column(default=0.0)
    s: Mapped[float] = mapped_column(default=0.0)
    sh_s: Mapped[float] = mapped_column(default=0.0)
    first: Mapped[bool] = mapped_column(default=False)
    sh_first: Mapped[bool] = mapped_column(default=False)
    last: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_outage_day_level_day", "level", "day"),)


class RollupStale(Base):
    """Local days whose rollups a late declaration invalidated; the rollup job
    recomputes them and deletes the row."""

    __tablename__ = "rollup_stale"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
