"""A few long-lived httpx clients sharing one SSL context, over aiohttp.

docs/design.md §4: one big shared pool degrades under concurrency (encode/httpx#3215)
and a client per probe rebuilds an SSL context each time (33 req/s). So we keep
``shards`` clients per verification mode, share one ``SSLContext`` between them,
and disable keep-alive so every probe opens a fresh connection, as
blackbox_exporter does: the probe measures connect and handshake too.

The clients keep httpx's API (redirects, cookies, auth, streaming) but send over
aiohttp through httpx-aiohttp's transport: httpcore + anyio were most of a probe's
CPU (cancel scopes, events, ``current_task`` per request; docs/design.md §4).
"""

from __future__ import annotations

import ssl
import zlib
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import aiohttp
import certifi
import httpx
from httpx_aiohttp import AiohttpTransport


def make_ssl_context(extra_ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """The one SSL context all clients share; ``extra_ca_file`` adds private CAs."""
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=certifi.where())
    if extra_ca_file:
        ctx.load_verify_locations(cafile=extra_ca_file)
    return ctx


def refuse_cookies(client: httpx.AsyncClient) -> None:
    """Make ``client``'s jar never store a cookie.

    The clients are shared by every probe: a cookie one target sets must not be
    sent by the next probe (nor by another check). Flows keep their own per-run jar.
    """
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))


class _NoCookies(httpx.Cookies):
    """A jar that never takes a cookie from a response: the clients are shared by
    every probe, so nothing one target sets may reach the next probe. Cheaper than
    a refusing policy: httpx builds urllib request and response wrappers for every
    response it extracts from (about 4% of a probe's CPU)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ProbeClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose cookie jar stays empty (:class:`_NoCookies`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies()  # httpx's own attribute: its setter would copy the jar


class _PeerResponse(aiohttp.ClientResponse):
    """Keeps the connection's TLS object: an empty body releases the connection
    before the caller sees the response."""

    ssl_object: ssl.SSLObject | None = None

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        transport = connection.transport
        self.ssl_object = transport.get_extra_info("ssl_object") if transport else None
        return await super().start(connection)


class _NetworkStream:
    """The part of httpcore's ``network_stream`` extension probes read."""

    __slots__ = ("_ssl_object",)

    def __init__(self, ssl_object: ssl.SSLObject | None) -> None:
        self._ssl_object = ssl_object

    def get_extra_info(self, name: str) -> Any:
        return self._ssl_object if name == "ssl_object" else None


class ProbeTransport(AiohttpTransport):
    """httpx-aiohttp's transport with a fresh connection per request (no keep-alive,
    no DNS cache: a probe measures connect, resolve and handshake every time), the
    shared SSL context, no cookie jar, and the peer's TLS object exposed as
    ``network_stream`` so certificate facts are still captured.

    aiohttp's errors arrive as httpx errors with the aiohttp error as their cause;
    ``probes.http.classify_error`` reads the cause.
    """

    def __init__(self, ssl_context: ssl.SSLContext, trust_env: bool = False) -> None:
        super().__init__(verify=ssl_context, trust_env=trust_env, client=self._session)
        self._ssl_context = ssl_context
        self._trust_env = trust_env

    def _session(self) -> aiohttp.ClientSession:
        """Built on first use, inside the running event loop (aiohttp needs one)."""
        connector = aiohttp.TCPConnector(
            ssl=self._ssl_context, force_close=True, limit=0, use_dns_cache=False
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            response_class=_PeerResponse,
            trust_env=self._trust_env,
            auto_decompress=False,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        raw = getattr(response.stream, "_aiohttp_response", None)
        response.extensions["network_stream"] = _NetworkStream(getattr(raw, "ssl_object", None))
        return response


class ClientPool:
    """Hands out one of ``shards`` clients by a stable hash of the probe's key."""

    def __init__(
        self, shards: int = 4, extra_ca_file: str | None = None, trust_env: bool = False
    ) -> None:
        self._shards = max(1, shards)
        self._verified = self._build(make_ssl_context(extra_ca_file), trust_env)
        self._unverified = self._build(make_ssl_context(verify=False), trust_env)

    def _build(self, ctx: ssl.SSLContext, trust_env: bool) -> list[httpx.AsyncClient]:
        return [
            ProbeClient(transport=ProbeTransport(ctx, trust_env), trust_env=trust_env)
            for _ in range(self._shards)
        ]

    def client_for(self, key: str, *, verify: bool = True) -> Any:
        clients = self._verified if verify else self._unverified
        return clients[zlib.crc32(key.encode()) % self._shards]

    async def aclose(self) -> None:
        for client in (*self._verified, *self._unverified):
            await client.aclose()
