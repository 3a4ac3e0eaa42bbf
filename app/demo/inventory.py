"""The demo inventory: N simulated units and the provincial system, all on the farm.

The output is an ordinary inventory file (docs/inventory.md), so the demo goes
through the same loader, sync and scheduler as a real deployment.
"""

from __future__ import annotations

import json
from typing import Any

from app.demo.units import PROVINCE_CODE, PROVINCE_NAME, demo_units

KEYWORD = "Dịch vụ công"
PROVINCE_CHECK_KEY = f"{PROVINCE_CODE}.provincial_system.tthc"
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
) -> dict[str, Any]:
    """The same inventory as plain data (for tests and for callers that edit it)."""
    if not 1 <= checks_per_unit <= len(SERVICE_PATHS):
        raise ValueError(f"checks_per_unit must be 1..{len(SERVICE_PATHS)}")
    base = base_url.rstrip("/")
    options = {"keyword": KEYWORD, "degraded_latency_ms": degraded_latency_ms}
    province_check = _check("tthc", "Trang TTHC", f"{base}/province/tthc/health", options)
    return {
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


def _check(name: str, title: str, url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "title": title, "kind": "http", "options": {"url": url, **options}}


def _unit(
    code: str, name: str, kind: str, base: str, options: dict[str, Any], n: int
) -> dict[str, Any]:
    checks = [
        _check(svc, _TITLES[svc], f"{base}/u/{code}/{svc}/health", options)
        for svc in SERVICE_PATHS[:n]
    ]
    for check in checks:  # a provincial outage explains the communes' (DESIGN.md §1)
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
