"""The whole demo stack, sped up: every probe kind the demo shows does its job.

HTTPS through the farm's self-signed certificate, a TLS check warning about its
near expiry, a kiosk that stops beating (missed_heartbeat) and beats again, and
a sync that stalls until the freshness check goes down (stale).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.demo.inventory import (
    SYNC_CHECK_KEY,
    TLS_CHECK_KEY,
    DemoExtras,
    heartbeat_key,
)
from app.demo.script import Behaviour, FarmScript, UnitPlan
from app.demo.stack import DemoStack, demo_stack
from app.demo.units import demo_units
from app.models import Check, Flip, Incident
from tests.support.wait import until

UNITS = 3
CODES = [u.code for u in demo_units(UNITS)]
SILENT = CODES[0]


def _script() -> FarmScript:
    return FarmScript(
        codes=tuple(CODES),
        overrides={code: UnitPlan(Behaviour.HEALTHY) for code in CODES},
        beat_s=0.9,  # within the push endpoint's rate limit (1 a second per token)
        beat_pause_at_s=1.0,  # the first kiosk is silent from 1 s to 6 s
        beat_pause_s=5.0,
        sync_every_s=1.0,
        sync_stall_at_s=0.0,  # the sync is stalled from the start
        sync_stall_s=100.0,
        sync_cycle_s=200.0,
    )


EXTRAS = DemoExtras(
    kiosks=2,
    beat_period_s=1.0,
    beat_grace_s=1.0,
    sync_lag_degraded_s=1.0,
    sync_lag_down_s=2.5,
    fast_interval_s=1,
)


async def _flips(sm: async_sessionmaker[AsyncSession], key: str) -> list[str]:
    async with sm() as s:
        rows = await s.scalars(
            select(Flip.new_state)
            .join(Check, Check.id == Flip.check_id)
            .where(Check.key == key)
            .order_by(Flip.at, Flip.id)
        )
        return list(rows)


@pytest.mark.slow
async def test_each_kind_works_in_the_demo(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = Settings(database_url=db_url, flush_interval_s=0.1)
    async with demo_stack(
        settings, UNITS, tmp_path, script=_script(), interval_s=1, timeout_s=0.8,
        extras=EXTRAS, port=0,
    ) as stack:  # fmt: skip
        assert stack.cert is not None and stack.sender is not None
        await _heartbeat_goes_down_and_comes_back(stack, sessionmaker)
        await _sync_goes_stale(sessionmaker)
        await _tls_and_https(stack)
    async with sessionmaker() as s:
        incidents = list(await s.scalars(select(Incident.error_kind)))
    assert "missed_heartbeat" in incidents and "stale" in incidents


async def _heartbeat_goes_down_and_comes_back(
    stack: DemoStack, sm: async_sessionmaker[AsyncSession]
) -> None:
    silent, beating = heartbeat_key(SILENT), heartbeat_key(CODES[1])

    async def back_up() -> bool:
        return (await _flips(sm, silent))[-2:] == ["down", "up"]

    await until(back_up, 15)
    # up first if it beat before its pause began (the app may take longer to start)
    assert await _flips(sm, silent) in (["up", "down", "up"], ["down", "up"])
    assert await _flips(sm, beating) == ["up"]
    assert stack.sender is not None
    assert stack.sender.sent[CODES[1]] > stack.sender.sent[SILENT] > 0
    assert stack.sender.failed == 0
    assert set(stack.sender.tokens) == {SILENT, CODES[1]}  # kiosks=2: the third has none


async def _sync_goes_stale(sm: async_sessionmaker[AsyncSession]) -> None:
    async def down() -> bool:
        return "down" in await _flips(sm, SYNC_CHECK_KEY)

    await until(down, 15)
    flips = await _flips(sm, SYNC_CHECK_KEY)
    assert flips[-1] == "down"  # and stays down while the sync is stalled


async def _tls_and_https(stack: DemoStack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as client:
        units = {u["code"]: u for u in (await client.get("/api/v1/units")).json()["items"]}
        assert {"VN", "33", *CODES} <= set(units)
        metrics = (await client.get("/metrics")).text
    tls_state = f'thongsuot_check_state{{check="{TLS_CHECK_KEY}",'
    assert any(
        line.startswith(tls_state) and 'state="degraded"' in line and line.endswith(" 1.0")
        for line in metrics.splitlines()
    ), "the TLS check warns about the 10-day certificate"
    expiry = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("thongsuot_probe_ssl_earliest_cert_expiry{")
    ]
    assert stack.cert is not None
    # the TLS check and the two https checks (national and provincial portal) see the cert
    assert len(expiry) == 3
    assert {round(e) for e in expiry} == {round(stack.cert.not_after.timestamp())}
    national = [line for line in metrics.splitlines() if 'check="VN.national_portal.home"' in line]
    assert any(
        line.startswith("thongsuot_probe_http_status_code") and line.endswith(" 200.0")
        for line in national
    )
