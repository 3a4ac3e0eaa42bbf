"""``thongsuot agent create|token|revoke|list`` on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.db import make_engine, make_sessionmaker
from app.models import AgentToken
from tests.agents.inventory_text import AGENTS_TEXT


async def _tokens(db_url: str) -> list[AgentToken]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s:
            return list((await s.execute(select(AgentToken).order_by(AgentToken.id))).scalars())
    finally:
        await engine.dispose()


def test_create_rotate_revoke_list(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(AGENTS_TEXT, encoding="utf-8")
    common = ["--db", db_url, "--inventory", str(inv)]
    assert main(["agent", "create", "hy-12337-lan", *common]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("tsa_") and "chỉ hiển thị một lần" in out.err
    assert main(["agent", "create", "hy-12337-lan", *common]) == 2
    assert "agent token" in capsys.readouterr().err
    assert main(["agent", "token", "hy-12337-lan", *common]) == 0
    second = capsys.readouterr().out.strip()
    assert main(["agent", "token", "hy-12337-lan", *common]) == 2  # two active at most
    assert "revoke one first" in capsys.readouterr().err
    assert main(["agent", "create", "hy-nobody", *common]) == 2
    assert "not declared" in capsys.readouterr().err
    assert main(["agent", "list", *common]) == 0
    listing = capsys.readouterr().out
    assert "hy-12337-lan" in listing and token[:10] in listing and token not in listing
    assert main(["agent", "revoke", "hy-12337-lan", "--token-prefix", token[:10], *common]) == 0
    assert "revoked" in capsys.readouterr().out
    tokens = asyncio.run(_tokens(db_url))
    assert [t.revoked_at is not None for t in tokens] == [True, False]
    assert tokens[1].prefix == second[:10]
    assert token not in {t.token_hash for t in tokens}
