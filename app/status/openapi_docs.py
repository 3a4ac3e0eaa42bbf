"""``/docs`` served offline: Swagger UI's JavaScript, CSS and icon come from the
``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1) under
``/static/swagger-ui``, never from a CDN that a closed government network cannot
reach. ReDoc, which FastAPI would also load from a CDN, is not offered."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # no stubs

STATIC = "/static/swagger-ui"
# Swagger UI's version badges and the spec URL miss WCAG AA contrast (axe-core
# "color-contrast"); darker backgrounds and text fix them.
_CONTRAST = (
    ".swagger-ui .info .title small{background:#4a4f57}"
    ".swagger-ui .info .title small.version-stamp{background:#2e6b0f}"
    ".swagger-ui .info .base-url,.swagger-ui .info a.link span.url{color:#1c2430}"
    ".swagger-ui .info a{color:#0b57d0}"
    ".swagger-ui .btn.authorize{color:#1e6b43;border-color:#1e6b43}"
    ".swagger-ui .btn.authorize svg{fill:#1e6b43}"
    ".swagger-ui .opblock.opblock-get .opblock-summary-method{background:#1f5fa8!important}"
    ".swagger-ui .opblock.opblock-post .opblock-summary-method{background:#1e6b43!important}"
    ".swagger-ui .opblock.opblock-put .opblock-summary-method{background:#8a4f00!important}"
    ".swagger-ui .opblock.opblock-delete .opblock-summary-method{background:#b3261e!important}"
    ".swagger-ui .opblock.opblock-patch .opblock-summary-method{background:#1d6f63!important}"
    ".swagger-ui .opblock.opblock-head .opblock-summary-method{background:#6b3fa0!important}"
    ".swagger-ui .opblock .opblock-summary-description{color:#1c2430}"
    ".swagger-ui .json-schema-2020-12-expand-deep-button{color:#4a4f57!important}"
    ".swagger-ui .json-schema-2020-12__title,.swagger-ui .model-title{color:#1c2430}"
)


def install(app: FastAPI) -> None:
    """Mount the bundled files and serve ``/docs`` (create the app with ``docs_url=None``)."""
    app.mount(STATIC, StaticFiles(directory=Path(str(swagger_ui_path))), name="swagger-ui")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
            oauth2_redirect_url=redirect,
        )
        html = bytes(page.body).decode("utf-8").replace("<html>", '<html lang="en">', 1)
        html = html.replace("</head>", f"<style>{_CONTRAST}</style>\n</head>", 1)
        return HTMLResponse(html)  # a page needs its language (screen readers, axe)

    @app.get(redirect, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
