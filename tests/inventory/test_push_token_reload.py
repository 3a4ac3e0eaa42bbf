"""Which push token wins across a reload: the inventory's ``token_secret`` or the API's.

With ``token_secret`` the secret is the source of truth: the API (and the CLI) refuse
to rotate (409, saying to change the secret), so a reload cannot silently undo a
rotation. Without it, a token made through the API survives reloads.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.config import Settings
from app.main import create_app
from tests.support.wait import until

ADMIN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
KEY = "33.provincial_system.kiosk"
SECRET_NAME = "THONGSUOT_TEST_KIOSK_TOKEN_33"
SECRET_VALUE = "kiosk-secret-from-the-environment-33"
INVENTORY = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  services:
    - kind: provincial_system
      name: Hệ thống thông tin giải quyết TTHC tỉnh
      checks:
        - name: kiosk
          kind: heartbeat
          interval: 3600
          options: {{period_s: 3600, grace_s: 600{secret}}}
"""


@pytest.fixture
def secret_env() -> Iterator[None]:
    os.environ[SECRET_NAME] = SECRET_VALUE
    yield
    del os.environ[SECRET_NAME]


def _inventory(path: Path, token_secret: bool) -> Path:
    secret = f", token_secret: {SECRET_NAME}" if token_secret else ""
    path.write_text(INVENTORY.format(secret=secret), encoding="utf-8")
    return path


async def _beat(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(f"/api/v1/push/{token}")).status_code


@pytest.mark.usefixtures("secret_env")
async def test_with_token_secret_the_secret_wins_and_rotation_is_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _inventory(tmp_path / "inventory.yaml", token_secret=True)
    app = create_app(Settings(database_url=db_url, inventory=path, api_token=ADMIN))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert await _beat(client, SECRET_VALUE) == 200
            resp = await client.post(f"/api/v1/checks/{KEY}/push-token", headers=AUTH)
            assert resp.status_code == 409, resp.text
            assert resp.json()["error"] == "conflict"
            assert SECRET_NAME in resp.json()["detail"]  # says which secret to change
            # the CLI refuses too (exit 2), naming the secret
            code = await asyncio.to_thread(main, ["push-token", KEY, "--db", db_url])
            assert code == 2
            assert SECRET_NAME in capsys.readouterr().err
            reload = await client.post("/api/v1/inventory/reload", headers=AUTH)
            assert reload.status_code == 200, reload.text
            assert await _beat(client, SECRET_VALUE) == 200  # the secret's token still works


async def test_without_token_secret_an_api_rotated_token_survives_reloads(
    db_url: str, tmp_path: Path
) -> None:
    path = _inventory(tmp_path / "inventory.yaml", token_secret=False)
    app = create_app(Settings(database_url=db_url, inventory=path, api_token=ADMIN))
    async with app.router.lifespan_context(app):
        monitor = app.state.monitor
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.post(f"/api/v1/checks/{KEY}/push-token", headers=AUTH)
            assert resp.status_code == 200, resp.text
            token = resp.json()["token"]
            assert await _beat(client, token) == 200
            reload = await client.post("/api/v1/inventory/reload", headers=AUTH)
            assert reload.status_code == 200, reload.text
            assert await _beat(client, token) == 200
            # and through SIGHUP, after the file changed (the check is rewritten)
            path.write_text(path.read_text().replace("grace_s: 600", "grace_s: 900"))
            generation = monitor.checks[next(iter(monitor.checks))].config
            os.kill(os.getpid(), signal.SIGHUP)
            await until(lambda: monitor.checks[next(iter(monitor.checks))].config != generation)
            assert await _beat(client, token) == 200
