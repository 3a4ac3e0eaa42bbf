"""Scheduled report delivery (issue 12 part 2): when a report is due (a pure function of
``now`` and the last period queued), who gets it, and the mails a loopback SMTP relay
receives — files attached and readable, each recipient once, also across a restart."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import MonitorRun, OutboxNotification, Unit
from app.notify import repository as repo
from app.notify.dispatcher import Dispatcher, DispatchSettings
from app.notify.policy import Reports, parse_policy
from app.notify.reports import (
    PDF,
    XLSX,
    due_period,
    last_queued,
    latest_finished,
    queue_reports,
    recipients,
    report_rows,
)
from app.notify.service import Notifier
from app.reports import rollup
from app.reports.delivery import ReportFiles
from tests.api.conftest import add_flips, make_check, make_service
from tests.notify.conftest import outbox
from tests.support.smtp import SmtpServer, start_smtp
from tests.support.tools import require_tool
from tests.support.wait import until

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


# when ---------------------------------------------------------------------------------
def test_monthly_report_is_due_at_seven_on_the_first() -> None:
    before = local(2026, 12, 1, 6, 59)
    at = local(2026, 12, 1, 7, 0)
    assert latest_finished(before, "month", 7).label == "2026-10"
    november = due_period(at, "month", 7, "2026-10")
    assert november is not None
    assert (november.label, november.first, november.last) == (
        "2026-11",
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert due_period(before, "month", 7, "2026-10") is None  # not yet
    assert due_period(at, "month", 7, "2026-11") is None  # already queued
    assert due_period(local(2026, 12, 20), "month", 7, "2026-11") is None


def test_the_clock_is_read_in_vietnam_time() -> None:
    # 00:00 UTC on the 1st is 07:00 in Hà Nội
    found = due_period(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "month", 7, None)
    assert found is not None and found.label == "2026-11"
    assert due_period(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "month", 7, "2026-10") is None


def test_a_long_stop_sends_only_the_latest_period() -> None:
    found = due_period(local(2027, 2, 5, 9), "month", 7, "2026-11")
    assert found is not None and found.label == "2027-01"  # not December, then January
    january = due_period(local(2027, 1, 1, 7), "month", 7, "2026-11")
    assert january is not None and (january.label, january.first) == ("2026-12", date(2026, 12, 1))


def test_a_new_installation_starts_with_the_next_report() -> None:
    found = due_period(local(2026, 12, 8, 7), "month", 7, None)  # a week late: still sent
    assert found is not None and found.label == "2026-11"
    assert due_period(local(2026, 12, 8, 7, 1), "month", 7, None) is None
    assert due_period(local(2026, 12, 1, 6, 59), "month", 7, None) is None  # October: too old
    assert due_period(local(2026, 12, 1, 7, 1), "week", 7, None) is None  # a day and a minute
    monday = due_period(local(2026, 11, 30, 9), "week", 7, None)
    assert monday is not None and monday.label == "2026-W48"


def test_weekly_report_on_monday_including_the_year_end() -> None:
    week = due_period(local(2026, 11, 30, 7), "week", 7, None)  # a Monday
    assert week is not None
    assert (week.label, week.first, week.last) == (
        "2026-W48",
        date(2026, 11, 23),
        date(2026, 11, 29),
    )
    assert due_period(local(2026, 11, 30, 6, 59), "week", 7, "2026-W47") is None
    new_year = due_period(local(2027, 1, 4, 8), "week", 7, "2026-W52")
    assert new_year is not None
    assert (new_year.label, new_year.first, new_year.last) == (
        "2026-W53",
        date(2026, 12, 28),
        date(2027, 1, 3),
    )


def test_recipients_of_the_province_and_the_heads() -> None:
    province = Unit(code="33", name="Tỉnh Hưng Yên", kind="province", settings={})
    province.settings = {
        "contacts": [
            {"name": "Lê Văn Trực", "role": "on_call", "email": "truc@hungyen.gov.vn"},
            {"name": "Phạm Văn A", "role": "head", "email": "ct@hungyen.gov.vn"},
        ]
    }
    commune = Unit(code="12337", name="Xã Hoàng Hoa Thám", kind="commune")
    commune.settings = {
        "contacts": [
            {"name": "Trần Thị Hoa", "role": "head", "email": "hoa@xa.gov.vn"},
            {"name": "Nguyễn Văn Tâm", "role": "it_focal_point", "email": "tam@xa.gov.vn"},
        ]
    }
    no_mail = Unit(code="12338", name="Xã Khác", kind="commune")
    no_mail.settings = {"contacts": [{"name": "X", "role": "head", "phone": "0912345678"}]}
    reports = Reports(to=["vp@hungyen.gov.vn"], province_contacts=["on_call"])
    assert recipients(reports, [province, commune, no_mail]) == [
        (None, "Tỉnh Hưng Yên", "", "vp@hungyen.gov.vn"),
        (None, "Tỉnh Hưng Yên", "Lê Văn Trực", "truc@hungyen.gov.vn"),
        ("12337", "Xã Hoàng Hoa Thám", "Trần Thị Hoa", "hoa@xa.gov.vn"),
    ]
    off = Reports(to=["vp@hungyen.gov.vn"], unit_heads=False)
    assert [r[3] for r in recipients(off, [province, commune])] == ["vp@hungyen.gov.vn"]


def test_the_policy_section_is_validated() -> None:
    with pytest.raises(ValueError, match=r"reports\.hour"):
        parse_policy({"reports": {"hour": 24}})
    with pytest.raises(ValueError, match=r"reports\.to"):
        parse_policy({"reports": {"to": ["not an address"]}})
    with pytest.raises(ValueError, match=r"reports\.weekly"):
        parse_policy({"reports": {"weekly": "sometimes"}})
    assert parse_policy({"reports": {"weekly": True}}).reports == Reports(weekly=True)


# end to end ---------------------------------------------------------------------------
PROVINCE_TO = "van.phong@hungyen.gov.vn"
HEAD_MAIL = "hoa@hoanghoatham.gov.vn"
FIRST = local(2026, 12, 1, 7, 0).astimezone(UTC)


@pytest.fixture
async def relay() -> AsyncIterator[SmtpServer]:
    server = await start_smtp()
    yield server
    await server.close()


async def _month(sm: async_sessionmaker[AsyncSession]) -> None:
    """November 2026: two communes, one down for an hour; rollups computed."""
    async with sm() as s, s.begin():
        province = Unit(code="33", name="Tỉnh Hưng Yên", kind="province", settings={})
        province.settings = {
            "contacts": [{"name": "Lê Văn Trực", "role": "on_call", "email": "truc@hungyen.gov.vn"}]
        }
        s.add(province)
        await s.flush()
        units = []
        for code, name, head in (
            ("12337", "Xã Hoàng Hoa Thám", HEAD_MAIL),
            ("12338", "Phường Hiến Nam", None),
        ):
            contacts: list[dict[str, Any]] = [{"name": "Trần Thị Hoa", "role": "head"}]
            if head:
                contacts[0]["email"] = head
            unit = Unit(
                code=code,
                name=name,
                kind="commune",
                parent_id=province.id,
                settings={"contacts": contacts},
            )
            s.add(unit)
            await s.flush()
            service = await make_service(s, f"{code}.centre", unit, "commune_centre")
            units.append(make_check(f"{code}.centre.gw", unit, service, "icmp", "up"))
        s.add_all(units)
        s.add(
            MonitorRun(
                uid=uuid.uuid4().hex,
                started_at=local(2026, 11, 1),
                last_seen_at=FIRST,
                stopped_at=None,
            )
        )
    await add_flips(
        sm,
        units[0],
        (local(2026, 11, 1), "up"),
        (local(2026, 11, 10, 9), "down"),
        (local(2026, 11, 10, 10), "up"),
    )
    await add_flips(sm, units[1], (local(2026, 11, 1), "up"))
    async with sm() as s, s.begin():
        await rollup.recompute(s, date(2026, 11, 1), FIRST)


class Clock:
    """The notifier's fixed clock; a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, *args: int) -> datetime:
        self.at = local(*args).astimezone(UTC)
        return self.at


def _settings(db_url: str, relay: SmtpServer) -> Settings:
    return Settings(
        database_url=db_url,
        notify_tick_s=0.2,
        notify_retry_base_s=0.2,
        notify_lease_s=1.0,
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_from="baocao@hungyen.gov.vn",
    )


async def _notifier(
    db_url: str, sm: async_sessionmaker[AsyncSession], relay: SmtpServer, clock: Clock
) -> Notifier:
    """A running notifier (its loop ticks every 0.2 s on ``clock``) that renders reports."""
    notifier = Notifier(_settings(db_url, relay), sm, reports=ReportFiles(sm), clock=clock)
    await notifier.reload()
    notifier.start()
    return notifier


async def _policy(sm: async_sessionmaker[AsyncSession]) -> None:
    document = {
        "contact_channels": {"email": {}},
        "reports": {"to": [PROVINCE_TO], "province_contacts": ["on_call"]},
    }
    async with sm() as s, s.begin():
        await repo.save_policy(s, document)


def _files(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    found: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_attachments():
        name = part.get_filename()
        assert name is not None
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[name] = (part.get_content_type(), payload)
    return found


def _unit_names(xlsx: bytes) -> set[str]:
    book = load_workbook(io.BytesIO(xlsx))
    sheet = book["Đơn vị"]
    return {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext extracts it (the fonts are embedded)."""
    done = subprocess.run(
        [require_tool("pdftotext"), "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def _rcpts(relay: SmtpServer) -> list[str]:
    return sorted(address for env in relay.mailbox.envelopes for address in env.rcpt_tos)


ALL = sorted([PROVINCE_TO, "truc@hungyen.gov.vn", HEAD_MAIL])


async def test_reports_are_mailed_once_with_their_files(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], relay: SmtpServer
) -> None:
    await _month(sessionmaker)
    await _policy(sessionmaker)
    clock = Clock(local(2026, 12, 1, 6, 59).astimezone(UTC))
    notifier = await _notifier(db_url, sessionmaker, relay, clock)
    try:
        await notifier.tick()
        assert relay.mailbox.messages == [] and await outbox(sessionmaker) == []  # not yet 07:00
        clock.set(2026, 12, 1, 7, 0)
        await until(lambda: len(relay.mailbox.messages) == 3, 10)
        for later in ((2026, 12, 1, 7, 5), (2026, 12, 20), (2026, 12, 31, 23, 59)):
            clock.set(*later)
            await notifier.tick()
    finally:
        await notifier.stop()
    assert _rcpts(relay) == ALL
    mails = relay.mailbox.messages
    by_rcpt = {env.rcpt_tos[0]: m for env, m in zip(relay.mailbox.envelopes, mails, strict=True)}
    province, head = by_rcpt[PROVINCE_TO], by_rcpt[HEAD_MAIL]
    assert province["Subject"] == "[THÔNG SUỐT] Báo cáo tháng 11/2026 – Tỉnh Hưng Yên"
    assert head["Subject"] == "[THÔNG SUỐT] Báo cáo tháng 11/2026 – Xã Hoàng Hoa Thám"
    assert province["X-Thongsuot-Event"] == "report"
    assert province.get_content_type() == "multipart/mixed"
    text = head.get_body(("plain",))
    assert text is not None
    assert "Kính gửi Trần Thị Hoa" in text.get_content()
    assert "từ ngày 01/11/2026 đến hết ngày 30/11/2026" in text.get_content()

    files = _files(province)
    xlsx_name = "Báo cáo thông suốt 2026-11 - Tỉnh Hưng Yên.xlsx"
    assert files[xlsx_name][0] == XLSX
    assert {"Xã Hoàng Hoa Thám", "Phường Hiến Nam"} <= _unit_names(files[xlsx_name][1])
    # the filename travels RFC 2231-encoded (filename*0*=utf-8''…): its diacritics survive
    raw = next(e.original_content for e in relay.mailbox.envelopes if PROVINCE_TO in e.rcpt_tos)
    assert re.search(rb"filename\*(0\*)?=utf-8''B%C3%A1o%20c%C3%A1o", raw or b"")

    pdf_name = "Báo cáo thông suốt 2026-11 - Tỉnh Hưng Yên.pdf"
    assert files[pdf_name][0] == PDF and files[pdf_name][1].startswith(b"%PDF")
    text_of_pdf = _pdf_text(files[pdf_name][1])
    assert "Xã Hoàng Hoa Thám" in text_of_pdf and "Phường Hiến Nam" in text_of_pdf

    own = _files(head)
    stem = "Báo cáo thông suốt 2026-11 - Xã Hoàng Hoa Thám"
    assert set(own) == {f"{stem}.pdf", f"{stem}.xlsx", f"{stem}.csv"}
    own_pdf = _pdf_text(own[f"{stem}.pdf"][1])
    assert "Xã Hoàng Hoa Thám" in own_pdf and "Phường Hiến Nam" not in own_pdf
    sheet = _unit_names(own[f"{stem}.xlsx"][1])
    assert "Xã Hoàng Hoa Thám" in sheet and "Phường Hiến Nam" not in sheet
    table = list(csv.reader(io.StringIO(own[f"{stem}.csv"][1].decode("utf-8-sig"))))
    assert [row[0] for row in table[1:-1]] == ["12337"]  # its own row, then the totals

    rows = await outbox(sessionmaker)
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
    assert sorted(r.dedupe_key for r in rows) == sorted(
        [
            f"report:month:2026-11:province:{PROVINCE_TO}",
            "report:month:2026-11:province:truc@hungyen.gov.vn",
            f"report:month:2026-11:12337:{HEAD_MAIL}",
        ]
    )


async def test_a_notifier_killed_after_its_claim_sends_nothing_twice(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], relay: SmtpServer
) -> None:
    await _month(sessionmaker)
    await _policy(sessionmaker)
    clock = Clock(local(2026, 12, 1, 7, 0).astimezone(UTC))
    async with sessionmaker() as s:
        policy = parse_policy(await repo.load_policy(s))
    async with sessionmaker() as s, s.begin():  # the first notifier's tick: rows queued ...
        assert await queue_reports(s, policy, clock()) == 3
    async with httpx.AsyncClient() as client:
        first = Dispatcher(sessionmaker, client, DispatchSettings("http://t", lease_s=3600))
        claimed = await first._claim(datetime.now(UTC))  # ... claimed for an hour ...
    assert len(claimed) == 3  # ... and the process is killed before sending

    second = await _notifier(db_url, sessionmaker, relay, clock)
    try:
        await second.tick()  # the claims hold: nothing sent, nothing queued again
        assert relay.mailbox.messages == []
        async with sessionmaker() as s, s.begin():  # an hour later the leases have run out
            await s.execute(update(OutboxNotification).values(claimed_until=datetime.now(UTC)))
        await until(lambda: len(relay.mailbox.messages) == 3, 15)
        for later in ((2026, 12, 1, 7, 1), (2026, 12, 2)):
            clock.set(*later)
            await second.tick()
    finally:
        await second.stop()
    third = await _notifier(db_url, sessionmaker, relay, Clock(clock.set(2026, 12, 2, 8)))
    try:  # a restart the next day
        await third.tick()
    finally:
        await third.stop()
    assert _rcpts(relay) == ALL
    rows = await outbox(sessionmaker)
    assert len(rows) == 3 and {r.status for r in rows} == {"delivered"}


async def test_two_replicas_deciding_at_once_queue_each_mail_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _month(sessionmaker)
    await _policy(sessionmaker)
    async with sessionmaker() as s:
        policy = parse_policy(await repo.load_policy(s))
    now = local(2026, 12, 1, 7).astimezone(UTC)
    async with sessionmaker() as a, sessionmaker() as b:
        # both read "nothing queued yet" before either writes
        due = [due_period(now, "month", 7, await last_queued(x, "month")) for x in (a, b)]
        assert due[0] == due[1] is not None and due[0] is not None
        for session in (a, b):
            await repo.enqueue(session, await report_rows(session, policy, due[0], now))
            await session.commit()
    rows = await outbox(sessionmaker)
    assert len(rows) == 3 and len({r.dedupe_key for r in rows}) == 3


async def test_ticks_read_the_outbox_only_when_a_period_ends(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], relay: SmtpServer
) -> None:
    await _month(sessionmaker)
    await _policy(sessionmaker)
    asked: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "max(notification.dedupe_key)" in statement:
            asked.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    clock = Clock(local(2026, 12, 1, 7).astimezone(UTC))
    notifier = Notifier(
        _settings(db_url, relay), sessionmaker, reports=ReportFiles(sessionmaker), clock=clock
    )
    await notifier.reload()
    try:
        for minute in range(10):
            clock.set(2026, 12, 1, 7, minute)
            await notifier.tick()
        assert len(asked) == 1  # November asked once, then remembered
        clock.set(2027, 1, 1, 7)
        await notifier.tick()
        assert len(asked) == 2  # December has finished: asked again
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    rows = await outbox(sessionmaker)
    assert sorted({r.dedupe_key.split(":")[2] for r in rows}) == ["2026-11", "2026-12"]


async def test_a_relay_refusing_for_now_is_retried(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], relay: SmtpServer
) -> None:
    await _month(sessionmaker)
    await _policy(sessionmaker)
    relay.mailbox.data_reply = "451 4.3.0 try again later"
    notifier = await _notifier(
        db_url, sessionmaker, relay, Clock(local(2026, 12, 1, 7).astimezone(UTC))
    )
    try:
        rows: list[OutboxNotification] = []

        async def refused() -> bool:
            rows[:] = await outbox(sessionmaker)
            return len(rows) == 3 and all("451" in r.last_error for r in rows)

        await until(refused, 10)
        assert {r.status for r in rows} == {"pending"}
        relay.mailbox.data_reply = None
        await until(lambda: len(relay.mailbox.messages) == 3, 15)
    finally:
        await notifier.stop()
    assert _rcpts(relay) == ALL
