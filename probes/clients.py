"""A few long-lived httpx clients sharing one SSL context, over the probe transport.

docs/design.md §4: one big shared pool degrades under concurrency (encode/httpx#3215)
and a client per probe rebuilds an SSL context each time (33 req/s). So we keep
``shards`` clients per verification mode, share one ``SSLContext`` between them,
and disable keep-alive so every probe opens a fresh connection, as
blackbox_exporter does: the probe measures connect and handshake too.

The clients keep httpx's API (redirects, auth, timeouts, streaming, decoding) but
send through :class:`probes.transport.ProbeTransport`: one connection, one request,
one answer, parsed by httptools. httpcore + anyio, then aiohttp, were most of a
probe's CPU (docs/design.md §4).
"""

from __future__ import annotations

import ssl
import zlib
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import certifi
import httpx

from probes.transport import ProbeTransport


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


class ClientPool:
    """Hands out one of ``shards`` clients by a stable hash of the probe's key."""

    def __init__(self, shards: int = 4, extra_ca_file: str | None = None) -> None:
        self._shards = max(1, shards)
        self._verified = self._build(make_ssl_context(extra_ca_file))
        self._unverified = self._build(make_ssl_context(verify=False))

    def _build(self, ctx: ssl.SSLContext) -> list[httpx.AsyncClient]:
        # trust_env=False: a probe goes to its target, never through a proxy from the
        # environment (a proxy would measure itself), and reads no .netrc
        return [
            ProbeClient(transport=ProbeTransport(ctx), trust_env=False) for _ in range(self._shards)
        ]

    def client_for(self, key: str, *, verify: bool = True) -> Any:
        clients = self._verified if verify else self._unverified
        return clients[zlib.crc32(key.encode()) % self._shards]

    async def aclose(self) -> None:
        for client in (*self._verified, *self._unverified):
            await client.aclose()
