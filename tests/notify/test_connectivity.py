"""The monitor's own connectivity notices: wording in both languages, one restore per loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.notify import connectivity
from app.notify.messages.render import render
from app.notify.policy import parse_policy
from tests import factories
from tests.notify.conftest import outbox
from tests.support.notes import make_note

LOST_AT = datetime(2026, 5, 12, 16, 50, tzinfo=UTC)  # 23:50 in Vietnam
BACK_AT = LOST_AT + timedelta(minutes=7)
WORDS = {
    "vi": ("[GIÁM SÁT ĐÃ KẾT NỐI LẠI]", "Hệ thống giám sát đã kết nối lại tới", "sau 7 phút"),
    "en": ("[MONITOR CONNECTIVITY RESTORED]", "The monitor has regained connectivity", "7 minutes"),
}
BODY = {
    "vi": "Dịch vụ: 21 kiểm tra (hệ thống giám sát thongsuot)\n",
    "en": "Service: 21 checks (the thongsuot monitor)\n",
}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_restored_wording_in_both_languages(lang: str) -> None:
    note = make_note(
        event="monitor_connectivity",
        incident_state="resolved",
        service_kind="monitor",
        service_name="21 kiểm tra" if lang == "vi" else "21 checks",
        started_at=LOST_AT,
        now=BACK_AT,
        lang=lang,
    )
    tag, headline, duration = WORDS[lang]
    rendered = render(note)
    assert rendered.subject.startswith(tag) and rendered.short.startswith(tag)
    for body in (rendered.text, rendered.html, rendered.chat_html):
        assert headline in body and duration in body
    assert "23:57 12/05/2026" in rendered.text  # when it came back, Vietnam time
    assert BODY[lang] in rendered.text
    assert rendered.short_ascii.isascii()
    lost = render(make_note(event="monitor_connectivity", lang=lang))
    assert headline not in lost.text and not lost.subject.startswith(tag)


def _policy(**extra: object) -> dict[str, object]:
    return {
        "channels": {
            "ops": {"type": "webhook", "url": "http://127.0.0.1:9/ops"},
            "tinh": {"type": "webhook", "url": "http://127.0.0.1:9/tinh"},
        },
        "operators": {"channels": ["ops", "tinh"]},
    } | extra


async def _restore(sm: async_sessionmaker[AsyncSession], at: datetime) -> int:
    async with sm() as s, s.begin():
        return await connectivity.queue_restored(s, at, at)


async def test_one_restore_per_loss_to_the_same_destinations(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await _restore(sessionmaker, LOST_AT) == 0  # nothing was lost: nothing to restore
    async with sessionmaker() as s, s.begin():
        await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
        lost = await connectivity.queue_lost(
            s, parse_policy(_policy()), 21, LOST_AT, "canary checks failing", LOST_AT
        )
    assert lost == 2
    assert await _restore(sessionmaker, BACK_AT) == 2
    assert await _restore(sessionmaker, BACK_AT + timedelta(seconds=5)) == 0  # already restored
    rows = await outbox(sessionmaker)
    assert [(r.route, r.payload["incident_state"]) for r in rows] == [
        ("ops:channel:ops", "open"),
        ("ops:channel:tinh", "open"),
        ("ops:channel:ops", "resolved"),
        ("ops:channel:tinh", "resolved"),
    ]
    back = rows[2].payload
    assert back["duration_s"] == 420 and back["ended_at"] == BACK_AT.isoformat()
    assert back["unit_name"] == "Tỉnh Hưng Yên" and back["service_name"] == "21 kiểm tra"
    # a second episode gets its own loss and its own restore
    later = BACK_AT + timedelta(hours=1)
    async with sessionmaker() as s, s.begin():
        await connectivity.queue_lost(s, parse_policy(_policy()), 21, later, "x", later)
    assert await _restore(sessionmaker, later + timedelta(minutes=1)) == 2
    assert len(await outbox(sessionmaker)) == 8
