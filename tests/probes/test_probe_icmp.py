"""The icmp probe: real echoes to 127.0.0.1 / ::1 where the kernel allows, thresholds pure."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import icmplib
import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.icmp import IcmpConfig, evaluate_ping, probe_icmp
from tests.probes.conftest import MakeCtx

# they narrow the host-wide net.ipv4.ping_group_range: one xdist worker runs them all
pytestmark = pytest.mark.xdist_group("icmp_sysctl")


def unprivileged_icmp_allowed() -> bool:
    """What net.ipv4.ping_group_range says about our groups."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    return any(low <= gid <= high for gid in {os.getgid(), *os.getgroups()})


def raw_icmp_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


async def test_unprivileged_ping_follows_the_kernel(make_ctx: MakeCtx) -> None:
    config = IcmpConfig(host="127.0.0.1", count=2, interval_s=0.05)
    result = await probe_icmp(config, make_ctx(timeout=1.0))
    if unprivileged_icmp_allowed():
        assert result.status is Status.UP, result.message
        assert result.details["packet_loss"] == 0
    else:
        assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.PERMISSION)
        assert "net.ipv4.ping_group_range" in result.message


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_privileged_ping_follows_capabilities(make_ctx: MakeCtx, host: str) -> None:
    config = IcmpConfig(host=host, count=3, interval_s=0.02, privileged=True)
    result = await probe_icmp(config, make_ctx(timeout=1.0))
    if raw_icmp_allowed():
        assert result.status is Status.UP, result.message
        assert (result.details["ip"], result.details["packets_received"]) == (host, 3)
        assert 0 < result.details["rtt_avg_ms"] < 100
    else:
        assert result.error_kind is ErrorKind.PERMISSION


async def test_wrong_family_and_impossible_timing(make_ctx: MakeCtx) -> None:
    v6 = await probe_icmp(IcmpConfig(host="127.0.0.1", ip_version=6), make_ctx())
    assert v6.error_kind is ErrorKind.DNS
    slow = IcmpConfig(host="127.0.0.1", count=10, interval_s=1)
    assert (await probe_icmp(slow, make_ctx(timeout=2))).error_kind is ErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("received", "rtt", "options", "expected"),
    [
        (4, 1.0, {}, (Status.UP, None)),
        (3, 1.0, {}, (Status.DEGRADED, ErrorKind.PACKET_LOSS)),
        (3, 1.0, {"degraded_loss": 25}, (Status.UP, None)),
        (2, 1.0, {"degraded_loss": 25}, (Status.DEGRADED, ErrorKind.PACKET_LOSS)),
        (2, 1.0, {"down_loss": 50}, (Status.DOWN, ErrorKind.PACKET_LOSS)),
        (0, 0.0, {}, (Status.DOWN, ErrorKind.PACKET_LOSS)),
        (4, 80.0, {"rtt_degraded_ms": 50}, (Status.DEGRADED, ErrorKind.LATENCY)),
    ],
)
def test_thresholds(
    received: int,
    rtt: float,
    options: dict[str, float],
    expected: tuple[Status, ErrorKind | None],
) -> None:
    host = icmplib.Host("10.33.1.1", 4, [rtt] * received)
    result = evaluate_ping(IcmpConfig(host="10.33.1.1", **options), host)
    assert (result.status, result.error_kind) == expected
    assert result.details["packet_loss"] == (4 - received) * 25


def test_loss_thresholds_ordered() -> None:
    with pytest.raises(ValidationError, match="must be below down_loss"):
        IcmpConfig(host="x", degraded_loss=60, down_loss=50)
