"""The public /status page (issue 11.1): Vietnamese by default, English on request,
no token needed; a header, counts and a list that never contradict each other.

Rewritten with the new page: the old expectations ("Tình hình hoạt động dịch vụ
công: Gián đoạn" for one commune down, the probe's message in the cause) were
what the issue reported as wrong."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.vocab.states import ICONS, State, state_word
from tests.status import scenario


def _section(html: str, heading: str) -> str:
    start = html.index(heading)
    end = html.find("<h2>", start + 1)
    return html[start : end if end > 0 else None]


async def test_public_vietnamese_and_escaped(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status")
    assert resp.status_code == 200  # public even though API reads need a token
    assert resp.headers["content-type"].startswith("text/html")
    assert "max-age=" in resp.headers["cache-control"]
    html = resp.text
    assert '<html lang="vi">' in html
    assert "&lt;b&gt;Tiên Hoa&lt;/b&gt;" in html and "<b>Tiên Hoa" not in html
    assert 'http-equiv="refresh"' not in html  # no automatic reload
    assert "<script" not in html  # works without JavaScript
    assert not re.search(r'(src|href)="https?://', html)  # nothing from another host
    assert (await client.get("/api/v1/units")).status_code == 401


async def test_header_counts_and_list_agree(client: httpx.AsyncClient) -> None:
    """Two communes down (one suppressed as flapping, which the old page dropped from
    its list while counting it), one in maintenance: amber, "2/9", all three listed."""
    html = (await client.get("/status")).text
    assert "2/9 đơn vị đang gián đoạn" in html
    assert '<header class="top degraded">' in html  # a commune down is not red
    down = state_word(State.DOWN)
    icon = f'<span class="i" aria-hidden="true">{ICONS[State.DOWN]}</span>'
    assert f'<li><span class="s down">{icon} {down}</span>: 2</li>' in html
    affected = _section(html, "Đơn vị đang gặp sự cố")
    assert "Đơn vị đang gặp sự cố (3)" in affected
    for name in ("Xã Hoàng Hoa Thám", "Xã Tân Hưng", "Xã Bình Định"):
        assert name in affected
    # causes in words, check titles, no keys and no probe text
    assert "Trang dịch vụ công của xã</strong>: Quá thời gian chờ phản hồi" in affected
    assert "Không kết nối được tới máy chủ" in affected  # the flapping one, with its cause
    assert "Nâng cấp đường truyền, đến" in affected  # maintenance: reason and end
    assert "ReadError" not in html and "Errno" not in html
    assert "commune_centre.dvc" not in html and "12337.commune" not in html


@pytest.mark.parametrize("shared_down", [True])
async def test_red_only_for_a_shared_system(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status")).text
    assert '<header class="top down">' in html
    assert "Hệ thống dùng chung gián đoạn: Hệ thống TTHC tỉnh" in html
    affected = _section(html, "Đơn vị đang gặp sự cố")
    assert "do sự cố Hệ thống TTHC tỉnh (Tỉnh Hưng Yên)" in affected  # the suppressed unit
    assert "Tỉnh Hưng Yên" in affected  # the province itself is listed too


async def test_a_silent_agent_of_the_province_is_not_a_shared_outage(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    built: scenario.Built,
) -> None:
    """The province's agent liveness service (its check is not critical) down says how
    the monitor sees, not what citizens can use: no red header, not a shared system."""
    async with sessionmaker() as s, s.begin():
        await scenario.agent_service(s, built, "33", "provincial_system", "hy-33", "down")
    html = (await client.get("/status")).text
    assert '<header class="top degraded">' in html
    assert "Hệ thống dùng chung gián đoạn" not in html
    assert "Điểm đo tại chỗ" not in _section(html, "Hệ thống dùng chung")


async def test_english(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status", params={"lang": "en"})).text
    assert '<html lang="en">' in html
    assert "2/9 units down" in html
    assert "Timed out waiting for a response" in html
    assert "Commune Hoàng Hoa Thám" in html
    assert "quá thời gian" not in html
    assert 'href="/status/12337?lang=en"' in html


async def test_maintenance_ahead_and_past_incidents(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status")).text
    ahead = _section(html, "Bảo trì theo kế hoạch")
    assert "Thay máy chủ" in ahead and "Xã Hoàng Hoa Thám" in ahead
    assert "Nâng cấp đường truyền" in ahead and "(đang diễn ra)" in ahead
    past = _section(html, "Sự cố đã qua")
    assert "Máy chủ trả về mã trạng thái lỗi" in past and "14 phút" in past
    assert "Đã giải quyết</strong>: Đã thay thiết bị mạng" in past  # the operator's update


async def test_shared_systems_have_90_day_bars(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status")).text
    shared = _section(html, "Hệ thống dùng chung")
    assert "Cổng Dịch vụ công quốc gia" in shared and "Hệ thống TTHC tỉnh" in shared
    bars = re.findall(r'<ol class="bars" aria-label="([^"]+)">(.*?)</ol>', shared)
    assert len(bars) == 2
    for _, days in bars:
        assert days.count("<li ") == 90
    assert "30 ngày <strong>100\u00a0%</strong>" in shared


async def test_vietnamese_order(client: httpx.AsyncClient) -> None:
    """ "Bắc Thái Ninh" before "Bình Định" (code points put every ắ after "z")."""
    everyone = _section((await client.get("/status")).text, "Tất cả đơn vị")
    names = re.findall(r'<a href="/status/\d+">([^<]+)</a>', everyone)
    assert names.index("Phường Bắc Thái Ninh") < names.index("Xã Bình Định")
    assert names.index("Xã Bình Định") < names.index("Xã Hoàng Hoa Thám")


@pytest.mark.parametrize(
    ("query", "found", "not_found"),
    [
        ("hoang hoa tham", "Xã Hoàng Hoa Thám", "Xã Tân Hưng"),
        ("HOÀNG hoa", "Xã Hoàng Hoa Thám", "Xã Bình Định"),
        ("bac thai", "Phường Bắc Thái Ninh", "Xã Bình Định"),
        ("dong anh", "Xã Đông Anh", "Xã Dương Kinh"),
        ("12373", "Đặc khu Dương Kinh", "Xã Đông Anh"),
    ],
)
async def test_search_without_accents(
    client: httpx.AsyncClient, query: str, found: str, not_found: str
) -> None:
    html = (await client.get("/status", params={"q": query})).text
    results = _section(html, "Kết quả tìm kiếm")
    assert found in results and not_found not in results
    assert f'value="{query}"' in html  # the form keeps what was typed


async def test_search_finds_nothing(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status", params={"q": "không có"})).text
    assert "Không tìm thấy đơn vị nào." in html
