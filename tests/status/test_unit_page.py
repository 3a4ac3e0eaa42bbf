"""/status/{code}: one unit with its kind, facts, services, history, incidents and
maintenance; the badge; the feeds (issue 11.1)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.status import scenario

ATOM = "{http://www.w3.org/2005/Atom}"


async def test_unit_facts(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status/12370")).text
    assert "<h1>Phường Bắc Thái Ninh</h1>" in html
    assert "<dd>phường</dd>" in html and "<dd>12370</dd>" in html
    assert "Số 5 đường Lê Lợi, phường Bắc Thái Ninh" in html
    assert "Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00" in html
    assert 'href="tel:02213861234"' in html
    assert 'href="/status/33">Tỉnh Hưng Yên</a>' in html  # the parent


async def test_unit_history_incidents_and_maintenance(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status/12337")).text
    assert "<h1>Xã Hoàng Hoa Thám</h1>" in html
    day = scenario.OUTAGE_DAY.strftime("%d/%m")
    assert f"{day}: gián đoạn 14 phút trong giờ phục vụ" in html  # the day's text alternative
    bars = re.findall(r'<ol class="bars"[^>]*>(.*?)</ol>', html)
    assert len(bars) == 2 and all(b.count("<li ") == 90 for b in bars)  # the unit, its service
    # 840 s down of 29 whole days x 8 h of service hours (today has no rollup yet)
    assert "30 ngày <strong>99,9\u00a0%</strong>" in html
    ongoing = html[html.index("Sự cố đang diễn ra") : html.index("Bảo trì theo kế hoạch")]
    assert "Quá thời gian chờ phản hồi" in ongoing
    assert re.search(r"\(1 giờ 1[56] phút\)", ongoing)  # started 75 min before the page
    past = html[html.index("Sự cố đã qua") :]
    assert "Máy chủ trả về mã trạng thái lỗi" in past and "Đã thay thiết bị mạng" in past
    ahead = html[html.index("Bảo trì theo kế hoạch") : html.index("90 ngày qua")]
    assert "Thay máy chủ" in ahead and "Từ " in ahead and " đến " in ahead
    assert "Nâng cấp đường truyền" not in ahead  # another unit's window


async def test_a_service_of_non_critical_checks_shows_their_state(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    built: scenario.Built,
) -> None:
    """The agent's service (its liveness check is not critical) shows its check's state,
    not "unknown"; the unit's state still comes from its critical checks."""
    async with sessionmaker() as s, s.begin():
        await scenario.agent_service(s, built, "12361", "commune_centre", "tien-hoa", "up")
    html = (await client.get("/status/12361")).text
    cards = dict(re.findall(r'<h3>([^<]*) · <span class="s (\w+)">', html))
    assert cards["Điểm đo tại chỗ"] == "up"
    assert cards["Trung tâm phục vụ hành chính công &lt;b&gt;Tiên Hoa&lt;/b&gt;"] == "up"
    en = await client.get("/status/12361/badge.svg", params={"lang": "en"})
    assert "Tiên Hoa&lt;/b&gt;: Up" in en.text


async def test_unknown_unit_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/status/99999")).status_code == 404
    assert (await client.get("/status/99999/badge.svg")).status_code == 404


async def test_badge(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status/12337/badge.svg")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(resp.text)
    assert svg.get("role") == "img"
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == "Xã Hoàng Hoa Thám: Gián đoạn"
    assert "✕ Gián đoạn" in resp.text  # word and icon, not colour alone
    en = await client.get("/status/12361/badge.svg", params={"lang": "en"})
    assert "Commune &lt;b&gt;Tiên Hoa&lt;/b&gt;: Up" in en.text  # escaped


async def test_atom_feed(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status/feed.atom")
    assert resp.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(resp.content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert "Xã Hoàng Hoa Thám: Trang dịch vụ công của xã đang gặp sự cố" in titles
    assert "Bảo trì: Xã Hoàng Hoa Thám" in titles  # tomorrow's window
    contents = " ".join(e.findtext(f"{ATOM}content") or "" for e in feed.iter(f"{ATOM}entry"))
    assert "Đã thay thiết bị mạng" in contents and "Thay máy chủ" in contents
    ids = [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))


async def test_json_feed(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status/feed.json", params={"lang": "en"})
    assert resp.headers["content-type"].startswith("application/feed+json")
    feed = json.loads(resp.text)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    titles = [i["title"] for i in feed["items"]]
    assert "Commune Hoàng Hoa Thám: Trang dịch vụ công của xã is down" in titles
    assert all(i["id"] and i["date_published"].endswith("Z") for i in feed["items"])
