"""The demo inventory: N simulated units and the provincial system, all on the farm.

The output is an ordinary inventory file (docs/inventory.md), so the demo goes
through the same loader, sync and scheduler as a real deployment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.demo.units import PROVINCE_CODE, PROVINCE_NAME, demo_units

KEYWORD = "Dịch vụ công"
PROVINCE_CHECK_KEY = f"{PROVINCE_CODE}.provincial_system.tthc"
NATIONAL_CODE = "VN"
HEARTBEAT_CHECK = "heartbeat"  # the kiosk's heartbeat check, in each kiosk unit's centre
SYNC_CHECK_KEY = f"{PROVINCE_CODE}.provincial_system.sync"
TLS_CHECK_KEY = f"{PROVINCE_CODE}.provincial_portal.tls"
# Paths on the farm; a unit's services share its scripted behaviour.
SERVICE_PATHS = ("dvc", "tiepnhan", "motcua", "kiosk", "danhgia", "xephang", "mang", "lienthong")
_TITLES = {
    "dvc": "Cổng dịch vụ công của xã",
    "tiepnhan": "Tiếp nhận hồ sơ",
    "motcua": "Phần mềm một cửa",
    "kiosk": "Ki-ốt tra cứu",
    "danhgia": "Thiết bị đánh giá hài lòng",
    "xephang": "Máy xếp hàng tự động",
    "mang": "Đường truyền tới tỉnh",
    "lienthong": "Liên thông dữ liệu",
}


@dataclass(frozen=True, slots=True)
class DemoExtras:
    """The demo's checks beyond plain HTTP: each probe kind at work on the farm.

    - the national shared services (unit ``VN``): the portal over HTTPS, the SSO;
    - the provincial portal over HTTPS and a ``tls`` check of its certificate
      (``tls_base`` and ``ca_file`` come from the farm's TLS listener; without
      them these checks are left out);
    - a ``freshness`` check of the provincial system's sync to the national portal;
    - ``heartbeat`` checks for the kiosks of the first ``kiosks`` units.

    Heartbeat and freshness checks run every ``fast_interval_s``.
    """

    tls_base: str | None = None
    ca_file: str | None = None
    cert_warn_days: float = 14.0
    cert_critical_days: float = 3.0
    kiosks: int = 3
    beat_period_s: float = 5.0
    beat_grace_s: float = 5.0
    sync_lag_degraded_s: float = 20.0
    sync_lag_down_s: float = 40.0
    fast_interval_s: int = 5
    # A remote agent inside one commune (app/demo/agent.py): the unit's queue machine
    # (on its LAN) from the agent only, its public portal from central and the agent
    # (quorum ``any``); ``thongsuot demo`` turns it on. ``agent_unit`` is set by the demo
    # stack; ``agent_offline_after_s`` of silence makes the agent offline.
    agent: bool = False
    agent_unit: str | None = None
    agent_offline_after_s: int = 20


def heartbeat_key(code: str) -> str:
    """The key of unit ``code``'s kiosk heartbeat check."""
    return f"{code}.commune_centre.{HEARTBEAT_CHECK}"


def demo_inventory(
    base_url: str,
    units: int = 12,
    interval_s: int = 10,
    *,
    timeout_s: float = 3.0,
    failure_threshold: int = 2,
    recovery_threshold: int = 1,
    degraded_latency_ms: float = 1000.0,
    checks_per_unit: int = 1,
    extras: DemoExtras | None = None,
) -> str:
    """A YAML inventory of ``units`` demo units plus the provincial system.

    With the defaults (10 s interval, down after 2 failures, up after 1 success)
    and the farm's default script (40 s outages every 100 s, staggered), a
    newcomer sees units go down and come back within two minutes; the farm's
    slow units (1.5 s) show as degraded against the 1 s latency threshold.
    """
    return dump_yaml(
        demo_inventory_data(
            base_url,
            units,
            interval_s,
            timeout_s=timeout_s,
            failure_threshold=failure_threshold,
            recovery_threshold=recovery_threshold,
            degraded_latency_ms=degraded_latency_ms,
            checks_per_unit=checks_per_unit,
            extras=extras,
        )
    )


def demo_inventory_data(
    base_url: str,
    units: int = 12,
    interval_s: int = 10,
    *,
    timeout_s: float = 3.0,
    failure_threshold: int = 2,
    recovery_threshold: int = 1,
    degraded_latency_ms: float = 1000.0,
    checks_per_unit: int = 1,
    extras: DemoExtras | None = None,
) -> dict[str, Any]:
    """The same inventory as plain data (for tests and for callers that edit it)."""
    if not 1 <= checks_per_unit <= len(SERVICE_PATHS):
        raise ValueError(f"checks_per_unit must be 1..{len(SERVICE_PATHS)}")
    base = base_url.rstrip("/")
    options = {"keyword": KEYWORD, "degraded_latency_ms": degraded_latency_ms}
    province_check = _check("tthc", "Trang TTHC", f"{base}/province/tthc/health", options)
    data: dict[str, Any] = {
        "version": 1,
        "province": {
            "code": PROVINCE_CODE,
            "name": PROVINCE_NAME,
            "defaults": {
                "interval": interval_s,
                "timeout": timeout_s,
                "failure_threshold": failure_threshold,
                "recovery_threshold": recovery_threshold,
            },
            "services": [
                {
                    "kind": "provincial_system",
                    "name": "Hệ thống thông tin giải quyết TTHC tỉnh (mô phỏng)",
                    "checks": [province_check],
                }
            ],
        },
        "units": [
            _unit(u.code, u.name, u.kind, base, options, checks_per_unit) for u in demo_units(units)
        ],
    }
    if extras is not None:
        _add_extras(data, base, options, extras)
    return data


def _add_extras(
    data: dict[str, Any], base: str, options: dict[str, Any], extras: DemoExtras
) -> None:
    tls_base = extras.tls_base.rstrip("/") if extras.tls_base else None
    portal_url = f"{tls_base or base}/national/portal/health"
    data["national"] = {
        "code": NATIONAL_CODE,
        "name": "Dịch vụ dùng chung quốc gia (mô phỏng)",
        "services": [
            _service("national_portal", "Cổng Dịch vụ công quốc gia (mô phỏng)", [
                _check("home", "Trang chủ", portal_url, options)]),
            _service("national_sso", "Hệ thống xác thực tập trung (mô phỏng)", [
                _check("login", "Trang đăng nhập", f"{base}/national/sso/health", options)]),
        ],
    }  # fmt: skip
    province = data["province"]
    province["services"][0]["checks"].append(_sync_check(base, extras))
    if tls_base is not None:
        province["services"].append(_portal_service(tls_base, options, extras))
    for unit in data["units"][: extras.kiosks]:
        unit["services"][0]["checks"].append(_heartbeat_check(extras))
    if extras.agent and extras.agent_unit is not None:
        _add_agent(data, base, options, extras.agent_unit, extras)


def _add_agent(
    data: dict[str, Any], base: str, options: dict[str, Any], code: str, extras: DemoExtras
) -> None:
    """The commune agent: declared under ``agents:``; the unit's first check (its
    portal) from central and the agent, and its queue machine from the agent only."""
    from app.demo.agent import LAN_CHECK, agent_name

    name = agent_name(code)
    unit = next((u for u in data["units"] if u["code"] == code), None)
    if unit is None:
        raise ValueError(f"agent unit {code} is not among the demo units")
    checks = unit["services"][0]["checks"]
    checks[0]["locations"] = ["central", name]
    checks[0]["quorum"] = "any"
    if not any(c["name"] == LAN_CHECK for c in checks):
        lan = _check(LAN_CHECK, _TITLES[LAN_CHECK], f"{base}/u/{code}/{LAN_CHECK}/health", options)
        checks.append(lan)
    next(c for c in checks if c["name"] == LAN_CHECK)["location"] = name
    data["agents"] = [
        {"name": name, "units": [code], "offline_after": extras.agent_offline_after_s}
    ]


def _sync_check(base: str, extras: DemoExtras) -> dict[str, Any]:
    return {
        "name": "sync",
        "title": "Đồng bộ hồ sơ lên Cổng DVC quốc gia",
        "kind": "freshness",
        "interval": extras.fast_interval_s,
        "options": {
            "source": "http",
            "url": f"{base}/province/sync/status",
            "json_path": "$.last_synced_at",
            "lag_degraded_s": extras.sync_lag_degraded_s,
            "lag_down_s": extras.sync_lag_down_s,
        },
    }


def _portal_service(tls_base: str, options: dict[str, Any], extras: DemoExtras) -> dict[str, Any]:
    host, _, port = tls_base.split("://", 1)[1].rpartition(":")
    tls = {
        "name": "tls",
        "title": "Chứng thư số của cổng",
        "kind": "tls",
        "options": {
            "host": host.strip("[]"),
            "port": int(port),
            "ca_file": extras.ca_file,
            "warn_days": extras.cert_warn_days,
            "critical_days": extras.cert_critical_days,
        },
    }
    https = _check("home", "Trang chủ (HTTPS)", f"{tls_base}/province/portal/health", options)
    return _service("provincial_portal", "Cổng thông tin điện tử tỉnh (mô phỏng)", [https, tls])


def _heartbeat_check(extras: DemoExtras) -> dict[str, Any]:
    return {
        "name": HEARTBEAT_CHECK,
        "title": "Ki-ốt tra cứu (heartbeat)",
        "kind": "heartbeat",
        "interval": extras.fast_interval_s,
        "options": {"period_s": extras.beat_period_s, "grace_s": extras.beat_grace_s},
    }


def _service(kind: str, name: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "name": name, "checks": checks}


def _check(name: str, title: str, url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "title": title, "kind": "http", "options": {"url": url, **options}}


def _unit(
    code: str, name: str, kind: str, base: str, options: dict[str, Any], n: int
) -> dict[str, Any]:
    checks = [
        _check(svc, _TITLES[svc], f"{base}/u/{code}/{svc}/health", options)
        for svc in SERVICE_PATHS[:n]
    ]
    for check in checks:  # a provincial outage explains the communes' (docs/design.md §1)
        check["depends_on"] = [PROVINCE_CHECK_KEY]
    service = {"kind": "commune_centre", "name": f"TTPVHCC {name} (mô phỏng)", "checks": checks}
    return {"code": code, "name": name, "kind": kind, "services": [service]}


def dump_yaml(data: dict[str, Any]) -> str:
    """Block-style YAML in insertion order; strings double-quoted (JSON escapes are YAML).

    A tiny emitter rather than a YAML library: the national bench writes 17,000
    checks and a general dumper takes seconds for that.
    """
    lines = ["# Kho mục tiêu mô phỏng của thongsuot demo: mọi địa chỉ trỏ tới trang trại loopback."]
    _emit_map(data, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "null"
    return json.dumps(str(value), ensure_ascii=False)


def _emit_map(data: dict[str, Any], indent: int, lines: list[str], first: str = "") -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(data.items()):
        lead = first if i == 0 and first else pad
        if isinstance(value, dict) and value:
            lines.append(f"{lead}{key}:")
            _emit_map(value, indent + 2, lines)
        elif isinstance(value, list) and value:
            lines.append(f"{lead}{key}:")
            _emit_list(value, indent + 2, lines)
        else:
            empty = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else None
            lines.append(f"{lead}{key}: {empty or _scalar(value)}")


def _emit_list(items: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            _emit_map(item, indent + 2, lines, first=f"{pad}- ")
        else:
            lines.append(f"{pad}- {_scalar(item)}")
