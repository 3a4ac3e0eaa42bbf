"""TCP probe: connect (optionally TLS), optionally send, expect a banner or reply."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.http_assert import check_regex
from probes.netutil import IpVersion, client_ssl_context, resolve
from probes.registry import register
from probes.tls import handshake_failure

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.TIMEOUT,
        ErrorKind.DNS,
        ErrorKind.CONNECT,
        ErrorKind.TLS,
        ErrorKind.ASSERTION,
        ErrorKind.LATENCY,
    }
)


class TcpConfig(ProbeConfig):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    send: str | None = Field(default=None, description="sent after connecting (UTF-8)")
    expect: str | None = Field(default=None, description="substring the reply must contain")
    expect_regex: str | None = Field(default=None, description="e.g. '^220' for SMTP")
    tls: bool = False
    server_name: str | None = None
    ca_file: str | None = None
    verify_tls: bool = True
    read_bytes: int = Field(default=4096, gt=0, le=1_048_576)
    degraded_latency_ms: float | None = Field(default=None, gt=0)
    ip_version: IpVersion = "any"

    @field_validator("expect_regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _one_expectation(self) -> TcpConfig:
        if self.expect is not None and self.expect_regex is not None:
            raise ValueError("give expect or expect_regex, not both")
        return self

    def matches(self, text: str) -> bool:
        if self.expect is not None:
            return self.expect in text
        if self.expect_regex is not None:
            return re.search(self.expect_regex, text, re.MULTILINE) is not None
        return True

    @property
    def expects(self) -> bool:
        return self.expect is not None or self.expect_regex is not None


@register("tcp", TcpConfig, "TCP connect, optional TLS, send and expect a banner")
async def probe_tcp(config: TcpConfig, ctx: ProbeContext) -> ProbeResult:
    start = ctx.monotonic()
    connected = False
    try:
        async with asyncio.timeout(ctx.timeout):
            address = await resolve(config.host, config.port, config.ip_version)
            reader, writer = await asyncio.open_connection(address, config.port)
            connected = True
            if config.tls:
                await writer.start_tls(_context(config), server_hostname=_sni(config))
    except Exception as exc:
        return handshake_failure(exc, ctx.monotonic() - start, connected=connected and config.tls)
    try:
        received, timed_out = await _converse(config, reader, writer, ctx, start)
    finally:
        writer.close()
    return evaluate_reply(config, received, timed_out, ctx.monotonic() - start, ip=address)


def _context(config: TcpConfig) -> Any:
    return client_ssl_context(config.ca_file, verify=config.verify_tls)


def _sni(config: TcpConfig) -> str:
    return config.server_name or config.host


async def _converse(
    config: TcpConfig,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    ctx: ProbeContext,
    start: float,
) -> tuple[bytes, bool]:
    """Send, then read until the expectation holds, EOF, ``read_bytes`` or the deadline."""
    data = b""
    remaining = max(0.0, ctx.timeout - (ctx.monotonic() - start))
    try:
        async with asyncio.timeout(remaining):
            if config.send is not None:
                writer.write(config.send.encode())
                await writer.drain()
            while config.expects and len(data) < config.read_bytes:
                chunk = await reader.read(config.read_bytes - len(data))
                data += chunk
                if not chunk or config.matches(data.decode("utf-8", errors="replace")):
                    break
    except TimeoutError:
        return data, True
    except OSError:
        return data, False
    return data, False


def evaluate_reply(
    config: TcpConfig, received: bytes, timed_out: bool, latency: float, **details: Any
) -> ProbeResult:
    text = received.decode("utf-8", errors="replace")
    if received:
        details["reply"] = text[:200]
    if config.expects and not config.matches(text):
        if timed_out and not received:
            return ProbeResult.down(
                ErrorKind.TIMEOUT, "connected, but no reply within the timeout", latency, **details
            )
        wanted = config.expect if config.expect is not None else config.expect_regex
        return ProbeResult.down(
            ErrorKind.ASSERTION,
            f"reply {text[:80]!r} does not match {wanted!r}",
            latency,
            **details,
        )
    if config.degraded_latency_ms is not None and latency * 1000 > config.degraded_latency_ms:
        return ProbeResult.degraded(
            ErrorKind.LATENCY,
            f"slow: {latency * 1000:.0f} ms > {config.degraded_latency_ms:.0f} ms",
            latency,
            **details,
        )
    return ProbeResult.up(latency, text.splitlines()[0][:120] if text else "connected", **details)
