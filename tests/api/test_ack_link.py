"""Signed acknowledgement links: GET shows a page and changes nothing; the button (POST,
signed values in the form body) acknowledges once; bad links get a 4xx page."""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.incidents.links import ack_url
from app.models import Incident, Unit
from tests.api.conftest import T0, TOKEN, Inventory, add_incident

KEY = "khoa-ky-lien-ket-0123456789"
BY = "Nguyễn Văn An <an@xa.gov.vn>"
UNIT = '<b>Xã</b> Tân & "Hưng" 🚨'


@pytest.fixture
def signing_key() -> str | None:
    return KEY


@pytest.fixture
def settings(db_url: str, signing_key: str | None) -> Settings:
    secret = None if signing_key is None else SecretStr(signing_key)
    return Settings(database_url=db_url, api_token=TOKEN, secret_key=secret)


def _link(incident_id: int, expires: float | None = None, by: str = BY) -> str:
    exp = int(time.time() + 3600 if expires is None else expires)
    parts = urlsplit(ack_url("http://thongsuot.test", KEY, incident_id, exp, by))
    return f"{parts.path}?{parts.query}"


class _Form(HTMLParser):
    """The form on the page: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            assert a.get("method") == "post"
            self.action = a.get("action")
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Form:
    form = _Form()
    form.feed(page)
    return form


def _shown(page: str) -> str:
    return " ".join(" ".join(_parse(page).text).split())


async def _incident(
    sm: async_sessionmaker[AsyncSession], inventory: Inventory, **kw: object
) -> int:
    async with sm() as s, s.begin():
        await s.execute(update(Unit).where(Unit.id == inventory.commune.id).values(name=UNIT))
    return await add_incident(sm, inventory.gateway, T0, **kw)  # type: ignore[arg-type]


async def _stored(sm: async_sessionmaker[AsyncSession], incident_id: int) -> Incident:
    async with sm() as s:
        return await s.get_one(Incident, incident_id)


async def _press(client: httpx.AsyncClient, link: str, page: str) -> httpx.Response:
    """What a browser does when the button is pressed: POST the form to its action."""
    form = _parse(page)
    assert form.action is not None, "no button on the page"
    action = httpx.URL(f"http://thongsuot.test{urlsplit(link).path}").join(form.action)
    return await client.post(str(action), data=form.fields)


async def test_get_shows_the_incident_and_changes_nothing_then_the_button_acknowledges_once(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await _incident(sm, inventory)
    link = _link(incident_id)
    for _ in range(3):  # a mail scanner prefetching, a link preview, the person
        page = await client.get(link)
        assert page.status_code == 200, page.text
    assert (await _stored(sm, incident_id)).acknowledged_at is None
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="vi">' in page.text and 'name="viewport"' in page.text
    assert "<script" not in page.text and "<b>Xã</b>" not in page.text  # the name is text
    shown = _shown(page.text)
    assert f"Đơn vị xã {UNIT} (mã 12337)" in shown  # with its kind
    assert "Dịch vụ Dịch vụ 12337.centre" in shown
    assert "Kiểm tra 12337.centre.gw" in shown
    assert "Bắt đầu từ 15:00 02/11/2026 (giờ Việt Nam)" in shown
    assert "Trạng thái đang gián đoạn, chưa có người tiếp nhận" in shown
    assert f"Liên kết này gửi cho {BY}" in shown
    form = _parse(page.text)
    assert form.fields["by"] == BY and form.fields["sig"] in link  # signed values in the body

    done = await _press(client, link, page.text)
    assert done.status_code == 200, done.text
    assert "Đã xác nhận tiếp nhận sự cố" in _shown(done.text)
    stored = await _stored(sm, incident_id)
    assert stored.acknowledged_by == f"{BY} (liên kết)"
    first_ack = stored.acknowledged_at
    assert first_ack is not None
    # the language switch on the answer leads back to the (GET) page, in English
    switch = re.search(r'<a href="([^"]+)">English</a>', done.text)
    assert switch is not None
    english = await client.get(str(done.url.join(html.unescape(switch.group(1)))))
    assert english.status_code == 200 and '<html lang="en">' in english.text

    again = await _press(client, link, page.text)
    assert again.status_code == 200
    assert "đã được xác nhận trước đó" in _shown(again.text).lower()
    assert "Đã xác nhận tiếp nhận sự cố" not in _shown(again.text)
    assert (await _stored(sm, incident_id)).acknowledged_at == first_ack  # not acted again

    later = await client.get(link)
    assert "đã được xác nhận trước đó" in _shown(later.text).lower()
    assert _parse(later.text).action is None  # no button any more


async def test_english_page(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await _incident(sm, inventory)
    page = await client.get(_link(incident_id) + "&lang=en")
    assert page.status_code == 200
    shown = _shown(page.text)
    assert '<html lang="en">' in page.text
    assert "State ongoing, not yet acknowledged" in shown and f"This link was sent to {BY}" in shown
    assert _parse(page.text).fields["lang"] == "en"


async def test_a_closed_incident_has_nothing_to_acknowledge(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await _incident(sm, inventory, ended_at=T0.replace(hour=9))
    link = _link(incident_id)
    page = await client.get(link)
    assert page.status_code == 200
    assert "Sự cố đã kết thúc" in _shown(page.text)
    assert _parse(page.text).action is None
    fields = {"exp": re.search(r"exp=(\d+)", link).group(1), "by": BY}  # type: ignore[union-attr]
    sig = re.search(r"sig=(\w+)", link).group(1)  # type: ignore[union-attr]
    posted = await client.post(
        f"/api/v1/incidents/{incident_id}/ack/confirm", data=fields | {"sig": sig}
    )
    assert posted.status_code == 200 and "Sự cố đã kết thúc" in _shown(posted.text)
    assert (await _stored(sm, incident_id)).acknowledged_at is None


async def test_tampered_expired_and_unknown_links_get_a_vietnamese_4xx_page(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await _incident(sm, inventory)
    link = _link(incident_id)
    sig = re.search(r"sig=(\w+)", link).group(1)  # type: ignore[union-attr]
    exp = re.search(r"exp=(\d+)", link).group(1)  # type: ignore[union-attr]
    tampered = [
        link.replace("sig=", "sig=0"),
        link.replace(f"exp={exp}", f"exp={int(exp) + 1}"),
        link.replace("sig=", "sig=%C3%A9"),  # non-ASCII: a page, not a 500
        f"/api/v1/incidents/{incident_id}/ack",  # nothing signed
        f"/api/v1/incidents/{incident_id}/ack?exp=abc&by=x&sig={sig}",
        _link(incident_id, by="người khác").replace("sig=", "sig=ab"),
    ]
    for url in tampered:
        page = await client.get(url)
        assert page.status_code == 403, (url, page.status_code)
        assert page.headers["content-type"].startswith("text/html")
        assert "Liên kết xác nhận không hợp lệ" in page.text
    expired = await client.get(_link(incident_id, expires=time.time() - 60))
    assert expired.status_code == 410 and "Liên kết xác nhận đã hết hạn" in expired.text
    expired_en = await client.get(_link(incident_id, expires=time.time() - 60) + "&lang=en")
    assert expired_en.status_code == 410 and "has expired" in expired_en.text
    missing = await client.get(_link(incident_id + 1000))
    assert missing.status_code == 404 and "Không có sự cố số" in missing.text

    confirm = f"/api/v1/incidents/{incident_id}/ack/confirm"
    forged = await client.post(confirm, data={"exp": exp, "by": BY, "sig": "0" + sig})
    assert forged.status_code == 403 and "không hợp lệ" in forged.text
    in_url_only = await client.post(f"{confirm}?exp={exp}&by=x&sig={sig}")
    assert in_url_only.status_code == 403  # the signed values must be in the form body
    late = _link(incident_id, expires=time.time() - 60)
    late_exp = re.search(r"exp=(\d+)", late).group(1)  # type: ignore[union-attr]
    late_sig = re.search(r"sig=(\w+)", late).group(1)  # type: ignore[union-attr]
    expired_post = await client.post(confirm, data={"exp": late_exp, "by": BY, "sig": late_sig})
    assert expired_post.status_code == 410
    assert (await _stored(sm, incident_id)).acknowledged_at is None


@pytest.mark.parametrize("signing_key", [None])  # THONGSUOT_SECRET_KEY unset
async def test_without_a_secret_key_links_are_refused(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], inventory: Inventory
) -> None:
    incident_id = await _incident(sm, inventory)
    page = await client.get(_link(incident_id))
    assert page.status_code == 403 and "THONGSUOT_SECRET_KEY" in page.text
    assert (await _stored(sm, incident_id)).acknowledged_at is None
