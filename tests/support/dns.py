"""A DNS zone served by dnslib over UDP and TCP on loopback."""

from __future__ import annotations

from collections.abc import Callable

from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSServer

Zone = dict[tuple[str, str], list[str]]


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Answers from ``zone``; names in ``servfail`` get SERVFAIL, others NXDOMAIN."""

    def __init__(self, zone: Zone, servfail: set[str]) -> None:
        self.zone = zone
        self.servfail = servfail

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        qtype = QTYPE[request.q.qtype]
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if not any(n == name for n, _ in self.zone):
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for text in self.zone.get((name, qtype), []):
            reply.add_answer(*RR.fromZone(f"{name}. 60 IN {qtype} {text}"))
        return reply


class DnsServers:
    """The same zone over UDP and over TCP, each on its own random port on 127.0.0.1."""

    def __init__(self, zone: Zone, servfail: set[str]) -> None:
        resolver = ZoneResolver(zone, servfail)
        self.udp = DNSServer(resolver, port=0, address="127.0.0.1", logger=_QuietLogger())
        self.tcp = DNSServer(resolver, port=0, address="127.0.0.1", tcp=True, logger=_QuietLogger())

    def start(self) -> DnsServers:
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    @property
    def udp_port(self) -> int:
        return int(self.udp.server.server_address[1])

    @property
    def tcp_port(self) -> int:
        return int(self.tcp.server.server_address[1])

    def stop(self) -> None:
        for server in (self.udp, self.tcp):
            server.server.shutdown()
            server.server.server_close()


class _QuietLogger:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None
