"""``thongsuot demo``: the farm, a demo inventory and the full app, in one process."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from app.config import DEFAULT_DB, Settings, normalise_db_url
from app.demo.farm import Farm, start_farm
from app.demo.inventory import demo_inventory
from app.demo.repository import Snapshot, snapshot
from app.demo.script import FarmScript

_LABELS = {
    "vi": {
        "up": "hoạt động",
        "degraded": "chậm",
        "down": "gián đoạn",
        "maintenance": "bảo trì",
        "unknown": "chưa rõ",
        "units": "Đơn vị",
        "incidents": "sự cố đang mở",
        "results": "kết quả đã ghi",
        "down_list": "đang gián đoạn",
    },
    "en": {
        "up": "up",
        "degraded": "degraded",
        "down": "down",
        "maintenance": "maintenance",
        "unknown": "unknown",
        "units": "Units",
        "incidents": "open incidents",
        "results": "results written",
        "down_list": "down now",
    },
}


async def run_demo(
    settings: Settings,
    units: int,
    duration: float | None,
    *,
    out: TextIO | None = None,
    summary_every: float = 10.0,
) -> None:
    """Run the farm and the full app until ``duration`` seconds pass (or forever/Ctrl-C).

    The database is a temporary SQLite file unless ``settings.database_url`` was
    set to something other than the default; the inventory is always a temporary file.
    """
    import uvicorn

    out = out or sys.stdout
    farm = await start_farm(FarmScript.for_units(units))
    with tempfile.TemporaryDirectory(prefix="thongsuot-demo-") as tmp:
        try:
            demo_settings = await _prepare(settings, farm, units, Path(tmp))
            from app.main import create_app

            app = create_app(demo_settings)
            config = uvicorn.Config(
                app, host=demo_settings.host, port=demo_settings.port, log_level="warning"
            )
            server = uvicorn.Server(config)
            await _serve(server, app, demo_settings, farm, units, duration, out, summary_every)
        finally:
            await farm.close()


async def _prepare(settings: Settings, farm: Farm, units: int, tmp: Path) -> Settings:
    from app import migrate

    inventory = tmp / "demo-inventory.yaml"
    inventory.write_text(demo_inventory(farm.url(), units), encoding="utf-8")
    update: dict[str, Any] = {"inventory": inventory}
    if settings.database_url == normalise_db_url(DEFAULT_DB):  # never touch ./thongsuot.db
        update["database_url"] = f"sqlite+aiosqlite:///{tmp / 'demo.db'}"
    demo_settings = settings.model_copy(update=update)
    await asyncio.to_thread(migrate.upgrade, demo_settings.database_url)
    return demo_settings


async def _serve(
    server: Any,
    app: Any,
    settings: Settings,
    farm: Farm,
    units: int,
    duration: float | None,
    out: TextIO,
    every: float,
) -> None:
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raises why the server could not start
                raise RuntimeError("the web server stopped before it started")
            await asyncio.sleep(0.05)
        out.write(banner(settings, farm, units))
        out.flush()
        await _summaries(app, settings, task, duration, out, every)
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await task


async def _summaries(
    app: Any,
    settings: Settings,
    task: asyncio.Task[None],
    duration: float | None,
    out: TextIO,
    every: float,
) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    while not task.done():
        left = every if deadline is None else min(every, deadline - time.monotonic())
        if left <= 0:
            return
        await asyncio.wait({task}, timeout=left)
        if task.done():
            return
        async with app.state.sessionmaker() as session:
            snap = await snapshot(session)
        out.write(summary_line(snap, settings) + "\n")
        out.flush()


def banner(settings: Settings, farm: Farm, units: int) -> str:
    base = f"http://{settings.host}:{settings.port}"
    if settings.lang == "en":
        return (
            f"thongsuot demo: {units} simulated commune centres + the provincial system\n"
            f"  farm (simulated targets): {farm.url()}\n"
            f"  units and their state:    {base}/api/v1/units\n"
            f"  Prometheus metrics:       {base}/metrics\n"
            f"  API documentation:        {base}/docs\n"
            "Some units go down for 40 s every 100 s; watch them go down and come back.\n"
            "Press Ctrl-C to stop.\n"
        )
    return (
        f"thongsuot demo: {units} trung tâm cấp xã mô phỏng + hệ thống TTHC cấp tỉnh\n"
        f"  trang trại mô phỏng:       {farm.url()}\n"
        f"  đơn vị và trạng thái:      {base}/api/v1/units\n"
        f"  chỉ số Prometheus:         {base}/metrics\n"
        f"  tài liệu API:              {base}/docs\n"
        "Một số đơn vị gián đoạn 40 giây trong mỗi 100 giây; hãy xem chúng mất và có lại.\n"
        "Nhấn Ctrl-C để dừng.\n"
    )


def summary_line(snap: Snapshot, settings: Settings) -> str:
    labels = _LABELS["en" if settings.lang == "en" else "vi"]
    now = datetime.now(ZoneInfo(settings.timezone)).strftime("%H:%M:%S")
    order = ("up", "degraded", "down", "maintenance", "unknown")
    counts = ", ".join(f"{snap.units_by_state.get(s, 0)} {labels[s]}" for s in order)
    line = (
        f"[{now}] {labels['units']}: {counts} | {labels['incidents']}: {snap.open_incidents}"
        f" | {labels['results']}: {snap.results}"
    )
    if snap.down_units:
        shown = ", ".join(snap.down_units[:5]) + (" …" if len(snap.down_units) > 5 else "")
        line += f" | {labels['down_list']}: {shown}"
    return line
