"""ICMP echo probe (icmplib): packet loss and round-trip times."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import icmplib
from pydantic import Field, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.netutil import IpVersion, resolve
from probes.registry import register

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.PERMISSION,
        ErrorKind.DNS,
        ErrorKind.PACKET_LOSS,
        ErrorKind.LATENCY,
        ErrorKind.TIMEOUT,
    }
)

PERMISSION_HINT = (
    "the kernel forbids unprivileged ICMP sockets for this group; allow them with "
    '`sysctl -w net.ipv4.ping_group_range="0 2147483647"` (persist it in /etc/sysctl.d/), '
    "or set privileged: true and give the process CAP_NET_RAW"
)


class IcmpConfig(ProbeConfig):
    host: str = Field(min_length=1)
    count: int = Field(default=3, ge=1, le=100)
    interval_s: float = Field(default=0.2, ge=0.01, le=10)
    degraded_loss: float = Field(default=0, ge=0, le=100, description="percent; loss above it")
    down_loss: float = Field(default=100, gt=0, le=100, description="percent; loss at or above")
    rtt_degraded_ms: float | None = Field(default=None, gt=0)
    privileged: bool = Field(default=False, description="raw socket: needs CAP_NET_RAW")
    ip_version: IpVersion = "any"

    @model_validator(mode="after")
    def _ordered(self) -> IcmpConfig:
        if self.degraded_loss >= self.down_loss:
            raise ValueError(
                f"degraded_loss ({self.degraded_loss:g}%) must be below down_loss "
                f"({self.down_loss:g}%)"
            )
        return self


@register("icmp", IcmpConfig, "ICMP echo (ping): packet loss and round-trip time")
async def probe_icmp(config: IcmpConfig, ctx: ProbeContext) -> ProbeResult:
    spacing = (config.count - 1) * config.interval_s
    if spacing >= ctx.timeout:
        return ProbeResult.down(
            ErrorKind.TIMEOUT,
            f"{config.count} echoes {config.interval_s:g} s apart cannot finish "
            f"within the {ctx.timeout:g} s timeout",
        )
    start = ctx.monotonic()
    try:
        async with asyncio.timeout(ctx.timeout):
            address = await resolve(config.host, 0, config.ip_version)
            host = await icmplib.async_ping(
                address,
                count=config.count,
                interval=config.interval_s,
                timeout=max(0.05, ctx.timeout - spacing),
                privileged=config.privileged,
            )
    except Exception as exc:
        return ping_failure(exc, ctx.monotonic() - start)
    return evaluate_ping(config, host)


def ping_failure(exc: BaseException, latency: float) -> ProbeResult:
    if isinstance(exc, icmplib.SocketPermissionError | PermissionError):
        return ProbeResult.down(
            ErrorKind.PERMISSION, f"cannot open an ICMP socket: {PERMISSION_HINT}"
        )
    if isinstance(exc, socket.gaierror | icmplib.NameLookupError):
        return ProbeResult.down(ErrorKind.DNS, f"cannot resolve: {exc}", latency)
    if isinstance(exc, TimeoutError):
        return ProbeResult.down(ErrorKind.TIMEOUT, "ping did not finish in time", latency)
    if isinstance(exc, icmplib.ICMPLibError | OSError):
        return ProbeResult.down(ErrorKind.PACKET_LOSS, f"{type(exc).__name__}: {exc}", latency)
    raise exc


def evaluate_ping(config: IcmpConfig, host: icmplib.Host) -> ProbeResult:
    """Apply the loss and RTT thresholds to one ping run (pure)."""
    loss = float(host.packet_loss) * 100
    latency = host.avg_rtt / 1000 if host.rtts else 0.0
    details: dict[str, Any] = {
        "ip": host.address,
        "packets_sent": host.packets_sent,
        "packets_received": host.packets_received,
        "packet_loss": round(loss, 1),
    }
    if host.rtts:
        details.update(rtt_min_ms=host.min_rtt, rtt_avg_ms=host.avg_rtt, rtt_max_ms=host.max_rtt)
    summary = f"{loss:.0f}% loss of {host.packets_sent}"
    if loss >= config.down_loss:
        return ProbeResult.down(ErrorKind.PACKET_LOSS, summary, latency, **details)
    if loss > config.degraded_loss:
        return ProbeResult.degraded(ErrorKind.PACKET_LOSS, summary, latency, **details)
    if config.rtt_degraded_ms is not None and host.avg_rtt > config.rtt_degraded_ms:
        return ProbeResult.degraded(
            ErrorKind.LATENCY,
            f"RTT {host.avg_rtt:.1f} ms > {config.rtt_degraded_ms:g} ms",
            latency,
            **details,
        )
    return ProbeResult.up(latency, f"{summary}, RTT {host.avg_rtt:.2f} ms", **details)
