"""``thongsuot dead-letters list|replay`` on SQLite and PostgreSQL, through app.cli.main."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.models import Check, DeadLetter, ProbeResult
from app.monitor.evaluator import CheckState, apply_result
from app.monitor.pipeline import ResultPipeline
from probes import ErrorKind
from probes import ProbeResult as Result
from tests import factories

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = await asyncio.to_thread(main, list(argv))
    return code, capsys.readouterr().out


async def test_list_and_replay(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.http")
    cs = CheckState(check.id, check.unit_id, failure_threshold=1)
    down = Result.down(ErrorKind.CONNECT, "refused")
    outs = [
        apply_result(cs, r, T0 + timedelta(seconds=30 * i))
        for i, r in enumerate([Result.up(0.01), down, Result.up(0.01), down])
    ]
    outs[1].result_row["message"] = "máy chủ \ud800 lỗi"  # past clean_text: refused by both
    pipe = ResultPipeline(sessionmaker)
    for out in outs:
        pipe.put(out)
    await pipe.flush()

    code, out = await _cli(capsys, "dead-letters", "list", "--db", db_url)
    assert code == 0
    (line,) = [ln for ln in out.splitlines() if ln.startswith(tuple("0123456789"))]
    letter_id = int(line.split("\t")[0])
    assert f"\t{check.id}\t" in line

    code, out = await _cli(capsys, "dead-letters", "list", "--json", "--db", db_url)
    listed = json.loads(out)
    assert listed["record"]["result_row"]["uid"] == outs[1].result_row["uid"]
    assert "surrogates not allowed" in listed["error"]

    code, out = await _cli(capsys, "dead-letters", "replay", "--db", db_url)
    assert code == 1 and "refused" in out  # the same text is refused again

    code, out = await _cli(
        capsys, "dead-letters", "replay", str(letter_id), "--clean", "--db", db_url
    )
    assert code == 0 and f"{letter_id}: " in out
    async with sessionmaker() as s:
        stored = (
            await s.execute(select(ProbeResult).where(ProbeResult.uid == outs[1].result_row["uid"]))
        ).scalar_one()
        letter = await s.get(DeadLetter, letter_id)
        row = await s.get(Check, check.id)
    assert stored.message == "máy chủ \ufffd lỗi"
    assert letter is not None and letter.replayed_at is not None
    # history only: the old snapshot (state up at T0+30s) did not overwrite the check
    assert row is not None and row.state == "down" and row.state_since == T0 + timedelta(seconds=90)

    code, out = await _cli(capsys, "dead-letters", "list", "--db", db_url)
    assert code == 0 and "no dead letters" in out
    code, out = await _cli(capsys, "dead-letters", "list", "--all", "--db", db_url)
    assert "replayed" in out
