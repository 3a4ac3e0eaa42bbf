"""The incident page for people (/incidents/{id}) and the short SMS ack link (/a/…).

A signed link shows what is down, since when and why in words, the dependants, the
updates, and whom the monitor told (names and roles, never addresses); a read token
also shows the addresses. No signature: a 403 page. The page's button acknowledges
once (POST). /a/{delivery}.{sig} leads to that message's full signed ack link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.incidents.links import sign_short, sign_view, view_url
from app.models import Incident, OutboxNotification, Unit
from tests.api.conftest import AUTH, T0, TOKEN, Inventory, add_incident

KEY = "khoa-ky-trang-su-co-0123456789"
HEAD_MAIL, HEAD_PHONE = "chu.tich@hoanghoatham.example.invalid", "0900000123"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, api_token=TOKEN, secret_key=SecretStr(KEY))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            self.parts.append(data)


def shown(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def _page(incident_id: int, lang: str = "vi") -> str:
    parts = urlsplit(view_url("http://thongsuot.test", KEY, incident_id))
    return f"{parts.path}?{parts.query}" + ("&lang=en" if lang == "en" else "")


async def _story(sm: async_sessionmaker[AsyncSession], inv: Inventory) -> tuple[int, int, int]:
    """An open incident of the commune's gateway with a dependant, two notices and an
    update; returns (incident id, dependant id, the e-mail notice's outbox id)."""
    from app.models import IncidentUpdate

    async with sm() as s, s.begin():
        await s.execute(
            update(Unit).where(Unit.id == inv.commune.id).values(name="Xã Hoàng Hoa Thám")
        )
    incident_id = await add_incident(sm, inv.gateway, T0)
    child = await add_incident(sm, inv.kiosk, T0 + timedelta(minutes=1))
    async with sm() as s, s.begin():
        await s.execute(
            update(Incident)
            .where(Incident.id == child)
            .values(parent_incident_id=incident_id, notify_state="suppressed")
        )
        rows = [
            OutboxNotification(
                dedupe_key=f"i{incident_id}:down:0:0:{kind}",
                incident_id=incident_id,
                event="down",
                level=0,
                route=f"L0:head:Trần Văn Bình:{kind}",
                recipient=f"Trần Văn Bình (head, {kind})",
                channel_type=kind,
                channel_config=config,
                lang="vi",
                payload={},
                status="delivered",
                created_at=T0 + timedelta(minutes=2),
                sent_at=T0 + timedelta(minutes=2),
            )
            for kind, config in (
                ("email", {"type": "email", "to": [HEAD_MAIL]}),
                ("sms", {"type": "sms", "phone": HEAD_PHONE, "url": "https://sms.invalid/"}),
            )
        ]
        s.add_all(rows)
        s.add(
            IncidentUpdate(
                incident_id=incident_id,
                stage="identified",
                message="Đứt cáp quang, dự kiến 10:30",
                created_by="trực ca",
                created_at=T0 + timedelta(minutes=20),
            )
        )
        await s.flush()
        mail_id = rows[0].id
    return incident_id, child, mail_id


async def test_signed_page_says_what_since_when_why_and_who_was_told_without_addresses(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id, child, _ = await _story(sm, inventory)
    page = await client.get(_page(incident_id))
    assert page.status_code == 200, page.text
    assert '<html lang="vi">' in page.text and 'name="viewport"' in page.text
    assert "<script" not in page.text and page.headers["cache-control"] == "no-store"
    text = shown(page.text)
    assert "TTPVHCC xã Hoàng Hoa Thám" in text
    assert "Nguyên nhân quá thời gian chờ phản hồi" in text
    assert "hết thời gian chờ" not in text  # the probe's own message stays in the API
    assert "Bắt đầu từ 15:00 02/11/2026 (giờ Việt Nam)" in text
    assert "Trần Văn Bình (Người đứng đầu), qua thư điện tử" in text
    assert "Trần Văn Bình (Người đứng đầu), qua tin nhắn SMS" in text
    assert HEAD_MAIL not in page.text and HEAD_PHONE not in page.text
    assert "Đã xác định nguyên nhân" in text and "Đứt cáp quang, dự kiến 10:30" in text
    assert "Đơn vị bị ảnh hưởng theo (1)" in text and f'href="{child}?sig=' in page.text
    assert 'action="' in page.text and "Tôi tiếp nhận xử lý sự cố này" in text

    english = await client.get(_page(incident_id, "en"))
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert "Cause timed out waiting for a response" in shown(english.text)
    assert "Trần Văn Bình (Head), by e-mail" in shown(english.text)

    # the dependant's page points back to the parent
    child_page = await client.get(_page(child))
    assert "Do sự cố cấp trên: " in shown(child_page.text)
    assert f'href="{incident_id}?sig=' in child_page.text


async def test_no_signature_or_a_wrong_one_is_a_vietnamese_403_and_a_token_shows_addresses(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id, _, _ = await _story(sm, inventory)
    for url in (f"/incidents/{incident_id}", _page(incident_id).replace("sig=", "sig=0")):
        refused = await client.get(url)
        assert refused.status_code == 403
        assert "Không mở được trang sự cố" in shown(refused.text)
        assert "Trần Văn Bình" not in refused.text
    other = await client.get(_page(incident_id).replace(f"/{incident_id}?", "/999999?"))
    assert other.status_code == 403  # a signature is for one incident only
    missing = await client.get(f"/incidents/999999?sig={sign_view(KEY, 999999)}")
    assert missing.status_code == 404 and "Không có sự cố này" in shown(missing.text)
    with_token = await client.get(f"/incidents/{incident_id}", headers=AUTH)
    assert with_token.status_code == 200
    assert HEAD_MAIL in with_token.text and HEAD_PHONE in with_token.text
    bad_token = await client.get(
        f"/incidents/{incident_id}", headers={"Authorization": "Bearer wrong"}
    )
    assert bad_token.status_code == 401


async def test_the_button_acknowledges_once(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id, _, _ = await _story(sm, inventory)
    sig = sign_view(KEY, incident_id)
    action = f"/incidents/{incident_id}/ack"
    forged = await client.post(action, data={"sig": "0" + sig[1:], "name": "Lê C"})
    assert forged.status_code == 403
    nameless = await client.post(action, data={"sig": sig, "name": "  "})
    assert nameless.status_code == 422
    first = await client.post(action, data={"sig": sig, "name": "Lê Văn Cường"})
    assert first.status_code == 303
    after = httpx.URL(f"http://thongsuot.test{action}").join(first.headers["location"])
    page = await client.get(str(after))
    text = shown(page.text)
    assert "Đã xác nhận tiếp nhận xử lý" in text and "Lê Văn Cường (trang sự cố)" in text
    assert "Tôi tiếp nhận xử lý sự cố này" not in text  # no button any more
    async with sm() as s:
        stored = await s.get_one(Incident, incident_id)
        assert stored.acknowledged_by == "Lê Văn Cường (trang sự cố)"
        first_at = stored.acknowledged_at
    again = await client.post(action, data={"sig": sig, "name": "Người khác"})
    assert "done=before" in again.headers["location"]
    async with sm() as s:
        stored = await s.get_one(Incident, incident_id)
        assert stored.acknowledged_by == "Lê Văn Cường (trang sự cố)"
        assert stored.acknowledged_at == first_at


async def test_short_link_opens_the_full_ack_page_naming_person_role_unit_and_channel(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id, _, mail_id = await _story(sm, inventory)
    async with sm() as s, s.begin():  # sent an hour ago: its link is valid for 7 days
        row = await s.get_one(OutboxNotification, mail_id)
        row.created_at = datetime.now(UTC) - timedelta(hours=1)
    short = f"/a/{mail_id}.{sign_short(KEY, mail_id).lower()}"  # retyped in lower case
    hop = await client.get(short)
    assert hop.status_code == 303
    target = httpx.URL(f"http://thongsuot.test{short}").join(hop.headers["location"])
    assert target.path == f"/api/v1/incidents/{incident_id}/ack"
    assert parse_qs(target.query.decode())["by"] == ["Trần Văn Bình (head, email)"]
    page = await client.get(str(target))
    assert page.status_code == 200
    text = shown(page.text)
    assert "Liên kết này gửi cho Trần Văn Bình (Người đứng đầu), qua thư điện tử" in text
    assert "Đơn vị xã Hoàng Hoa Thám (mã 12337)" in text
    fields = {k: v[0] for k, v in parse_qs(target.query.decode()).items()}
    done = await client.post(f"/api/v1/incidents/{incident_id}/ack/confirm", data=fields)
    text = shown(done.text).replace(" ,", ",")  # the name is in <strong>
    assert (
        "Người xác nhận: Trần Văn Bình (Người đứng đầu), qua thư điện tử, xã Hoàng Hoa Thám."
        in text
    )
    assert "(head, email)" not in text

    tampered = await client.get(f"/a/{mail_id}.AAAAAAAAAA")
    assert tampered.status_code == 403
    unknown = mail_id + 1000
    assert (await client.get(f"/a/{unknown}.{sign_short(KEY, unknown)}")).status_code == 404
    async with sm() as s, s.begin():
        row = await s.get_one(OutboxNotification, mail_id)
        row.created_at = datetime.now(UTC) - timedelta(days=8)
    expired = await client.get(short)
    assert expired.status_code == 410
