"""``thongsuot notify-test``: a test message through the stored policy's channels, each
outcome printed, exit 0 only if every destination got it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.notify import repository as repo
from app.notify.channels.webhook import verify_signature
from tests import factories
from tests.notify.conftest import (
    COMMUNE_CONTACTS,
    FOCAL_CHAT,
    FOCAL_MAIL,
    FOCAL_ZALO,
    ONCALL_CHAT,
    WEBHOOK_KEY,
    Far,
)


@pytest.fixture
def env(db_url: str, far: Far, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THONGSUOT_DATABASE_URL", db_url)
    monkeypatch.setenv("THONGSUOT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("THONGSUOT_SMTP_PORT", str(far.smtp_port))
    monkeypatch.setenv("THONGSUOT_SMTP_FROM", "canhbao@hungyen.gov.vn")


async def _store(sm: async_sessionmaker[AsyncSession], policy: dict[str, Any]) -> None:
    async with sm() as s, s.begin():
        await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
        unit = await factories.unit(s, "12337", "Xã Hoàng Hoa Thám")
        unit.settings = {"contacts": COMMUNE_CONTACTS}
        await repo.save_policy(s, policy)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """Run the real entry point (its own event loop, in a thread: the fakes serve in ours)."""
    code = await asyncio.to_thread(main, ["notify-test", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


@pytest.mark.usefixtures("env")
async def test_every_named_channel_is_told_and_printed(
    sessionmaker: async_sessionmaker[AsyncSession], far: Far, capsys: pytest.CaptureFixture[str]
) -> None:
    await _store(sessionmaker, far.policy())
    code, lines, _ = await _cli(capsys)
    assert code == 0
    assert sorted(line.split()[0:2] for line in lines[:-1]) == [
        ["ok", "ioc"],
        ["ok", "ops"],
        ["ok", "tinh"],
    ]
    assert (
        all("đã gửi" in line for line in lines[:-1]) and lines[-1] == "Đã gửi 3/3 tin thử nghiệm."
    )
    assert far.ioc.events() == ["test"] and far.ops.events() == ["test"]
    [hook] = far.ioc.received
    assert verify_signature(WEBHOOK_KEY.encode(), hook.body, hook.headers["x-thongsuot-signature"])
    assert hook.json()["subject"] == "[THỬ NGHIỆM] Kiểm tra kênh thông báo"
    assert hook.json()["unit"]["name"] == "Tỉnh Hưng Yên"
    [chat] = far.telegram.delivered
    assert chat["chat_id"] == ONCALL_CHAT and "[THỬ NGHIỆM]" in chat["text"]
    assert "vai trò" not in chat["text"]  # a group channel has no role
    assert far.zalo.delivered == [] and far.esms.delivered == [] and far.mailbox.messages == []


@pytest.mark.usefixtures("env")
async def test_contacts_of_a_role_in_a_unit_in_english(
    sessionmaker: async_sessionmaker[AsyncSession], far: Far, capsys: pytest.CaptureFixture[str]
) -> None:
    await _store(sessionmaker, far.policy())
    code, lines, _ = await _cli(
        capsys, "--contact", "it_focal_point", "--unit", "12337", "--lang", "en"
    )
    assert code == 0 and lines[-1] == "Delivered 3 of 3 test messages."
    for line, kind in zip(sorted(lines[:-1]), ("Telegram", "Zalo", "e-mail"), strict=True):
        assert line.startswith(f"ok         Nguyễn Văn Tâm (IT focal point), by {kind}: delivered")
    assert [m["chat_id"] for m in far.telegram.delivered] == [FOCAL_CHAT]
    assert far.telegram.delivered[0]["text"].startswith("<b>[TEST]</b>")
    # the message says which unit and role the recipient is registered under
    assert (
        "You get it as IT focal point of Hoàng Hoa Thám commune (code 12337)."
        in far.telegram.delivered[0]["text"]
    )
    assert far.zalo.delivered[0]["recipient"]["user_id"] == FOCAL_ZALO
    [mail] = far.mailbox.messages
    assert mail["To"] == FOCAL_MAIL and str(mail["Subject"]) == "[TEST] Notification channel test"
    assert far.esms.delivered == [] and far.ioc.received == []  # the head was not asked


@pytest.mark.usefixtures("env")
async def test_transient_and_permanent_failures_exit_1_with_detail(
    sessionmaker: async_sessionmaker[AsyncSession], far: Far, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = far.policy()
    policy["channels"] = policy["channels"] | {
        "sai-nhom": {
            "type": "telegram",
            "chat_id": "-404",
            "bot_token_secret": "TS_TG_TOKEN",
            "base_url": far.urls["telegram"],
        }
    }
    await _store(sessionmaker, policy)
    far.ioc.status = 503
    code, lines, _ = await _cli(capsys, "--channel", "ioc")
    assert code == 1 and len(lines) == 2
    assert lines[0].startswith("transient  ioc (webhook): lỗi tạm thời") and "HTTP 503" in lines[0]
    assert lines[1] == "Đã gửi 0/1 tin thử nghiệm."
    code, lines, _ = await _cli(capsys, "--channel", "sai-nhom", "--lang", "en")
    assert code == 1
    assert lines[0].startswith("permanent  sai-nhom (telegram): permanent failure")
    assert "chat not found" in lines[0]
    far.ioc.status = 200
    code, lines, _ = await _cli(capsys, "--channel", "ioc")
    assert code == 0 and lines[0].startswith("ok         ioc (webhook): đã gửi – HTTP 200")


@pytest.mark.usefixtures("env")
async def test_what_cannot_run_exits_2(
    sessionmaker: async_sessionmaker[AsyncSession], far: Far, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await _cli(capsys)
    assert code == 2 and "chưa có chính sách thông báo" in err  # nothing stored yet
    await _store(sessionmaker, far.policy())
    for argv, words in [
        (["--channel", "khong-co"], "known: ioc, ops, tinh"),
        (["--contact", "head"], "--contact needs --unit"),
        (["--contact", "head", "--unit", "99999"], "no unit with code 99999"),
        (["--contact", "vendor", "--unit", "12337"], "no reachable vendor contact"),
        (["--channel", "ioc", "--contact", "head", "--unit", "12337"], "not both"),
    ]:
        code, lines, err = await _cli(capsys, *argv)
        assert (code, lines) == (2, []) and words in err, argv
    assert sum(far.counts().values()) == 0
