"""``thongsuot token create`` (issue 11.5): the token is plainly visible (alone on stdout,
what it is and how to use it on stderr); an unmigrated database is one clear line."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import verify
from app.cli import main


def test_create_prints_the_token_and_how_to_use_it(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "grafana", "--scope", "read", "--db", db_url]) == 0
    out, err = capsys.readouterr()
    [token] = out.splitlines()
    assert len(token) >= 40 and token.isascii()
    assert "grafana" in err and "chỉ hiển thị một lần" in err
    assert f"Authorization: Bearer {token}" in err

    async def check() -> None:
        async with sessionmaker() as session, session.begin():
            found = await verify(session, token)
            assert found is not None and found.name == "grafana" and found.scope == "read"

    asyncio.run(check())


def test_an_unmigrated_database_is_one_line_not_a_traceback(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/trong.db"
    assert main(["token", "create", "grafana", "--db", url]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert "thongsuot db upgrade --db" in line and "Traceback" not in err
