"""/metrics: blackbox_exporter-style names, bounded labels, and promtool's lint passes."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from tests import factories
from tests.support.http import Reply, ScriptedHTTP
from tests.support.tools import require_tool


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP().start()
    server.routes["/ok"] = Reply(200, "Dịch vụ công")
    server.routes["/bad"] = Reply(503, "lỗi")
    yield server
    await server.close()


async def _exposition(db_url: str, sm: async_sessionmaker[AsyncSession], web: ScriptedHTTP) -> str:
    async with sm() as s, s.begin():
        ok = await factories.http_check(s, web.url("/ok"), key="12337.centre.ok", interval_s=3600)
        bad = await factories.http_check(
            s, web.url("/bad"), key="12337.centre.bad", interval_s=3600, failure_threshold=1
        )
    app = create_app(Settings(database_url=db_url))
    async with app.router.lifespan_context(app):
        monitor = app.state.monitor
        await monitor.run_check(ok.id)
        await monitor.run_check(bad.id)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/metrics")
    assert resp.status_code == 200
    return resp.text


async def test_metrics_carry_check_state_and_pass_promtool(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    text = await _exposition(db_url, sessionmaker, web)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    labels = (
        ("check", "12337.centre.bad"),
        ("probe_kind", "http"),
        ("service_kind", "commune_centre"),
        ("unit", "12337"),
    )
    assert samples[("thongsuot_probe_success", labels)] == 0.0
    assert samples[("thongsuot_probe_http_status_code", labels)] == 503.0
    assert samples[("thongsuot_check_state", tuple(sorted((*labels, ("state", "down")))))] == 1.0
    ok = (("check", "12337.centre.ok"), *labels[1:])
    assert samples[("thongsuot_probe_success", ok)] == 1.0
    counted = (
        "thongsuot_probe_results_total",
        (("error_kind", "http_status"), ("probe_kind", "http"), ("status", "down")),
    )
    assert samples[counted] == 1.0
    assert "url" not in text.lower().replace("thongsuot", "")  # no URL ever becomes a label
    promtool = require_tool("promtool")
    proc = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


async def test_unit_info_names_each_unit_once(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    """thongsuot_unit_info{unit, name, kind, province} 1: the names panels join in."""
    async with sessionmaker() as s, s.begin():
        province = await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
        commune = await factories.unit(s, "12337", "Xã Hoàng Hoa Thám")
        commune.parent_id = province.id
        await factories.unit(s, "VN", "Quốc gia", kind="national")
    text = await _exposition(db_url, sessionmaker, web)
    info = {
        s.labels["unit"]: (s.labels["name"], s.labels["kind"], s.labels["province"], s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "thongsuot_unit_info"
    }
    assert info == {
        "33": ("Tỉnh Hưng Yên", "province", "33", 1.0),
        "12337": ("Xã Hoàng Hoa Thám", "commune", "33", 1.0),
        "VN": ("Quốc gia", "national", "", 1.0),
    }
