"""Shared network helpers: address-family pinning and cached client SSL contexts."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from typing import Annotated, Any, Literal

import httpx
from pydantic import BeforeValidator

IpVersion = Annotated[
    Literal["any", "4", "6"],
    BeforeValidator(lambda v: str(v) if isinstance(v, int) else v),
]
"""``any`` lets the resolver choose; ``4`` / ``6`` connect over that family only."""

_FAMILIES = {"any": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}

TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
TlsVersionName = Literal["1.0", "1.1", "1.2", "1.3"]


def family_of(ip_version: str) -> socket.AddressFamily:
    return _FAMILIES[ip_version]


async def resolve(host: str, port: int, ip_version: str) -> str:
    """First address of ``host`` in the chosen family (raises ``socket.gaierror``)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, family=family_of(ip_version), type=socket.SOCK_STREAM
    )
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
    return str(infos[0][4][0])


@functools.lru_cache(maxsize=4_096)  # every probe asks it of its host: 1 % of a national run
def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def pin_url(url: str, ip_version: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Rewrite ``url`` to connect to an address of the chosen family.

    Returns the URL to request, the headers that keep the original ``Host``
    and the httpx extensions that keep SNI and certificate checks on the
    original name. With ``any`` the URL is returned unchanged.
    """
    if ip_version == "any":
        return url, {}, {}
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    address = await resolve(parsed.host, port, ip_version)
    headers = {"Host": parsed.netloc.decode("ascii")}
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https" and not is_ip_literal(parsed.host):
        extensions["sni_hostname"] = parsed.host
    return str(parsed.copy_with(host=address)), headers, extensions


@functools.lru_cache(maxsize=64)
def client_ssl_context(
    ca_file: str | None = None, *, verify: bool = True, minimum_version: str | None = None
) -> ssl.SSLContext:
    """System CAs plus ``ca_file``; cached because building a context is costly."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if minimum_version is not None:
        ctx.minimum_version = TLS_VERSIONS[minimum_version]
    return ctx


def is_tls_error(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLError | ssl.CertificateError)
