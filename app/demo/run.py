"""``thongsuot demo``: the farm, a demo inventory and the full app, in one process."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from app.config import Settings
from app.demo.agent import LAN_CHECK, DemoAgent
from app.demo.inventory import DemoExtras
from app.demo.repository import AgentStates, Snapshot, agent_states, snapshot
from app.demo.stack import DemoStack, demo_stack
from app.vocab.lang import Lang
from app.vocab.states import STATES, state_word

_LABELS = {
    "vi": {
        "units": "Đơn vị",
        "incidents": "sự cố đang mở",
        "results": "kết quả đã ghi",
        "down_list": "đang gián đoạn",
        "lan": "máy xếp hàng",
        "line_cut": "đường truyền tới tỉnh đang bị cắt",
    },
    "en": {
        "units": "Units",
        "incidents": "open incidents",
        "results": "results written",
        "down_list": "down now",
        "lan": "queue machine",
        "line_cut": "its line to the province is cut",
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
    """Run the farm, the full app and the kiosks until ``duration`` seconds pass
    (or forever/Ctrl-C), printing a banner and then a summary every ``summary_every``.

    The database is a temporary SQLite file unless ``settings.database_url`` was
    set to something other than the default; the inventory is always a temporary file.
    """
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="thongsuot-demo-") as tmp:
        async with demo_stack(settings, units, Path(tmp), extras=DemoExtras(agent=True)) as stack:
            out.write(banner(stack, units))
            out.flush()
            await _summaries(
                stack.app,
                stack.settings,
                stack.server_task,
                duration,
                out,
                summary_every,
                agent=stack.agent,
            )


async def _summaries(
    app: Any,
    settings: Settings,
    task: asyncio.Task[None],
    duration: float | None,
    out: TextIO,
    every: float,
    *,
    agent: DemoAgent | None = None,
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
            states = await agent_states(session, agent.name) if agent is not None else None
        line = summary_line(snap, settings)
        if agent is not None and states is not None:
            line += agent_summary(agent, states, settings)
        out.write(line + "\n")
        out.flush()


def banner(stack: DemoStack, units: int) -> str:
    settings, farm, base = stack.settings, stack.farm, stack.base_url
    en = settings.lang == "en"
    lines = [
        f"thongsuot demo: {units} simulated commune centres + the provincial system"
        if en
        else f"thongsuot demo: {units} trung tâm cấp xã mô phỏng + hệ thống TTHC cấp tỉnh",
        f"  {_t(en, 'farm')}{farm.url()}",
    ]
    if farm.tls_port is not None:
        lines.append(f"  {_t(en, 'farm_tls')}{farm.url('/', tls=True)}")
    lines.insert(1, f"  {_t(en, 'status')}{base}/status")
    lines += [
        f"  {_t(en, 'units_url')}{base}/api/v1/units",
        f"  {_t(en, 'incidents_url')}{base}/api/v1/incidents?state=all",
        *([f"  {_t(en, 'agents_url')}{base}/api/v1/agents"] if stack.agent else []),
        f"  {_t(en, 'metrics')}{base}/metrics",
        f"  {_t(en, 'docs')}{base}/docs",
        _t(en, "outages"),
    ]
    lines += _kind_notes(stack, en)
    lines.append(_t(en, "token").format(db=settings.database_url))
    lines.append(_t(en, "stop"))
    return "\n".join(lines) + "\n"


_BANNER = {
    "status": ("trạng thái công khai:      ", "public status page:       "),
    "farm": ("trang trại mô phỏng:       ", "farm (simulated targets): "),
    "farm_tls": ("trang trại qua HTTPS:      ", "farm over HTTPS:          "),
    "units_url": ("đơn vị và trạng thái:      ", "units and their state:    "),
    "incidents_url": ("sự cố:                     ", "incidents:                "),
    "agents_url": ("agent từ xa (mã ghi):      ", "remote agents (write):    "),
    "metrics": ("chỉ số Prometheus:         ", "Prometheus metrics:       "),
    "docs": ("tài liệu API:              ", "API documentation:        "),
    "outages": (
        "Một số đơn vị gián đoạn 40 giây trong mỗi 100 giây; hãy xem chúng mất và có lại.",
        "Some units go down for 40 s every 100 s; watch them go down and come back.",
    ),
    "tls": (
        "- tls: chứng thư số tự ký của cổng tỉnh còn {days} ngày, dưới ngưỡng cảnh báo "
        "{warn:g} ngày: kiểm tra TLS ở mức {s_degraded} (cert_expiry).",
        "- tls: the provincial portal's self-signed certificate has {days} days left, under "
        "the {warn:g}-day warning: the TLS check is {s_degraded} (cert_expiry).",
    ),
    "no_tls": (
        "- tls: chưa cài gói cryptography nên không có HTTPS trong bản chạy thử.",
        "- tls: the cryptography package is not installed, so the demo has no HTTPS.",
    ),
    "heartbeat": (
        "- heartbeat: {n} ki-ốt gửi tín hiệu mỗi {beat:g} giây; ki-ốt của đơn vị {code} "
        "im lặng {pause:g} giây trong mỗi {cycle:g} giây, từ giây {at:g} (missed_heartbeat).",
        "- heartbeat: {n} kiosks beat every {beat:g} s; unit {code}'s kiosk falls silent "
        "for {pause:g} s in every {cycle:g} s, from second {at:g} (missed_heartbeat).",
    ),
    "freshness": (
        "- freshness: đồng bộ hồ sơ lên Cổng DVC quốc gia ngừng {stall:g} giây trong mỗi "
        "{cycle:g} giây, từ giây {at:g}: trễ > {deg:g} giây là {s_degraded}, > {down:g} giây "
        "là {s_down} (stale).",
        "- freshness: the sync to the national portal stalls for {stall:g} s in every "
        "{cycle:g} s, from second {at:g}: a lag over {deg:g} s is {s_degraded}, over {down:g} "
        "s {s_down} (stale).",
    ),
    "agent": (
        "- agent: {name} chạy trong {unit} (thongsuot agent run, nhật ký {log}): máy xếp "
        "hàng chỉ thấy được từ trong xã, cổng của xã được kiểm tra từ máy chủ và từ agent. "
        "Đường truyền của xã tới tỉnh bị cắt {cut:g} giây trong mỗi {cycle:g} giây, từ giây "
        "{at:g}: agent giữ kết quả trong hàng đợi trên đĩa; sau {off} giây im lặng các kiểm "
        'tra của nó là {s_unknown} và mở một sự cố "agent {name} offline"; khi đường '
        "truyền có lại, hàng đợi được gửi bù và thay thế khoảng {s_unknown}.",
        "- agent: {name} runs inside {unit} (thongsuot agent run, log {log}): the queue "
        "machine is seen only from inside the commune, its portal from central and from the "
        "agent. The commune's line to the province is cut for {cut:g} s in every {cycle:g} "
        "s, from second {at:g}: the agent keeps its results in its on-disk spool; after "
        '{off} s of silence its checks are {s_unknown} and one "agent {name} offline" '
        "incident opens; when the line returns the spool is replayed and replaces the "
        "{s_unknown} time.",
    ),
    "token": (
        "Mã truy cập API (đọc danh sách thông báo, ghi): thongsuot token create TÊN --db {db}",
        "An API token (to read notifications, to write): thongsuot token create NAME --db {db}",
    ),
    "stop": ("Nhấn Ctrl-C để dừng.", "Press Ctrl-C to stop."),
}


def _t(en: bool, key: str) -> str:
    return _BANNER[key][1 if en else 0]


def _kind_notes(stack: DemoStack, en: bool) -> list[str]:
    extras, script = stack.extras, stack.farm.script
    if extras is None:
        return []
    notes = []
    # state words come from app.vocab.states, lower case inside a sentence
    words = {f"s_{s}": state_word(s, "en" if en else "vi").lower() for s in STATES}
    if stack.cert is not None:
        days = (stack.cert.not_after - datetime.now(UTC)).days
        notes.append(_t(en, "tls").format(days=days, warn=extras.cert_warn_days, **words))
    else:
        notes.append(_t(en, "no_tls"))
    if stack.sender is not None:
        notes.append(
            _t(en, "heartbeat").format(
                n=len(stack.sender.tokens),
                beat=script.beat_s,
                code=script.silent_kiosk,
                pause=script.beat_pause_s,
                cycle=script.beat_cycle_s,
                at=script.beat_pause_at_s,
            )
        )
    if stack.agent is not None:
        notes.append(
            _t(en, "agent").format(
                name=stack.agent.name,
                unit=stack.agent.unit.name,
                log=stack.agent.log_path,
                cut=script.line_cut_s,
                cycle=script.line_cycle_s,
                at=script.line_cut_at_s,
                off=extras.agent_offline_after_s,
                **words,
            )
        )
    notes.append(
        _t(en, "freshness").format(
            stall=script.sync_stall_s,
            cycle=script.sync_cycle_s,
            at=script.sync_stall_at_s,
            deg=extras.sync_lag_degraded_s,
            down=extras.sync_lag_down_s,
            **words,
        )
    )
    return notes


def summary_line(snap: Snapshot, settings: Settings) -> str:
    lang: Lang = "en" if settings.lang == "en" else "vi"
    labels = _LABELS[lang]

    def word(state: str) -> str:  # lower case: the words run inside a sentence
        return state_word(state, lang).lower()

    now = datetime.now(ZoneInfo(settings.timezone)).strftime("%H:%M:%S")
    counts = ", ".join(f"{snap.units_by_state.get(s, 0)} {word(s)}" for s in STATES)
    line = (
        f"[{now}] {labels['units']}: {counts} | {labels['incidents']}: {snap.open_incidents}"
        f" | {labels['results']}: {snap.results}"
    )
    kinds = [
        f"{kind}: " + ", ".join(f"{n} {word(s)}" for s, n in sorted(states.items()))
        for kind, states in sorted(snap.checks_by_kind.items())
        if kind != "http"
    ]
    if kinds:
        line += " | " + "; ".join(kinds)
    if snap.down_units:
        shown = ", ".join(snap.down_units[:5]) + (" …" if len(snap.down_units) > 5 else "")
        line += f" | {labels['down_list']}: {shown}"
    return line


def agent_summary(agent: DemoAgent, states: AgentStates, settings: Settings) -> str:
    """`` | agent hy-…-lan: <state>, queue machine: <state>[, line cut]``."""
    lang: Lang = "en" if settings.lang == "en" else "vi"
    labels = _LABELS[lang]

    def word(state: str | None) -> str:
        return state_word(state or "unknown", lang).lower()

    part = (
        f" | agent {agent.name}: {word(states.liveness)}, "
        f"{labels['lan']}: {word(states.checks.get(LAN_CHECK))}"
    )
    if agent.relay.cut:
        part += f", {labels['line_cut']}"
    return part
