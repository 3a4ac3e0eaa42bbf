"""/docs works on a closed network (issue 11.1): Swagger UI comes from the package."""

from __future__ import annotations

import re

import httpx


async def test_docs_load_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    assert "SwaggerUIBundle" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), url  # same origin: no CDN
        asset = await client.get(url)
        assert asset.status_code == 200, url
    js = await client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert len(js.content) > 500_000
    assert (await client.get("/redoc")).status_code == 404  # it would load from a CDN
