"""HTTP(S) probe: auth from secrets, redirects, status/body/JSON/header/size assertions,
latency, IPv4/IPv6 pinning; certificate expiry captured."""

from __future__ import annotations

import asyncio
import base64
import functools
import socket
import ssl
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.http_assert import HttpAssertions, evaluate_response
from probes.netutil import IpVersion, pin_url
from probes.registry import register
from probes.secrets import SecretResolver, SecretUnavailable, read_secret

__all__ = [
    "ERROR_KINDS",
    "FETCH_ERRORS",
    "HttpAuth",
    "HttpConfig",
    "check_url",
    "classify_error",
    "evaluate_response",
    "probe_http",
]

USER_AGENT = "thongsuot/0.1 (+https://github.com/thongsuot)"

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.TIMEOUT,
        ErrorKind.DNS,
        ErrorKind.CONNECT,
        ErrorKind.TLS,
        ErrorKind.PROTOCOL,
        ErrorKind.HTTP_STATUS,
        ErrorKind.ASSERTION,
        ErrorKind.LATENCY,
        ErrorKind.CONFIG,
    }
)


# What a request can raise: httpx's errors (the socket or TLS error, if any, is their
# cause: probes.transport), socket errors and the probe's own deadline.
FETCH_ERRORS = (httpx.HTTPError, OSError, TimeoutError)


def check_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an absolute http:// or https:// URL with a host")
    return value


class HttpAuth(ProbeConfig):
    """Credentials by secret *name* (``NAME`` or ``NAME_FILE``); the value is never stored."""

    type: Literal["basic", "bearer"]
    secret: str = Field(min_length=1, description="environment variable holding the password/token")
    username: str | None = None

    @model_validator(mode="after")
    def _username(self) -> HttpAuth:
        if self.type == "basic" and not self.username:
            raise ValueError("basic auth needs a username")
        if self.type == "bearer" and self.username:
            raise ValueError("bearer auth takes no username")
        return self

    def header(self, secrets: SecretResolver) -> str:
        """The ``Authorization`` value (raises ``SecretUnavailable``)."""
        value = read_secret(secrets, self.secret)
        if self.type == "bearer":
            return f"Bearer {value}"
        token = base64.b64encode(f"{self.username}:{value}".encode()).decode("ascii")
        return f"Basic {token}"


class HttpConfig(HttpAssertions):
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    auth: HttpAuth | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=20)
    verify_tls: bool = True
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="read at most this much")
    ip_version: IpVersion = "any"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_url(value)

    @model_validator(mode="after")
    def _body_needs_method(self) -> HttpConfig:
        if self.body is not None and self.method in ("GET", "HEAD", "OPTIONS"):
            raise ValueError("a request body needs method POST or PUT")
        return self


@register("http", HttpConfig, "HTTP(S) request with status, body, JSON, header and latency checks")
async def probe_http(config: HttpConfig, ctx: ProbeContext) -> ProbeResult:
    try:
        headers = request_headers(config.headers, config.auth, ctx.secrets)
    except SecretUnavailable as exc:
        return ProbeResult.down(ErrorKind.CONFIG, str(exc))
    start = ctx.monotonic()
    try:
        async with asyncio.timeout(ctx.timeout):
            response, body, size, facts = await _fetch(config, ctx, headers)
    except FETCH_ERRORS as exc:
        return classify_error(exc, ctx.monotonic() - start)
    latency = ctx.monotonic() - start
    details: dict[str, Any] = {"http_status": response.status_code, "body_bytes": size, **facts}
    return evaluate_response(config, response.status_code, body, latency, details, response.headers)


def request_headers(
    extra: dict[str, str], auth: HttpAuth | None, secrets: SecretResolver
) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, **extra}
    if auth is not None:
        headers["Authorization"] = auth.header(secrets)
    return headers


async def _fetch(
    config: HttpConfig, ctx: ProbeContext, headers: dict[str, str]
) -> tuple[httpx.Response, bytes, int, dict[str, Any]]:
    if config.ip_version == "any":  # the parsed URL, not the text: httpx parses text each time
        url: httpx.URL | str = parsed_url(config.url)
        pin_headers: dict[str, str] = {}
        extensions: dict[str, Any] = {}
    else:
        url, pin_headers, extensions = await pin_url(config.url, config.ip_version)
    client = ctx.clients.client_for(ctx.key, verify=config.verify_tls)
    limit = max(config.max_body_bytes, (config.max_size_bytes or 0) + 1)
    async with client.stream(
        config.method,
        url,
        headers={**headers, **pin_headers},
        content=config.body,
        timeout=ctx.timeout,
        follow_redirects=config.follow_redirects,
        extensions={"max_redirects": config.max_redirects, **extensions},
    ) as response:
        facts = tls_facts(response)
        body, size = await read_capped(response, limit)
    if config.ip_version != "any":
        facts["ip"] = httpx.URL(url).host
    return response, body, size, facts


@functools.lru_cache(maxsize=32_768)
def parsed_url(url: str) -> httpx.URL:
    """``url`` parsed once (``httpx.URL`` is immutable): a request built from text
    re-parses it, 70 instead of 30 µs a request (~2% of a probe's CPU)."""
    return httpx.URL(url)


async def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, int]:
    """At most ``limit`` bytes of the body, and the body's size as far as it was read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit], size


def tls_facts(response: httpx.Response) -> dict[str, Any]:
    stream = response.extensions.get("network_stream")
    sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
    if sslobj is None:
        return {}
    facts: dict[str, Any] = {"tls_version": sslobj.version()}
    cert = sslobj.getpeercert()
    if cert and "notAfter" in cert:
        facts["cert_expiry"] = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    return facts


def classify_error(exc: BaseException, latency: float) -> ProbeResult:
    """Map an httpx/socket failure onto the ``error_kind`` vocabulary."""
    kind = _error_kind(exc)
    return ProbeResult.down(kind, _describe(exc), latency)


def _error_kind(exc: BaseException) -> ErrorKind:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ErrorKind.TIMEOUT
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return ErrorKind.DNS
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return ErrorKind.TLS
    if isinstance(exc, httpx.RemoteProtocolError | httpx.TooManyRedirects):
        return ErrorKind.PROTOCOL  # closed before or during the answer, or a malformed one
    if isinstance(exc, httpx.TransportError | OSError):  # refused, reset, unreachable
        return ErrorKind.CONNECT
    return ErrorKind.INTERNAL


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "TimeoutError: no complete answer within the timeout"
    text = str(exc) or type(exc).__name__
    for cause in _chain(exc)[1:]:
        if isinstance(cause, OSError | ssl.SSLError) and str(cause):
            text = str(cause)
    return f"{type(exc).__name__}: {text}"
