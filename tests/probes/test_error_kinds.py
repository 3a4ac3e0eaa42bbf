"""Every error_kind a probe kind declares (``ERROR_KINDS``) is produced by a real scenario.

The table below has one scenario per (kind, error_kind); the first test checks it
matches the declarations exactly, the second runs each scenario against loopback
servers and checks the error_kind that came back.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icmplib
import pytest

from probes import kinds
from probes.base import ErrorKind, ProbeResult
from probes.dns import DnsConfig, probe_dns
from probes.flow import FlowConfig, probe_flow
from probes.freshness import FreshnessConfig, probe_freshness
from probes.heartbeat import HeartbeatConfig, probe_heartbeat
from probes.http import HttpConfig, probe_http
from probes.icmp import IcmpConfig, evaluate_ping, probe_icmp
from probes.tcp import TcpConfig, probe_tcp
from probes.tls import TlsConfig, probe_tls
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.probes.test_probe_icmp import unprivileged_icmp_allowed
from tests.support.dns import DnsServers
from tests.support.http import Reply, ScriptedHTTP
from tests.support.net import BlackholeTCP, closed_port, silent_udp_port
from tests.support.tls import Certs

# they narrow the host-wide net.ipv4.ping_group_range: one xdist worker runs them all
pytestmark = pytest.mark.xdist_group("icmp_sysctl")

E = ErrorKind


@dataclass
class Env:
    ctx: MakeCtx
    web: ScriptedHTTP  # http://127.0.0.1
    bad_tls: ScriptedHTTP  # https, wrong host
    expired_tls: ScriptedHTTP
    near_tls: ScriptedHTTP
    blackhole: BlackholeTCP
    dns: DnsServers
    certs: Certs
    tmp: Path

    def url(self, path: str) -> str:
        return self.web.url(path)


Scenario = Callable[[Env], Awaitable[ProbeResult]]
NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
WEB = {
    "/": Reply(200, "Cổng dịch vụ công"),
    "/slow": Reply(200, "chậm", delay=0.15),
    "/500": Reply(500, "lỗi"),
    "/garbage": Reply(raw=b"SSH-2.0-OpenSSH\r\n\r\n"),
    "/json": Reply(200, json.dumps({"at": (NOW - timedelta(days=1)).isoformat(), "n": 3})),
}


def http(url: str, **kw: Any) -> HttpConfig:
    return HttpConfig.model_validate({"url": url, **kw})


def flow(url: str, **kw: Any) -> FlowConfig:
    step_keys = {"keyword", "degraded_latency_ms"}
    step = {"name": "bước", "url": url, **{k: v for k, v in kw.items() if k in step_keys}}
    return FlowConfig.model_validate(
        {"steps": [step], **{k: v for k, v in kw.items() if k not in step_keys}}
    )


def fresh(url: str, **kw: Any) -> FreshnessConfig:
    raw = {"source": "http", "url": url, "json_path": "$.at", "lag_down_s": 60, **kw}
    return FreshnessConfig.model_validate(raw)


def tls(env: Env, server: ScriptedHTTP | None, **kw: Any) -> TlsConfig:
    port = server.port if server else closed_port()
    return TlsConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "ca_file": env.certs.ca_file, **kw}
    )


def tcp(port: int, **kw: Any) -> TcpConfig:
    return TcpConfig.model_validate({"host": "127.0.0.1", "port": port, **kw})


def beat(env: Env, status: str, ago_s: float) -> Awaitable[ProbeResult]:
    extra = {
        "last_beat_at": NOW - timedelta(seconds=ago_s),
        "last_beat_status": status,
        "created_at": NOW - timedelta(days=1),
    }
    return probe_heartbeat(HeartbeatConfig(period_s=60), env.ctx(clock=lambda: NOW, extra=extra))


async def silent_dns(env: Env) -> ProbeResult:
    sock, port = silent_udp_port()
    try:
        return await probe_dns(DnsConfig(name="x.vn", resolver=f"127.0.0.1:{port}"), env.ctx(0.2))
    finally:
        sock.close()


PING_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")


async def icmp_permission(env: Env) -> ProbeResult:
    def probe() -> Awaitable[ProbeResult]:
        return probe_icmp(IcmpConfig(host="127.0.0.1", count=1), env.ctx())

    if not unprivileged_icmp_allowed():
        return await probe()
    if os.geteuid() != 0:  # a permissive kernel, and no right to narrow it
        reason = "unprivileged ICMP is allowed here and only root can forbid it"
        if os.environ.get("CI") == "true":  # CI runs as root: the permission case must run
            pytest.fail(reason)
        pytest.skip(reason)
    saved = _set_ping_range("1 0")  # forbid unprivileged ICMP for the length of one probe
    try:
        return await probe()
    finally:
        _set_ping_range(saved)


def _set_ping_range(value: str) -> str:
    """Write net.ipv4.ping_group_range; return what it was."""
    old = PING_RANGE.read_text().strip()
    PING_RANGE.write_text(value + "\n")
    return old


async def sql_stale(env: Env) -> ProbeResult:
    config = FreshnessConfig(
        source="sql",
        url=f"sqlite:///{env.tmp / 'x.db'}",
        query="SELECT 7",
        value="count",
        count_down=5,
    )
    return await probe_freshness(config, env.ctx())


async def sql_query(env: Env) -> ProbeResult:
    config = FreshnessConfig(
        source="sql",
        url=f"sqlite:///{env.tmp / 'x.db'}",
        query="SELECT * FROM nothing",
        lag_down_s=5,
    )
    return await probe_freshness(config, env.ctx())


SECRET = {"auth": {"type": "bearer", "secret": "UNSET_TOKEN"}}

SCENARIOS: dict[str, dict[ErrorKind, Scenario]] = {
    "http": {
        E.TIMEOUT: lambda env: probe_http(http(env.url("/slow")), env.ctx(0.05)),
        E.DNS: lambda env: probe_http(http(env.url("/"), ip_version=6), env.ctx()),
        E.CONNECT: lambda env: probe_http(http(f"http://127.0.0.1:{closed_port()}/"), env.ctx()),
        E.TLS: lambda env: probe_http(http(env.bad_tls.url("/")), env.ctx()),
        E.PROTOCOL: lambda env: probe_http(http(env.url("/garbage")), env.ctx()),
        E.HTTP_STATUS: lambda env: probe_http(http(env.url("/500")), env.ctx()),
        E.ASSERTION: lambda env: probe_http(http(env.url("/"), keyword="xyz"), env.ctx()),
        E.LATENCY: lambda env: probe_http(
            http(env.url("/slow"), degraded_latency_ms=10), env.ctx()
        ),
        E.CONFIG: lambda env: probe_http(http(env.url("/"), **SECRET), env.ctx()),
    },
    "tls": {
        E.TIMEOUT: lambda env: probe_tls(tls(env, None, port=env.blackhole.port), env.ctx(0.2)),
        E.DNS: lambda env: probe_tls(tls(env, env.near_tls, ip_version=6), env.ctx()),
        E.CONNECT: lambda env: probe_tls(tls(env, None), env.ctx()),
        E.TLS: lambda env: probe_tls(tls(env, env.expired_tls), env.ctx()),
        E.CERT_EXPIRY: lambda env: probe_tls(tls(env, env.near_tls), env.ctx()),
    },
    "dns": {
        E.DNS: lambda env: probe_dns(
            DnsConfig(name="khong.vn", resolver=f"127.0.0.1:{env.dns.udp_port}"), env.ctx()
        ),
        E.TIMEOUT: silent_dns,
        E.ASSERTION: lambda env: probe_dns(
            DnsConfig(name="a.vn", resolver=f"127.0.0.1:{env.dns.udp_port}", expected=["1.1.1.1"]),
            env.ctx(),
        ),
    },
    "tcp": {
        E.TIMEOUT: lambda env: probe_tcp(tcp(env.blackhole.port, expect="220"), env.ctx(0.2)),
        E.DNS: lambda env: probe_tcp(tcp(env.web.port, ip_version=6), env.ctx()),
        E.CONNECT: lambda env: probe_tcp(tcp(closed_port()), env.ctx()),
        E.TLS: lambda env: probe_tcp(
            tcp(env.bad_tls.port, tls=True, ca_file=env.certs.ca_file), env.ctx()
        ),
        E.ASSERTION: lambda env: probe_tcp(
            tcp(env.web.port, send="GET / HTTP/1.0\r\n\r\n", expect="HTTP/1.1 204"), env.ctx()
        ),
        E.LATENCY: lambda env: probe_tcp(
            tcp(
                env.web.port,
                send="GET /slow HTTP/1.0\r\n\r\n",
                expect="chậm",
                degraded_latency_ms=10,
            ),
            env.ctx(),
        ),
    },
    "icmp": {
        E.PERMISSION: icmp_permission,
        E.DNS: lambda env: probe_icmp(IcmpConfig(host="127.0.0.1", ip_version=6), env.ctx()),
        E.TIMEOUT: lambda env: probe_icmp(
            IcmpConfig(host="127.0.0.1", count=5, interval_s=1), env.ctx(1)
        ),
        E.PACKET_LOSS: lambda env: _now(
            evaluate_ping(IcmpConfig(host="10.0.0.1"), icmplib.Host("10.0.0.1", 3, []))
        ),
        E.LATENCY: lambda env: _now(
            evaluate_ping(
                IcmpConfig(host="10.0.0.1", rtt_degraded_ms=5), icmplib.Host("10.0.0.1", 3, [9] * 3)
            )
        ),
    },
    "heartbeat": {
        E.MISSED_HEARTBEAT: lambda env: beat(env, "up", 600),
        E.REPORTED_DOWN: lambda env: beat(env, "down", 10),
    },
    "flow": {
        E.TIMEOUT: lambda env: probe_flow(flow(env.url("/slow"), budget_s=0.05), env.ctx()),
        E.DNS: lambda env: probe_flow(flow(env.url("/"), ip_version=6), env.ctx()),
        E.CONNECT: lambda env: probe_flow(flow(f"http://127.0.0.1:{closed_port()}/"), env.ctx()),
        E.TLS: lambda env: probe_flow(flow(env.bad_tls.url("/")), env.ctx()),
        E.PROTOCOL: lambda env: probe_flow(flow(env.url("/garbage")), env.ctx()),
        E.HTTP_STATUS: lambda env: probe_flow(flow(env.url("/500")), env.ctx()),
        E.ASSERTION: lambda env: probe_flow(flow(env.url("/"), keyword="xyz"), env.ctx()),
        E.LATENCY: lambda env: probe_flow(flow(env.url("/slow"), degraded_total_ms=10), env.ctx()),
        E.CONFIG: lambda env: probe_flow(flow(env.url("/"), secrets={"t": "UNSET"}), env.ctx()),
    },
    "freshness": {
        E.STALE: sql_stale,
        E.QUERY: sql_query,
        E.TIMEOUT: lambda env: probe_freshness(fresh(env.url("/slow")), env.ctx(0.05)),
        E.CONNECT: lambda env: probe_freshness(
            fresh(f"http://127.0.0.1:{closed_port()}/"), env.ctx()
        ),
        E.CONFIG: lambda env: probe_freshness(fresh(env.url("/json"), **SECRET), env.ctx()),
        E.HTTP_STATUS: lambda env: probe_freshness(fresh(env.url("/500")), env.ctx()),
        E.DNS: lambda env: probe_freshness(fresh(env.url("/json"), ip_version=6), env.ctx()),
        E.TLS: lambda env: probe_freshness(fresh(env.bad_tls.url("/")), env.ctx()),
        E.PROTOCOL: lambda env: probe_freshness(fresh(env.url("/garbage")), env.ctx()),
    },
}


async def _now(result: ProbeResult) -> ProbeResult:
    return result


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServers]:
    servers = DnsServers({("a.vn", "A"): ["10.0.0.1"]}, servfail=set()).start()
    yield servers
    servers.stop()


@pytest.fixture
async def env(
    make_http: MakeHttp,
    make_ctx: MakeCtx,
    certs: Certs,
    blackhole: BlackholeTCP,
    tmp_path: Path,
    dns: DnsServers,
) -> Env:
    def https(cert: Any) -> Awaitable[ScriptedHTTP]:
        return make_http(WEB, ssl_context=certs.server_context(cert))

    return Env(
        make_ctx,
        await make_http(WEB),
        await https(certs.wrong_host),
        await https(certs.expired),
        await https(certs.near_expiry),
        blackhole,
        dns,
        certs,
        tmp_path,
    )


def declared() -> dict[str, frozenset[ErrorKind]]:
    return {kind: importlib.import_module(f"probes.{kind}").ERROR_KINDS for kind in kinds()}


def test_scenarios_match_declarations() -> None:
    table = {kind: frozenset(scenarios) for kind, scenarios in SCENARIOS.items()}
    assert table == declared()
    assert all(E.INTERNAL not in kinds_ for kinds_ in table.values())


CASES = [(kind, ek) for kind, scenarios in SCENARIOS.items() for ek in scenarios]


@pytest.mark.parametrize(("kind", "error_kind"), CASES, ids=[f"{k}-{e}" for k, e in CASES])
async def test_each_error_kind_is_produced(env: Env, kind: str, error_kind: ErrorKind) -> None:
    result = await SCENARIOS[kind][error_kind](env)
    assert result.error_kind is error_kind, (result.status, result.message)
    assert not result.success or error_kind in (E.LATENCY, E.CERT_EXPIRY, E.PACKET_LOSS)
