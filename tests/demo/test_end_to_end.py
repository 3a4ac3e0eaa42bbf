"""Farm + Monitor on a real database: a scripted outage becomes a flip and an incident."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.demo.farm import start_farm
from app.demo.inventory import demo_inventory
from app.demo.run import run_demo
from app.demo.script import Behaviour, FarmScript, Mode, UnitPlan
from app.demo.units import demo_units
from app.models import Check, Flip, Incident
from app.monitor.runtime import Monitor
from tests.support.wait import until


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def _flips(sm: async_sessionmaker[AsyncSession], key: str) -> list[tuple[str, str]]:
    async with sm() as s:
        rows = await s.execute(
            select(Flip.old_state, Flip.new_state)
            .join(Check, Check.id == Flip.check_id)
            .where(Check.key == key)
            .order_by(Flip.at, Flip.id)
        )
        return [(old, new) for old, new in rows]


async def _incidents(sm: async_sessionmaker[AsyncSession], key: str) -> list[Incident]:
    async with sm() as s:
        rows = await s.scalars(
            select(Incident).join(Check, Check.id == Incident.check_id).where(Check.key == key)
        )
        return list(rows)


@pytest.mark.slow
async def test_scripted_outage_flips_down_opens_an_incident_then_recovers(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    bad, good = (u.code for u in demo_units(2))
    clock = FakeClock(5.0)  # inside the first 40 s of the period: the bad unit is down
    script = FarmScript(
        overrides={
            bad: UnitPlan(Behaviour.OUTAGE, Mode.HTTP_503, 0.0),
            good: UnitPlan(Behaviour.HEALTHY),
        }
    )
    farm = await start_farm(script, clock=clock)
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(demo_inventory(farm.url(), 2, 1, timeout_s=0.5), encoding="utf-8")
    settings = Settings(database_url=db_url, inventory=inventory, flush_interval_s=0.1)
    monitor = Monitor(settings, sessionmaker)
    bad_key, good_key = f"{bad}.commune_centre.dvc", f"{good}.commune_centre.dvc"
    try:
        await monitor.start()
        assert len(monitor.checks) == 3

        async def down_with_incident() -> bool:
            flips = await _flips(sessionmaker, bad_key)
            return ("unknown", "down") in flips and len(
                await _incidents(sessionmaker, bad_key)
            ) == 1

        await until(down_with_incident)
        [incident] = await _incidents(sessionmaker, bad_key)
        assert incident.ended_at is None
        assert incident.error_kind == "http_status"

        clock.t = 50.0  # the outage is over

        async def recovered() -> bool:
            flips = await _flips(sessionmaker, bad_key)
            closed = [i for i in await _incidents(sessionmaker, bad_key) if i.ended_at]
            return flips[-1:] == [("down", "up")] and len(closed) == 1

        await until(recovered)
    finally:
        await monitor.stop()
        await farm.close()
    assert await _flips(sessionmaker, good_key) == [("unknown", "up")]
    assert await _incidents(sessionmaker, good_key) == []
    [incident] = await _incidents(sessionmaker, bad_key)
    assert incident.ended_at is not None and incident.ended_at > incident.started_at


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
async def test_run_demo_serves_the_app_and_prints_summaries(tmp_path: Path) -> None:
    port = _free_port()
    settings = Settings(port=port, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    out = io.StringIO()
    await run_demo(settings, units=6, duration=2.5, out=out, summary_every=1.0)
    text = out.getvalue()
    assert f"http://127.0.0.1:{port}/api/v1/units" in text
    assert "/metrics" in text and "/docs" in text
    assert "Nhấn Ctrl-C để dừng" in text
    assert "trang trại qua HTTPS:      https://127.0.0.1:" in text
    assert "- heartbeat: 3 ki-ốt" in text and "ki-ốt của đơn vị 11977" in text
    assert "- freshness:" in text and "- tls:" in text
    summaries = [line for line in text.splitlines() if "Đơn vị:" in line]
    assert len(summaries) >= 2
    assert "sự cố đang mở" in summaries[-1]
    # 6 units + the province + the national services, each counted in exactly one state
    counts = summaries[-1].split("Đơn vị: ")[1].split(" |")[0].split(", ")
    assert sum(int(c.split(" ")[0]) for c in counts) == 8
    # the checks of each kind other than http are shown with their states
    assert "heartbeat: " in summaries[-1] and "freshness: " in summaries[-1]
    assert "tls: 1 " in summaries[-1]
    # the commune agent: its line in the banner (where its log is, when its line is cut)
    # and its state in every summary (tests/demo/test_agent.py follows it through a cut)
    assert "- agent: hy-" in text and "/api/v1/agents" in text
    assert "thongsuot agent run" in text and "bị cắt 60 giây trong mỗi 240 giây" in text
    assert all(" | agent hy-" in line and "máy xếp hàng: " in line for line in summaries)
