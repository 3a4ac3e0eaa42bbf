"""The dns probe against a real dnslib server on 127.0.0.1 (UDP and TCP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.dns import DnsConfig, probe_dns
from tests.probes.conftest import MakeCtx
from tests.support.dns import DnsServers
from tests.support.net import silent_udp_port

ZONE = {
    ("dichvucong.hungyen.gov.vn", "A"): ["10.33.0.10", "10.33.0.11"],
    ("dichvucong.hungyen.gov.vn", "AAAA"): ["2001:db8::10"],
    ("www.hungyen.gov.vn", "CNAME"): ["portal.hungyen.gov.vn."],
    ("hungyen.gov.vn", "MX"): ["10 mail.hungyen.gov.vn."],
    ("hungyen.gov.vn", "TXT"): ['"v=spf1 mx -all"'],
}


@pytest.fixture(scope="module")
def dns_servers() -> Iterator[DnsServers]:
    servers = DnsServers(ZONE, servfail={"hong.hungyen.gov.vn"}).start()
    yield servers
    servers.stop()


def cfg(servers: DnsServers, name: str, **kw: object) -> DnsConfig:
    raw = {"name": name, "resolver": f"127.0.0.1:{servers.udp_port}", **kw}
    return DnsConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("name", "rtype", "expected", "answer"),
    [
        ("dichvucong.hungyen.gov.vn", "A", ["10.33.0.11"], "10.33.0.10"),
        ("dichvucong.hungyen.gov.vn", "AAAA", ["2001:db8:0::10"], "2001:db8::10"),
        ("www.hungyen.gov.vn", "CNAME", ["portal.hungyen.gov.vn."], "portal.hungyen.gov.vn"),
        ("hungyen.gov.vn", "MX", ["mail.hungyen.gov.vn"], "10 mail.hungyen.gov.vn"),
        ("hungyen.gov.vn", "TXT", ["v=spf1 mx -all"], "v=spf1 mx -all"),
    ],
)
async def test_record_types_up(
    dns_servers: DnsServers,
    make_ctx: MakeCtx,
    name: str,
    rtype: str,
    expected: list[str],
    answer: str,
) -> None:
    config = cfg(dns_servers, name, record_type=rtype, expected=expected)
    result = await probe_dns(config, make_ctx())
    assert result.status is Status.UP, result.message
    assert result.details["answers"][0] == answer


async def test_match_any_versus_all(dns_servers: DnsServers, make_ctx: MakeCtx) -> None:
    name = "dichvucong.hungyen.gov.vn"
    some = ["10.33.0.10", "10.9.9.9"]
    assert (await probe_dns(cfg(dns_servers, name, expected=some), make_ctx())).status is Status.UP
    strict = await probe_dns(cfg(dns_servers, name, expected=some, match="all"), make_ctx())
    assert (strict.status, strict.error_kind) == (Status.DOWN, ErrorKind.ASSERTION)
    both = ["10.33.0.10", "10.33.0.11"]
    everything = await probe_dns(cfg(dns_servers, name, expected=both, match="all"), make_ctx())
    assert everything.status is Status.UP


async def test_over_tcp(dns_servers: DnsServers, make_ctx: MakeCtx) -> None:
    config = DnsConfig(
        name="dichvucong.hungyen.gov.vn", resolver=f"127.0.0.1:{dns_servers.tcp_port}", tcp=True
    )
    assert (await probe_dns(config, make_ctx())).status is Status.UP
    over_udp = config.model_copy(update={"tcp": False})
    assert (await probe_dns(over_udp, make_ctx(timeout=0.3))).error_kind is ErrorKind.TIMEOUT


async def test_nxdomain_servfail_noanswer(dns_servers: DnsServers, make_ctx: MakeCtx) -> None:
    nx = await probe_dns(cfg(dns_servers, "khong-co.hungyen.gov.vn"), make_ctx())
    assert (nx.error_kind, nx.details["rcode"]) == (ErrorKind.DNS, "NXDOMAIN")
    sf = await probe_dns(cfg(dns_servers, "hong.hungyen.gov.vn"), make_ctx())
    assert (sf.status, sf.error_kind, sf.details["rcode"]) == (
        Status.DOWN,
        ErrorKind.DNS,
        "SERVFAIL",
    )
    empty = await probe_dns(cfg(dns_servers, "www.hungyen.gov.vn", record_type="MX"), make_ctx())
    assert (empty.error_kind, empty.message) == (
        ErrorKind.ASSERTION,
        "www.hungyen.gov.vn has no MX record",
    )


async def test_server_that_never_answers(make_ctx: MakeCtx) -> None:
    sock, port = silent_udp_port()
    try:
        config = DnsConfig(name="hungyen.gov.vn", resolver=f"127.0.0.1:{port}")
        result = await probe_dns(config, make_ctx(timeout=0.3))
    finally:
        sock.close()
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)
    assert 0.25 < result.latency < 1.0


@pytest.mark.parametrize("bad", ["dns.example", "1.2.3.4:0", "[::1]:x", "1.2.3:53"])
def test_resolver_must_be_an_address(bad: str) -> None:
    with pytest.raises(ValidationError, match="resolver"):
        DnsConfig(name="x", resolver=bad)


async def test_resolvers_live_in_the_context_resources(
    dns_servers: DnsServers, make_ctx: MakeCtx
) -> None:
    """One resolver per resolver spec, kept in ctx.resources; none kept without them."""
    from probes.resources import ProbeResources

    kept = ProbeResources()
    for rtype in ("A", "AAAA", "A"):
        config = cfg(dns_servers, "dichvucong.hungyen.gov.vn", record_type=rtype)
        result = await probe_dns(config, make_ctx(resources=kept))
        assert result.status is Status.UP, result.message
    assert kept.count("dns.resolver") == 1
    await kept.aclose()
    alone = await probe_dns(cfg(dns_servers, "dichvucong.hungyen.gov.vn"), make_ctx(resources=None))
    assert alone.status is Status.UP
