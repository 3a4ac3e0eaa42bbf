"""Operators' incident updates (issue 11.1): POST with a write token, GET lists them,
the pages show them with their time."""

from __future__ import annotations

import httpx

from tests.status import scenario
from tests.status.conftest import ADMIN

AUTH = {"Authorization": f"Bearer {ADMIN}"}


async def test_post_list_and_show(client: httpx.AsyncClient, built: scenario.Built) -> None:
    incident = built.incidents["12337"].id
    url = f"/api/v1/incidents/{incident}/updates"
    first = await client.post(
        url, json={"stage": "investigating", "message": "Đang kiểm tra đường truyền"}, headers=AUTH
    )
    assert first.status_code == 201, first.text
    second = await client.post(
        url,
        json={"stage": "identified", "message": "Đang khắc phục, dự kiến 10:30", "by": "Trực ban"},
        headers=AUTH,
    )
    assert second.json()["created_by"] == "Trực ban"
    listed = (await client.get(url, headers=AUTH)).json()
    assert [u["stage"] for u in listed] == ["investigating", "identified"]
    assert listed[0]["created_at"] <= listed[1]["created_at"]
    for page in ("/status", "/status/12337"):
        html = (await client.get(page)).text
        assert "Đang tìm hiểu nguyên nhân</strong>: Đang kiểm tra đường truyền" in html
        assert "Đã xác định nguyên nhân</strong>: Đang khắc phục, dự kiến 10:30" in html
        assert html.index("Đang kiểm tra đường truyền") < html.index("dự kiến 10:30")
    feed = (await client.get("/status/feed.atom")).text
    assert "Đang khắc phục, dự kiến 10:30" in feed


async def test_refusals(client: httpx.AsyncClient, built: scenario.Built) -> None:
    url = f"/api/v1/incidents/{built.incidents['12337'].id}/updates"
    body = {"stage": "monitoring", "message": "Đã khắc phục"}
    assert (await client.post(url, json=body)).status_code == 401
    bad = await client.post(url, json={**body, "stage": "fixed"}, headers=AUTH)
    assert bad.status_code == 422 and "stage" in bad.text
    empty = await client.post(url, json={**body, "message": ""}, headers=AUTH)
    assert empty.status_code == 422 and "message" in empty.text
    missing = await client.post("/api/v1/incidents/999999/updates", json=body, headers=AUTH)
    assert missing.status_code == 404
    assert (await client.get("/api/v1/incidents/999999/updates", headers=AUTH)).status_code == 404
