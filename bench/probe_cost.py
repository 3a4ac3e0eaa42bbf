"""CPU cost per probe of the http, tls, tcp and dns probes against loopback servers.

The servers run in a separate process, so only the probing process's CPU is
counted (``resource.getrusage(RUSAGE_SELF)``). Bounded: at most ``--n`` probes per
kind, at most ``--max-seconds`` per kind, ``--concurrency`` in flight.

    .venv/bin/python bench/probe_cost.py --n 2000 --concurrency 50
    .venv/bin/python bench/probe_cost.py --kinds http --compare-transports --rounds 3
    .venv/bin/python bench/probe_cost.py --kinds http https --loop asyncio   # vs uvloop

``--compare-transports`` runs the http kinds over the production clients (httpx over
probes/transport.py), over httpx-aiohttp's transport (the probes' transport until
2026-12-04) and over httpx's own (httpcore + anyio), alternating ``--rounds`` times
so all see the same machine load. Each with a fresh connection per request.
``--loop`` picks the probing process's event loop: uvloop (serve's default) or
asyncio's own.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import httpx
import uvloop

from probes.base import ProbeContext, ProbeResult
from probes.clients import ClientPool, ProbeClient, refuse_cookies
from probes.dns import DnsConfig, probe_dns
from probes.http import HttpConfig, probe_http
from probes.tcp import TcpConfig, probe_tcp
from probes.tls import TlsConfig, probe_tls

BODY = b"<html>Cong dich vu cong</html>"


# servers (child process) -------------------------------------------------------
async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(BODY)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + BODY
        )
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 bench ESMTP\r\n")
    try:
        await writer.drain()
        await reader.read(1)
    except OSError:
        pass
    writer.close()


class _Dns(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        from dnslib import RR, DNSRecord

        request = DNSRecord.parse(data)
        reply = request.reply()
        reply.add_answer(*RR.fromZone(f"{request.q.qname} 60 IN A 10.33.0.10"))
        self.transport.sendto(reply.pack(), addr)


async def _serve(conn: Connection, ca_path: str) -> None:
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(ca_path)
    tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(tls_ctx)
    http = await asyncio.start_server(_http, "127.0.0.1", 0, backlog=1024)
    https = await asyncio.start_server(_http, "127.0.0.1", 0, ssl=tls_ctx, backlog=1024)
    tcp = await asyncio.start_server(_tcp, "127.0.0.1", 0, backlog=1024)
    loop = asyncio.get_running_loop()
    dns, _ = await loop.create_datagram_endpoint(_Dns, local_addr=("127.0.0.1", 0))
    conn.send(
        {
            "http": http.sockets[0].getsockname()[1],
            "https": https.sockets[0].getsockname()[1],
            "tcp": tcp.sockets[0].getsockname()[1],
            "dns": dns.get_extra_info("sockname")[1],
        }
    )
    await loop.run_in_executor(None, conn.recv)  # until the parent says stop


def _server_main(conn: Connection, ca_path: str) -> None:
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(conn, ca_path))


# probing (this process) ----------------------------------------------------------
class HttpcorePool(ClientPool):
    """httpx's own transport (httpcore + anyio), no keep-alive: the first transport."""

    def _build(self, ctx: ssl.SSLContext) -> list[httpx.AsyncClient]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        clients = [
            httpx.AsyncClient(verify=ctx, limits=limits, trust_env=False)
            for _ in range(self._shards)
        ]
        for client in clients:
            refuse_cookies(client)
        return clients


class AiohttpPool(ClientPool):
    """httpx over aiohttp (httpx-aiohttp), a connection per request: the second."""

    def _build(self, ctx: ssl.SSLContext) -> list[httpx.AsyncClient]:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport

        def session() -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(
                ssl=ctx, force_close=True, limit=0, use_dns_cache=False
            )
            return aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
            )

        return [
            ProbeClient(transport=AiohttpTransport(client=session), trust_env=False)
            for _ in range(self._shards)
        ]


Run = Callable[[ProbeContext], Awaitable[ProbeResult]]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(
    run: Run, ctx: ProbeContext, n: int, conc: int, limit_s: float
) -> dict[str, Any]:
    for _ in range(20):  # warm up: imports, SSL contexts, resolver objects
        await run(ctx)
    deadline = time.monotonic() + limit_s
    done = ok = 0
    sem = asyncio.Semaphore(conc)

    async def one() -> None:
        nonlocal done, ok
        async with sem:
            if time.monotonic() > deadline:
                return
            result = await run(ctx)
            done += 1
            ok += result.success

    cpu0, wall0 = _cpu(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    return {"n": done, "ok": ok, "cpu_ms": cpu * 1000 / max(done, 1), "rate": done / wall}


def _kinds(ports: dict[str, int], ca_path: str) -> dict[str, Run]:
    return {
        "http": lambda c: probe_http(HttpConfig(url=f"http://127.0.0.1:{ports['http']}/"), c),
        "https (http probe)": lambda c: probe_http(
            HttpConfig(url=f"https://127.0.0.1:{ports['https']}/"), c
        ),
        "tls": lambda c: probe_tls(
            TlsConfig(host="127.0.0.1", port=ports["https"], ca_file=ca_path), c
        ),
        "tcp (banner)": lambda c: probe_tcp(
            TcpConfig(host="127.0.0.1", port=ports["tcp"], expect_regex="^220"), c
        ),
        "dns": lambda c: probe_dns(
            DnsConfig(name="dichvucong.hungyen.gov.vn", resolver=f"127.0.0.1:{ports['dns']}"), c
        ),
    }


async def _bench(ports: dict[str, int], ca_path: str, args: argparse.Namespace) -> None:
    kinds = {
        name: run
        for name, run in _kinds(ports, ca_path).items()
        if not args.kinds or name.split()[0] in args.kinds
    }
    pools: dict[str, ClientPool] = {"": ClientPool(shards=4, extra_ca_file=ca_path)}
    if args.compare_transports:
        pools = {
            "probe transport": pools[""],
            "aiohttp": AiohttpPool(shards=4, extra_ca_file=ca_path),
            "httpcore": HttpcorePool(shards=4, extra_ca_file=ca_path),
        }
    loop = type(asyncio.get_running_loop())
    print(f"event loop: {loop.__module__}.{loop.__qualname__}")
    print(f"{'kind':<40}{'probes':>8}{'ok':>8}{'CPU ms/probe':>14}{'probes/s':>10}")
    for _ in range(args.rounds):
        for label, pool in pools.items():
            ctx = ProbeContext(clients=pool, timeout=5.0, key="bench")
            for name, run in kinds.items():
                r = await _measure(run, ctx, args.n, args.concurrency, args.max_seconds)
                shown = f"{name} [{label}]" if label else name
                print(f"{shown:<40}{r['n']:>8}{r['ok']:>8}{r['cpu_ms']:>14.2f}{r['rate']:>10.0f}")
    for pool in pools.values():
        await pool.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="probes per kind")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=12.0, help="per kind")
    parser.add_argument("--kinds", nargs="*", default=[], help="only these (http https tls ...)")
    parser.add_argument(
        "--compare-transports",
        action="store_true",
        help="the probe transport vs aiohttp vs httpcore under httpx",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the probing process's event loop (serve's default: uvloop)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ca_path = f"{tmp}/ca.pem"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=_server_main, args=(child, ca_path))
        server.start()
        try:
            ports = parent.recv()
            if args.loop == "uvloop":
                uvloop.run(_bench(ports, ca_path, args))
            else:
                asyncio.run(_bench(ports, ca_path, args))
        finally:
            parent.send("stop")
            server.join(5)
            if server.is_alive():
                server.terminate()


if __name__ == "__main__":
    main()
