"""HTTP(S) probe: status, body and latency assertions, certificate expiry captured."""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.registry import register

USER_AGENT = "thongsuot/0.1 (+https://github.com/thongsuot)"


class HttpConfig(ProbeConfig):
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    valid_status_codes: list[int] = Field(default_factory=list, description="empty: any 2xx")
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=20)
    keyword: str | None = None
    keyword_absent: str | None = None
    regex: str | None = None
    degraded_latency_ms: float | None = Field(default=None, gt=0)
    verify_tls: bool = True
    max_body_bytes: int = Field(default=1_048_576, gt=0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http:// or https:// URL with a host")
        return value

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("valid_status_codes")
    @classmethod
    def _check_codes(cls, value: list[int]) -> list[int]:
        bad = [c for c in value if not 100 <= c <= 599]
        if bad:
            raise ValueError(f"HTTP status codes must be 100-599, got {bad}")
        return value

    @model_validator(mode="after")
    def _body_needs_method(self) -> HttpConfig:
        if self.body is not None and self.method in ("GET", "HEAD"):
            raise ValueError("a request body needs method POST or PUT")
        return self


@register("http", HttpConfig, "HTTP(S) request with status, body and latency assertions")
async def probe_http(config: HttpConfig, ctx: ProbeContext) -> ProbeResult:
    client = ctx.clients.client_for(ctx.key, verify=config.verify_tls)
    start = ctx.monotonic()
    try:
        async with client.stream(
            config.method,
            config.url,
            headers={"User-Agent": USER_AGENT, **config.headers},
            content=config.body,
            timeout=ctx.timeout,
            follow_redirects=config.follow_redirects,
            extensions={"max_redirects": config.max_redirects},
        ) as response:
            facts = _tls_facts(response)
            body = await _read_capped(response, config.max_body_bytes)
    except httpx.HTTPError as exc:
        return classify_error(exc, ctx.monotonic() - start)
    latency = ctx.monotonic() - start
    details: dict[str, Any] = {"http_status": response.status_code, **facts}
    return evaluate_response(config, response.status_code, body, latency, details)


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _tls_facts(response: httpx.Response) -> dict[str, Any]:
    stream = response.extensions.get("network_stream")
    sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
    if sslobj is None:
        return {}
    facts: dict[str, Any] = {"tls_version": sslobj.version()}
    cert = sslobj.getpeercert()
    if cert and "notAfter" in cert:
        facts["cert_expiry"] = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    return facts


def evaluate_response(
    config: HttpConfig, code: int, body: bytes, latency: float, details: dict[str, Any]
) -> ProbeResult:
    """Apply the configured assertions to a response that did arrive."""
    ok_code = code in config.valid_status_codes if config.valid_status_codes else 200 <= code < 300
    if not ok_code:
        return ProbeResult.down(ErrorKind.HTTP_STATUS, f"HTTP {code}", latency, **details)
    text = body.decode("utf-8", errors="replace")
    if config.keyword is not None and config.keyword not in text:
        return ProbeResult.down(
            ErrorKind.ASSERTION, f"keyword {config.keyword!r} not found", latency, **details
        )
    if config.keyword_absent is not None and config.keyword_absent in text:
        return ProbeResult.down(
            ErrorKind.ASSERTION, f"forbidden keyword {config.keyword_absent!r} found",
            latency, **details,
        )
    if config.regex is not None and re.search(config.regex, text) is None:
        return ProbeResult.down(
            ErrorKind.ASSERTION, f"regex {config.regex!r} did not match", latency, **details
        )
    if config.degraded_latency_ms is not None and latency * 1000 > config.degraded_latency_ms:
        return ProbeResult.degraded(
            ErrorKind.LATENCY,
            f"slow: {latency * 1000:.0f} ms > {config.degraded_latency_ms:.0f} ms",
            latency, **details,
        )
    return ProbeResult.up(latency, f"HTTP {code}", **details)


def classify_error(exc: BaseException, latency: float) -> ProbeResult:
    """Map an httpx failure onto the ``error_kind`` vocabulary."""
    kind = _error_kind(exc)
    return ProbeResult.down(kind, _describe(exc), latency)


def _error_kind(exc: BaseException) -> ErrorKind:
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return ErrorKind.DNS
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return ErrorKind.TLS
    if isinstance(exc, httpx.ConnectError | httpx.ReadError | httpx.WriteError):
        return ErrorKind.CONNECT
    if isinstance(exc, httpx.RemoteProtocolError | httpx.TooManyRedirects):
        return ErrorKind.PROTOCOL
    return ErrorKind.INTERNAL


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    for cause in _chain(exc)[1:]:
        if isinstance(cause, OSError | ssl.SSLError) and str(cause):
            text = str(cause)
    return f"{type(exc).__name__}: {text}"
