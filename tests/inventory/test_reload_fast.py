"""Reloads at national scale: an unchanged inventory is not parsed or synced again,
but whatever can change without editing it still takes effect.

- a push-token secret read from ``NAME_FILE`` and rotated in place → synced;
- a token rotated with ``thongsuot push-token`` (SQL only) → taken up, because the
  checks are re-read from SQL by their signature;
- ``?force=true`` syncs anyway; an edited file is synced.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.config import Settings
from app.inventory.flat import CheckSpec
from app.inventory.loader import Parsed, parse_resolved
from app.inventory.service import plan_checks
from app.main import create_app

ADMIN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
SECRET = "THONGSUOT_TEST_FAST_KIOSK"
INVENTORY = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  defaults: {interval: 3600}
  services:
    - kind: provincial_system
      name: Hệ thống thông tin giải quyết TTHC tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:9/"}}
        - name: kiosk
          kind: heartbeat
          options: {period_s: 3600, grace_s: 600, token_secret: THONGSUOT_TEST_FAST_KIOSK}
        - name: queue
          kind: heartbeat
          options: {period_s: 3600, grace_s: 600}
"""


@pytest.fixture
def secret_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "kiosk.token"
    path.write_text("first-kiosk-token-value", encoding="utf-8")
    os.environ[f"{SECRET}_FILE"] = str(path)
    yield path
    del os.environ[f"{SECRET}_FILE"]


async def test_unchanged_reload_skips_the_sync_but_sees_every_other_change(
    db_url: str, tmp_path: Path, secret_file: Path
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    app = create_app(Settings(database_url=db_url, inventory=inventory, api_token=ADMIN))
    async with app.router.lifespan_context(app):
        monitor = app.state.monitor
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reload = lambda **q: client.post("/api/v1/inventory/reload", headers=AUTH, params=q)  # noqa: E731
            first = await reload()
            assert first.json()["inventory"] == {"unchanged": True}
            assert monitor.check_for_push_token("first-kiosk-token-value") is not None

            await asyncio.to_thread(secret_file.write_text, "rotated-kiosk-token-value", "utf-8")
            rotated = (await reload()).json()["inventory"]
            assert rotated["checks_changed"] == ["33.provincial_system.kiosk"]
            assert monitor.check_for_push_token("rotated-kiosk-token-value") is not None
            assert monitor.check_for_push_token("first-kiosk-token-value") is None

            forced = (await reload(force="true")).json()["inventory"]
            assert "unchanged" not in forced and forced["checks_changed"] == []

            edited_text = INVENTORY.replace("grace_s: 600}", "grace_s: 900}")
            await asyncio.to_thread(inventory.write_text, edited_text, "utf-8")
            edited = (await reload()).json()["inventory"]
            assert edited["checks_changed"] == ["33.provincial_system.queue"]

            # a token made with the CLI lands in SQL only; an unchanged reload takes it up
            made = await asyncio.to_thread(_cli_push_token, db_url)
            assert monitor.check_for_push_token(made) is None
            again = (await reload()).json()
            assert again["inventory"] == {"unchanged": True}
            assert monitor.check_for_push_token(made) is not None


def _cli_push_token(db_url: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["push-token", "33.provincial_system.queue", "--db", db_url])
    assert code == 0, out.getvalue()
    return out.getvalue().split("/api/v1/push/")[1].split()[0]


def _spec(key: str, **over: object) -> CheckSpec:
    base: dict[str, object] = dict(
        key=key,
        unit_code="33",
        service_key="33.provincial_system",
        name=key.rsplit(".", 1)[1],
        kind="http",
        target="http://127.0.0.1:9/",
        config={"url": "http://127.0.0.1:9/"},
        config_hash="h",
        interval_s=60,
        timeout_s=10.0,
        failure_threshold=2,
        recovery_threshold=1,
        critical=True,
        enabled=True,
        depends_on=[],
    )
    base.update(over)
    return CheckSpec(**base)  # type: ignore[arg-type]


def test_plan_classifies_against_plain_rows() -> None:
    """The diff is pure (it runs in a worker thread): added, changed, revived, retired."""
    row = {
        "id": 1,
        "retired_at": None,
        "unit_id": 1,
        "service_id": 1,
        "name": "a",
        "kind": "http",
        "target": "http://127.0.0.1:9/",
        "config": {"url": "http://127.0.0.1:9/"},
        "config_hash": "h",
        "interval_s": 60,
        "timeout_s": 10.0,
        "failure_threshold": 2,
        "recovery_threshold": 1,
        "critical": True,
        "enabled": True,
        "depends_on": [],
        "push_token_hash": None,
        "retry_interval_s": None,
        "locations": ["central"],
        "quorum": "any",
    }
    existing = {
        "33.p.a": row,
        "33.p.b": {**row, "id": 2, "name": "b"},
        "33.p.c": {**row, "id": 3, "name": "c", "retired_at": "then"},
        "33.p.d": {**row, "id": 4, "name": "d"},
    }
    specs = [
        _spec("33.p.a"),
        _spec("33.p.b", interval_s=30),
        _spec("33.p.c"),
        _spec("33.p.e"),
    ]
    plan = plan_checks(specs, existing, {"33": 1}, {"33.provincial_system": 1})
    assert plan.keys == {
        "added": ["33.p.e"],
        "changed": ["33.p.b"],
        "revived": ["33.p.c"],
        "unchanged": ["33.p.a"],
    }
    assert plan.retire_ids == [4] and plan.retire_keys == ["33.p.d"]
    assert [u["id"] for u in plan.updates] == [2, 3]
    assert plan.updates[1]["retired_at"] is None


async def test_serve_hands_its_parse_to_the_first_sync_only(
    db_url: str, tmp_path: Path, secret_file: Path
) -> None:
    """``serve`` parses the inventory once: the monitor's first sync takes that parse
    (~36 CPU-s at 17,000 checks) when it is of the file's bytes, and only then."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    portal = '        - {name: portal, kind: http, options: {url: "http://127.0.0.1:9/p"}}\n'
    # a parse labelled with the file's bytes, of another text: what is synced shows
    # which parse the monitor used
    document, flat = parse_resolved(INVENTORY + portal)
    data = inventory.read_bytes()
    settings = Settings(database_url=db_url, inventory=inventory, api_token=ADMIN)
    for handed, synced in (
        (Parsed(data, document, flat), True),
        (Parsed(b"older", document, flat), False),
    ):
        app = create_app(settings, inventory=handed)
        async with app.router.lifespan_context(app):
            monitor = app.state.monitor
            keys = {check.key for check in monitor.checks.values()}
            assert ("33.provincial_system.portal" in keys) is synced
            assert monitor.parsed is None  # taken once, then dropped
            await monitor.reload(force=True)  # from now on, the file itself
            assert "33.provincial_system.portal" not in {c.key for c in monitor.checks.values()}
