"""Messages a commune head can act on (issue 11.2): a short headline naming the unit
once, what to do and whom to call, how to acknowledge; SMS in one segment with a short
ack link; escalations naming who was alerted first and for how long nobody answered."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Incident
from app.notify import repository as repo
from app.notify.channels.base import Notification
from app.notify.channels.config import SmtpConfig
from app.notify.dispatcher import Dispatcher, DispatchSettings
from app.notify.messages.instructions import DEFAULT_INSTRUCTIONS, instructions_for
from app.notify.messages.render import render
from app.notify.messages.sms_text import capacity, encoding_of, fit_sms, segments_needed, units
from app.notify.planner import PlanInput, plan
from app.notify.policy import parse_policy
from app.vocab.fmt import format_short_time
from app.vocab.words import ERROR_KINDS, SERVICE_KINDS
from tests import factories
from tests.notify.conftest import FOCAL_CHAT, SECRET_KEY, Far, outbox
from tests.support.notes import make_note
from tests.support.wait import until

ROOT = Path(__file__).resolve().parents[2]
UNITS_CSV = ROOT / "tests" / "inventory" / "data" / "hung-yen-communes-2025.csv"
KINDS = {"xã": "commune", "phường": "ward", "đặc khu": "special_zone"}
PUBLIC = "https://giamsat.hungyen.gov.vn"
T = datetime(2026, 12, 2, 2, 18, tzinfo=UTC)  # 09:18 02/12 in Vietnam


def _units() -> list[tuple[str, str, str]]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        return [(r["code_qd19_2025"], KINDS[r["type"]], r["name"]) for r in csv.DictReader(fh)]


def _down(code: str, kind: str, name: str, error_kind: str) -> Notification:
    return make_note(
        unit_code=code,
        unit_kind=kind,
        unit_name=name,
        service_name=f"Trung tâm phục vụ hành chính công {name}",
        error_kind=error_kind,
        message="TimeoutError: no complete answer within the timeout",
        started_at=T,
        now=T + timedelta(minutes=3),
        short_ack_url=f"{PUBLIC}/a/1234567.ABCDEFGHJK",
        instructions=instructions_for("commune_centre", "vi"),
    )


def test_the_headline_names_the_unit_once_with_time_and_cause() -> None:
    note = _down("12337", "commune", "Xã Hoàng Hoa Thám", "connect")
    rendered = render(note)
    headline = rendered.text.splitlines()[0]
    assert headline == (
        "[GIÁN ĐOẠN] TTPVHCC xã Hoàng Hoa Thám gián đoạn từ 09:18 02/12: "
        "không kết nối được tới máy chủ."
    )
    assert rendered.subject == "[GIÁN ĐOẠN] TTPVHCC xã Hoàng Hoa Thám từ 09:18 02/12"
    # then what to do, then how to acknowledge, in that order
    text = rendered.text
    assert text.index("Cần làm: Kiểm tra đường truyền") < text.index("Xác nhận đã tiếp nhận")
    for shape in (rendered.text, rendered.html, rendered.chat_html, rendered.short):
        assert "TimeoutError" not in shape and "no complete answer" not in shape
    english = render(replace(note, lang="en", instructions=instructions_for("x", "en")))
    assert english.text.splitlines()[0] == (
        "[DOWN] Service centre, Hoàng Hoa Thám commune down since 09:18 02/12: "
        "could not connect to the server."
    )
    assert "What to do: Check the service" in english.text


def test_province_level_services_are_not_named_twice() -> None:
    note = make_note(
        unit_kind="province",
        unit_name="Hưng Yên",
        service_kind="provincial_portal",
        service_name="Cổng thông tin điện tử tỉnh Hưng Yên",
    )
    assert render(note).subject == "[GIÁN ĐOẠN] Cổng TTĐT tỉnh Hưng Yên từ 23:50 12/05"
    other = replace(note, service_kind="emc", service_name="Hệ thống EMC")
    assert render(other).subject == "[GIÁN ĐOẠN] Hệ thống EMC – tỉnh Hưng Yên từ 23:50 12/05"
    same = replace(other, service_name="Hệ thống EMC tỉnh Hưng Yên")
    assert render(same).subject == "[GIÁN ĐOẠN] Hệ thống EMC tỉnh Hưng Yên từ 23:50 12/05"


def test_every_built_in_service_kind_has_default_instructions_in_both_languages() -> None:
    assert set(SERVICE_KINDS) <= set(DEFAULT_INSTRUCTIONS)
    for kind in SERVICE_KINDS:
        vi, en = (instructions_for(kind, lang) for lang in ("vi", "en"))
        assert vi and en and vi != en and en.isascii(), kind
    configured = {"commune_centre": "Gọi 0221 3 999 999 (Tổ trực)", "default": "Gọi trực ban"}
    assert instructions_for("commune_centre", "vi", configured) == configured["commune_centre"]
    assert instructions_for("lgsp", "vi", configured) == "Gọi trực ban"


def test_the_inventory_sets_instructions_per_service_kind_validated() -> None:
    policy = parse_policy({"instructions": {"commune_centre": "  Gọi   0221 3 999 999  "}})
    assert policy.instructions == {"commune_centre": "Gọi 0221 3 999 999"}
    with pytest.raises(ValidationError, match="unknown service kinds: commune_center"):
        parse_policy({"instructions": {"commune_center": "x"}})
    with pytest.raises(ValidationError):
        parse_policy({"instructions": {"lgsp": ""}})


def test_recoveries_and_tests_carry_no_instructions_or_ack_link() -> None:
    note = _down("12337", "commune", "Hoàng Hoa Thám", "connect")
    for event in ("up", "test"):
        rendered = render(replace(note, event=event))  # type: ignore[arg-type]
        assert "Cần làm" not in rendered.text and "/a/" not in rendered.short
        assert "Xác nhận đã tiếp nhận" not in rendered.text


def test_down_sms_fits_one_segment_with_its_ack_link_for_every_hung_yen_unit() -> None:
    """Folded (GSM-7) every notice of the 104 units, for every error kind, is one segment
    of at most 160 characters that starts with the essentials and ends with the link."""
    longest = 0
    for code, kind, name in _units():
        for error_kind in ERROR_KINDS:
            short = render(_down(code, kind, name, error_kind)).short
            sms = fit_sms(short, ascii=True)
            assert encoding_of(sms) == "gsm7" and segments_needed(sms) == 1, sms
            assert units(sms, "gsm7") <= 160
            assert sms.endswith(f" {PUBLIC}/a/1234567.ABCDEFGHJK"), sms
            assert sms.startswith("[GIAN DOAN] TTPVHCC "), sms
            assert " tu 09:18 02/12" in sms, sms  # the time is never cut
            longest = max(longest, len(short))
            # with diacritics it fits one UCS-2 segment (70); a short public URL keeps the
            # link there too (a long one leaves no room for words: fold to GSM-7 instead)
            ucs2 = fit_sms(short, ascii=False)
            assert encoding_of(ucs2) == "ucs2" and units(ucs2, "ucs2") <= capacity("ucs2", 1)
            tiny = fit_sms(short.replace(PUBLIC, "https://gs.hy.vn"), ascii=False)
            assert units(tiny, "ucs2") <= 70 and tiny.endswith(
                " https://gs.hy.vn/a/1234567.ABCDEFGHJK"
            )
            assert tiny.startswith("[GIÁN ĐOẠN] TTPVHCC"), tiny
    assert longest > 160  # some needed cutting: the cut kept the link


def test_a_typical_down_sms_is_not_cut() -> None:
    sms = fit_sms(render(_down("12337", "commune", "Hoàng Hoa Thám", "connect")).short, ascii=True)
    assert sms == (
        "[GIAN DOAN] TTPVHCC xa Hoang Hoa Tham tu 09:18 02/12: khong ket noi duoc toi may chu. "
        f"Xac nhan: {PUBLIC}/a/1234567.ABCDEFGHJK"
    )


# --- through the planner and the dispatcher, on SQLite and PostgreSQL ----------------


async def _commune(sm: async_sessionmaker[AsyncSession], far: Far, start: datetime) -> int:
    async with sm() as s, s.begin():
        unit = await factories.unit(s, "12337", "Hoàng Hoa Thám", "commune")
        unit.settings = {
            "contacts": [
                {"name": "Nguyễn Văn A", "role": "it_focal_point", "telegram": FOCAL_CHAT},
                {"name": "Trần Thị Hoa", "role": "head", "email": "chu.tich@xa.example.invalid"},
            ]
        }
        check = await factories.http_check(s, "http://127.0.0.1:9/health", key="12337.centre.gw")
        incident = Incident(
            check_id=check.id,
            unit_id=unit.id,
            started_at=start,
            created_at=start,
            error_kind="connect",
            message="ConnectError: [Errno 111] Connection refused",
        )
        s.add(incident)
        policy = far.policy(
            routes=[],
            escalation={
                "default": {
                    "levels": [
                        {"after_s": 0, "contacts": ["it_focal_point"]},
                        {"after_s": 900, "contacts": ["head"]},
                    ]
                }
            },
        )
        await repo.save_policy(s, policy)
        await s.flush()
        return incident.id


async def test_escalation_names_who_was_alerted_first_and_for_how_long(
    sessionmaker: async_sessionmaker[AsyncSession], far: Far
) -> None:
    # it began 15 minutes ago (the dispatcher words durations as of the real now)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=15)
    incident_id = await _commune(sessionmaker, far, start)
    async with sessionmaker() as s:
        policy = parse_policy(await repo.load_policy(s))
    # a send that fails under load (a slow loopback SMTP session) is retried soon
    settings = DispatchSettings(PUBLIC, secret_key=SECRET_KEY, retry_base_s=0.2, retry_max_s=0.5)
    smtp = SmtpConfig(host="127.0.0.1", port=far.smtp_port, from_addr="canhbao@example.invalid")
    instructions = {"commune_centre": "Gọi Tổ trực kỹ thuật tỉnh: 0900000001."}
    async with httpx.AsyncClient(trust_env=False) as client:
        sender = Dispatcher(
            sessionmaker, client, settings, smtp=smtp, instructions=lambda: instructions
        )
        for at in (start + timedelta(seconds=2), start + timedelta(seconds=2, minutes=15)):
            async with sessionmaker() as s, s.begin():
                await plan(s, PlanInput(now=at, policy=policy, maintenance=set()))
            await sender.run_once()

        async def delivered() -> bool:
            if all(row.status == "delivered" for row in await outbox(sessionmaker)):
                return True
            await sender.run_once()
            return False

        await until(delivered, 15, every=0.3)
    [first] = far.telegram.delivered
    assert first["chat_id"] == FOCAL_CHAT
    lines = first["text"].splitlines()
    assert lines[0] == (
        f"<b>[GIÁN ĐOẠN]</b> TTPVHCC xã Hoàng Hoa Thám gián đoạn từ {format_short_time(start)}: "
        "không kết nối được tới máy chủ."
    )
    assert "<b>Cần làm:</b> Gọi Tổ trực kỹ thuật tỉnh: 0900000001." in lines
    assert f"{PUBLIC}/incidents/{incident_id}?sig=" in first["text"]
    assert "/api/v1/incidents/" in first["text"]  # only inside the ack link …
    assert f'/api/v1/incidents/{incident_id}"' not in first["text"]  # … never raw JSON
    assert "Connection refused" not in first["text"]
    [mail] = far.mailbox.messages
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    headline = body.splitlines()[0]
    clock = format_short_time(start).split()[0]
    assert re.fullmatch(
        r"\[CHUYỂN CẤP\] TTPVHCC xã Hoàng Hoa Thám gián đoạn đã 1[5-9] phút "
        r"\(không kết nối được tới máy chủ\)\. "
        rf"Đã báo Nguyễn Văn A \(Cán bộ CNTT\) lúc {clock}, chưa xác nhận sau 15 phút\.",
        headline,
    ), headline
    assert "Chuyển cấp:" not in body and str(mail["Subject"]).count("CHUYỂN CẤP") == 1
    rows = [r for r in await outbox(sessionmaker) if r.event == "escalation"]
    assert [r.recipient for r in rows] == ["Trần Thị Hoa (head, email)"]


def test_a_test_message_says_the_unit_and_role_it_was_sent_for() -> None:
    note = make_note(event="test", unit_kind="commune", unit_name="Xã Hoàng Hoa Thám")
    note = replace(note, unit_code="12337", recipient_role="head", incident_id=None)
    rendered = render(note)
    assert (
        "Bạn nhận tin này với vai trò Người đứng đầu của xã Hoàng Hoa Thám (mã 12337)."
        in rendered.text
    )
    assert rendered.short.startswith(
        "[THỬ NGHIỆM] Tin thử nghiệm từ thongsuot tới Người đứng đầu xã Hoàng Hoa Thám"
    )
