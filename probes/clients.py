"""A few long-lived httpx clients sharing one SSL context.

docs/design.md §4: one big shared pool degrades under concurrency (encode/httpx#3215)
and a client per probe rebuilds an SSL context each time (33 req/s). So we keep
``shards`` clients per verification mode, share one ``SSLContext`` between them,
and disable keep-alive so every probe opens a fresh connection, as
blackbox_exporter does: the probe measures connect and handshake too.
"""

from __future__ import annotations

import ssl
import zlib
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import certifi
import httpx


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


class ClientPool:
    """Hands out one of ``shards`` clients by a stable hash of the probe's key."""

    def __init__(
        self, shards: int = 4, extra_ca_file: str | None = None, trust_env: bool = False
    ) -> None:
        self._shards = max(1, shards)
        self._verified = self._build(make_ssl_context(extra_ca_file), trust_env)
        self._unverified = self._build(make_ssl_context(verify=False), trust_env)

    def _build(self, ctx: ssl.SSLContext, trust_env: bool) -> list[httpx.AsyncClient]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        clients = [
            httpx.AsyncClient(verify=ctx, limits=limits, trust_env=trust_env)
            for _ in range(self._shards)
        ]
        for client in clients:
            refuse_cookies(client)
        return clients

    def client_for(self, key: str, *, verify: bool = True) -> Any:
        clients = self._verified if verify else self._unverified
        return clients[zlib.crc32(key.encode()) % self._shards]

    async def aclose(self) -> None:
        for client in (*self._verified, *self._unverified):
            await client.aclose()
