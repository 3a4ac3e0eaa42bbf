"""DNS probe: resolve a name through a chosen (or the system) resolver and check answers."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.message
import dns.rcode
import dns.resolver
from pydantic import Field, field_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.registry import register

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.DNS, ErrorKind.TIMEOUT, ErrorKind.ASSERTION}
)
RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT"]


class DnsConfig(ProbeConfig):
    name: str = Field(min_length=1)
    record_type: RecordType = "A"
    expected: list[str] = Field(default_factory=list, description="empty: any answer will do")
    match: Literal["any", "all"] = "any"
    resolver: str | None = Field(default=None, description="ip, ip:port or [v6]:port")
    tcp: bool = False

    @field_validator("resolver")
    @classmethod
    def _check_resolver(cls, value: str | None) -> str | None:
        if value is not None:
            parse_resolver(value)
        return value


def parse_resolver(value: str) -> tuple[str, int]:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``::1`` or ``[::1]:5353`` → (ip, port)."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ValueError(
            f"resolver must be an IP address with an optional port, got {value!r}"
        ) from None
    if not 1 <= number <= 65535:
        raise ValueError(f"resolver port must be 1-65535, got {number}")
    return host, number


def new_resolver(spec: str | None) -> dns.asyncresolver.Resolver:
    """The system resolver (``None``) or one aimed at ``ip[:port]`` only."""
    if spec is None:
        return dns.asyncresolver.Resolver()
    host, port = parse_resolver(spec)
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    return resolver


def resolver_for(spec: str | None, ctx: ProbeContext) -> dns.asyncresolver.Resolver:
    """Kept in ``ctx.resources`` between runs (reading resolv.conf each run is waste);
    without resources, a fresh one for this run. Resolvers hold no sockets: nothing to close."""
    if ctx.resources is None:
        return new_resolver(spec)
    return ctx.resources.get("dns.resolver", spec, lambda: new_resolver(spec))


@register("dns", DnsConfig, "DNS lookup (A, AAAA, CNAME, MX, TXT) with expected answers")
async def probe_dns(config: DnsConfig, ctx: ProbeContext) -> ProbeResult:
    resolver = resolver_for(config.resolver, ctx)
    start = ctx.monotonic()
    try:
        async with asyncio.timeout(ctx.timeout + 0.05):  # dnspython's lifetime fires first
            answer = await resolver.resolve(
                config.name,
                config.record_type,
                tcp=config.tcp,
                lifetime=ctx.timeout,
                raise_on_no_answer=False,
                search=False,
            )
    except (dns.exception.DNSException, TimeoutError) as exc:
        return lookup_failure(config, exc, ctx.monotonic() - start)
    latency = ctx.monotonic() - start
    values = [answer_text(rdata) for rdata in answer.rrset or []]
    return evaluate_answers(config, values, latency)


def lookup_failure(config: DnsConfig, exc: BaseException, latency: float) -> ProbeResult:
    if isinstance(exc, dns.exception.Timeout | TimeoutError):
        return ProbeResult.down(
            ErrorKind.TIMEOUT, f"no DNS answer for {config.name} within the timeout", latency
        )
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return ProbeResult.down(
            ErrorKind.DNS, f"{config.name}: NXDOMAIN (no such name)", latency, rcode="NXDOMAIN"
        )
    if isinstance(exc, dns.resolver.NoNameservers):
        rcode = _rcode_of(exc)
        return ProbeResult.down(
            ErrorKind.DNS, f"{config.name}: resolver answered {rcode}", latency, rcode=rcode
        )
    return ProbeResult.down(ErrorKind.DNS, f"{type(exc).__name__}: {exc}", latency)


def _rcode_of(exc: dns.resolver.NoNameservers) -> str:
    for error in exc.kwargs.get("errors", []):
        response = error[-1] if isinstance(error, tuple) else None
        if isinstance(response, dns.message.Message):
            return dns.rcode.to_text(response.rcode())
    return "no usable answer"


def answer_text(rdata: Any) -> str:
    """One answer in the form ``expected`` uses (names without the final dot)."""
    kind = rdata.rdtype.name if hasattr(rdata.rdtype, "name") else str(rdata.rdtype)
    if kind in ("A", "AAAA"):
        return str(ipaddress.ip_address(rdata.address))
    if kind == "CNAME":
        return str(rdata.target.to_text(omit_final_dot=True)).lower()
    if kind == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True).lower()}"
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


def _matches(expected: str, value: str, record_type: str) -> bool:
    if record_type in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(expected) == ipaddress.ip_address(value)
        except ValueError:
            return False
    if record_type == "TXT":
        return expected == value
    wanted = expected.rstrip(".").lower()
    # an MX may be given as "10 mx.example.vn" or just "mx.example.vn"
    return wanted == value or (record_type == "MX" and wanted == value.split(" ", 1)[1])


def evaluate_answers(config: DnsConfig, values: list[str], latency: float) -> ProbeResult:
    details: dict[str, Any] = {"answers": values[:20], "record_type": config.record_type}
    if not values:
        return ProbeResult.down(
            ErrorKind.ASSERTION,
            f"{config.name} has no {config.record_type} record",
            latency,
            **details,
        )
    found = [e for e in config.expected if any(_matches(e, v, config.record_type) for v in values)]
    missing = [e for e in config.expected if e not in found]
    ok = not config.expected or (bool(found) if config.match == "any" else not missing)
    if not ok:
        return ProbeResult.down(
            ErrorKind.ASSERTION,
            f"{config.name} {config.record_type} = {', '.join(values[:5])}; "
            f"expected {config.match} of {', '.join(config.expected)}",
            latency,
            **details,
        )
    return ProbeResult.up(latency, ", ".join(values[:5]), **details)
