"""TLS probe: handshake, chain and hostname validation, minimum version, days to expiry."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from pydantic import Field, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.netutil import IpVersion, TlsVersionName, client_ssl_context, resolve
from probes.registry import register

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.DNS, ErrorKind.CONNECT, ErrorKind.TLS, ErrorKind.CERT_EXPIRY}
)
DAY = 86_400.0


class TlsConfig(ProbeConfig):
    host: str = Field(min_length=1)
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = Field(default=None, description="SNI and name to verify; host")
    ca_file: str | None = Field(default=None, description="extra CAs besides the system's")
    min_version: TlsVersionName | None = None
    warn_days: float = Field(default=21, ge=0)
    critical_days: float = Field(default=7, ge=0)
    ip_version: IpVersion = "any"

    @model_validator(mode="after")
    def _thresholds(self) -> TlsConfig:
        if self.critical_days > self.warn_days:
            raise ValueError(
                f"critical_days ({self.critical_days:g}) must not exceed warn_days "
                f"({self.warn_days:g})"
            )
        return self


@register("tls", TlsConfig, "TLS handshake, chain, hostname, version and certificate expiry")
async def probe_tls(config: TlsConfig, ctx: ProbeContext) -> ProbeResult:
    context = client_ssl_context(config.ca_file, minimum_version=config.min_version)
    start = ctx.monotonic()
    connected = False
    try:
        async with asyncio.timeout(ctx.timeout):
            address = await resolve(config.host, config.port, config.ip_version)
            _, writer = await asyncio.open_connection(address, config.port)
            connected = True
            await writer.start_tls(context, server_hostname=config.server_name or config.host)
    except Exception as exc:
        if connected:
            writer.close()
        return handshake_failure(exc, ctx.monotonic() - start, connected=connected)
    latency = ctx.monotonic() - start
    sslobj = writer.get_extra_info("ssl_object")
    facts = certificate_facts(sslobj, ctx.clock().timestamp())
    writer.close()
    return evaluate_expiry(config, facts, latency, ip=address)


def handshake_failure(exc: BaseException, latency: float, *, connected: bool) -> ProbeResult:
    """A failed connect or handshake as a result (re-raises what is not a target failure).

    A connection dropped during the handshake (``connected``) is a TLS failure:
    that is how servers refuse a protocol version or a cipher.
    """
    if isinstance(exc, TimeoutError):
        return ProbeResult.down(ErrorKind.TIMEOUT, "no TLS handshake within the timeout", latency)
    if isinstance(exc, socket.gaierror):
        return ProbeResult.down(ErrorKind.DNS, f"cannot resolve: {exc.strerror}", latency)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ProbeResult.down(
            ErrorKind.TLS,
            f"certificate rejected: {exc.verify_message}",
            latency,
            verify_code=exc.verify_code,
        )
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ProbeResult.down(ErrorKind.TLS, f"handshake failed: {exc.reason or exc}", latency)
    if isinstance(exc, OSError | EOFError) and connected:
        return ProbeResult.down(ErrorKind.TLS, f"handshake aborted: {exc!r}", latency)
    if isinstance(exc, OSError):
        return ProbeResult.down(ErrorKind.CONNECT, f"{type(exc).__name__}: {exc}", latency)
    raise exc


def certificate_facts(sslobj: ssl.SSLObject, now: float) -> dict[str, Any]:
    cert = sslobj.getpeercert() or {}
    expiry = ssl.cert_time_to_seconds(str(cert["notAfter"]))
    return {
        "tls_version": sslobj.version(),
        "cert_expiry": expiry,
        "days_left": round((expiry - now) / DAY, 2),
        "issuer": distinguished_name(cert.get("issuer", ())),
        "subject": distinguished_name(cert.get("subject", ())),
    }


def distinguished_name(rdns: Any) -> str:
    """``((('commonName', 'x'),), ...)`` → ``commonName=x, ...``."""
    return ", ".join(f"{k}={v}" for rdn in rdns for k, v in rdn)


def evaluate_expiry(
    config: TlsConfig, facts: dict[str, Any], latency: float, **extra: Any
) -> ProbeResult:
    days = float(facts["days_left"])
    details = {**facts, **extra}
    if days < config.critical_days:
        return ProbeResult.down(
            ErrorKind.CERT_EXPIRY,
            f"certificate expires in {days:.1f} days (< {config.critical_days:g})",
            latency,
            **details,
        )
    if days < config.warn_days:
        return ProbeResult.degraded(
            ErrorKind.CERT_EXPIRY,
            f"certificate expires in {days:.1f} days (< {config.warn_days:g})",
            latency,
            **details,
        )
    return ProbeResult.up(latency, f"{facts['tls_version']}, {days:.0f} days left", **details)
