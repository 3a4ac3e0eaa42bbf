from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.agent.config import load_config
from app.agent.runner import Agent
from tests.agent.fake_central import FakeCentral, assignment
from tests.support.http import Reply, ScriptedHTTP

TOKEN = "tsa_" + "k" * 40


def write_config(tmp: Path, central_url: str, token: str = TOKEN, **extra: Any) -> Path:
    (tmp / "token").write_text(token + "\n")
    lines = [
        f'central_url = "{central_url}"',
        'token_file = "token"',
        'spool_dir = "spool"',
        'name = "hy-12337-lan"',
    ]
    for key, value in extra.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    path = tmp / "agent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
async def target() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP(routes={"/": Reply(200, "ok")}).start()
    yield server
    await server.close()


@pytest.fixture
async def central(target: ScriptedHTTP) -> AsyncIterator[FakeCentral]:
    fake = await FakeCentral({TOKEN}, assignment(target.url("/"))).start()
    yield fake
    await fake.close()


@contextlib.asynccontextmanager
async def running(config: Path) -> AsyncIterator[Agent]:
    agent = Agent(load_config(config))
    task = asyncio.create_task(agent.run())
    try:
        yield agent
    finally:
        agent.stop()
        await asyncio.wait_for(task, 20)
