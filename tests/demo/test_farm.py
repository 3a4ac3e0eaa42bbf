"""The demo farm answers as scripted, on a real loopback socket, with a fake clock."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.demo.certs import make_demo_cert
from app.demo.farm import Farm, start_farm
from app.demo.script import Behaviour, FarmScript, Mode, UnitPlan
from probes import ErrorKind, ProbeContext, Status
from probes.clients import ClientPool
from probes.tls import TlsConfig, probe_tls

KEYWORD = "Dịch vụ công"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


OVERRIDES = {
    "A503": UnitPlan(Behaviour.OUTAGE, Mode.HTTP_503, 0.0),
    "ARST": UnitPlan(Behaviour.OUTAGE, Mode.RESET, 0.0),
    "AHNG": UnitPlan(Behaviour.OUTAGE, Mode.HANG, 0.0),
    "SLOW": UnitPlan(Behaviour.SLOW),
    "FLAP": UnitPlan(Behaviour.FLAPPING, Mode.HTTP_503, 0.0),
    "OK": UnitPlan(Behaviour.HEALTHY),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def farm(clock: FakeClock) -> AsyncIterator[Farm]:
    script = FarmScript(overrides=OVERRIDES, slow_s=0.4, flap_s=5.0, hang_max_s=5.0)
    f = await start_farm(script, clock=clock)
    yield f
    await f.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as c:
        yield c


async def test_healthy_answers_200_with_vietnamese_keyword(
    farm: Farm, client: httpx.AsyncClient
) -> None:
    r = await client.get(farm.unit_url("OK"))
    assert r.status_code == 200
    assert KEYWORD in r.text
    assert r.headers["content-type"].startswith("text/html")


async def test_outage_follows_the_script_phase(
    farm: Farm, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.t = 10.0  # inside the first 40 s of the 100 s period: down
    assert (await client.get(farm.unit_url("A503"))).status_code == 503
    clock.t = 40.5  # outage over
    assert (await client.get(farm.unit_url("A503"))).status_code == 200
    clock.t = 139.0  # next period, down again
    assert (await client.get(farm.unit_url("A503"))).status_code == 503


async def test_reset_mode_resets_the_connection(
    farm: Farm, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.t = 5.0
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await client.get(farm.unit_url("ARST"))
    clock.t = 50.0
    assert (await client.get(farm.unit_url("ARST"))).status_code == 200


async def test_hang_mode_never_answers(farm: Farm, clock: FakeClock) -> None:
    clock.t = 5.0
    async with httpx.AsyncClient(timeout=0.3) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(farm.unit_url("AHNG"))
        clock.t = 60.0
        assert (await c.get(farm.unit_url("AHNG"))).status_code == 200


async def test_slow_answers_after_the_delay(farm: Farm, client: httpx.AsyncClient) -> None:
    start = time.perf_counter()
    r = await client.get(farm.unit_url("SLOW"))
    assert r.status_code == 200
    assert time.perf_counter() - start >= 0.4


async def test_flapping_alternates(farm: Farm, client: httpx.AsyncClient, clock: FakeClock) -> None:
    codes = []
    for t in (1.0, 6.0, 11.0, 16.0):
        clock.t = t
        codes.append((await client.get(farm.unit_url("FLAP"))).status_code)
    assert codes == [200, 503, 200, 503]


async def test_province_switchable_in_process_and_over_http(
    farm: Farm, client: httpx.AsyncClient
) -> None:
    url = farm.url("/province/tthc/health")
    assert (await client.get(url)).status_code == 200
    farm.set_down("province")
    assert (await client.get(url)).status_code == 503
    farm.follow_script("province")
    assert (await client.get(url)).status_code == 200
    r = await client.post(farm.url("/_control/down/province?mode=reset"))
    assert r.status_code == 200
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await client.get(url)
    await client.post(farm.url("/_control/script/province"))
    assert (await client.get(url)).status_code == 200


async def test_control_forces_a_scripted_unit_up_and_rejects_bad_modes(
    farm: Farm, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.t = 1.0
    await client.post(farm.url("/_control/up/A503"))
    assert (await client.get(farm.unit_url("A503"))).status_code == 200
    r = await client.post(farm.url("/_control/down/OK?mode=bogus"))
    assert r.status_code == 400
    assert (await client.get(farm.unit_url("OK"))).status_code == 200


async def test_scripted_province_outage() -> None:
    clock = FakeClock()
    script = FarmScript(province_period_s=60.0, province_down_s=20.0)
    f = await start_farm(script, clock=clock)
    try:
        async with httpx.AsyncClient(timeout=2.0) as c:
            clock.t = 10.0
            assert (await c.get(f.url("/province/tthc/health"))).status_code == 503
            clock.t = 30.0
            assert (await c.get(f.url("/province/tthc/health"))).status_code == 200
    finally:
        await f.close()


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    out = await asyncio.wait_for(reader.read(), 3)
    writer.close()
    return out


async def test_keep_alive_pipelining_and_connection_close(farm: Farm) -> None:
    req = b"GET /u/OK/dvc/health HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"HEAD /u/OK/dvc/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = await _raw(farm.port, req + req + last)  # read() returns only once the farm closes
    assert out.count(b"HTTP/1.1 200 OK") == 3
    assert out.count(b"Connection: keep-alive") == 2
    assert out.endswith(b"Connection: close\r\n\r\n")  # HEAD: no body


async def test_http10_closes_by_default_and_unknown_paths_404(farm: Farm) -> None:
    out = await _raw(farm.port, b"GET /nope HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404")
    assert b"Connection: close" in out


async def test_two_hundred_fifty_concurrent_connections() -> None:
    farm = await start_farm(FarmScript(outage_fraction=0.0, slow_fraction=0.0))
    try:
        await _many_at_once(farm, 250)
    finally:
        await farm.close()


async def _many_at_once(farm: Farm, n: int) -> None:
    conns = [await asyncio.open_connection("127.0.0.1", farm.port) for _ in range(n)]
    for i, (_, writer) in enumerate(conns):  # every connection is open before any finishes
        writer.write(f"GET /u/U{i}/dvc/health HTTP/1.1\r\nHost: x\r\n".encode())
    await asyncio.sleep(0.05)
    assert len(farm._conns) == n
    for _, writer in conns:
        writer.write(b"Connection: close\r\n\r\n")
    outs = await asyncio.gather(*(asyncio.wait_for(r.read(), 5) for r, _ in conns))
    for _, writer in conns:
        writer.close()
    assert [o.split(b" ", 2)[1] for o in outs] == [b"200"] * n
    assert farm.stats["requests"] == n


@pytest.mark.slow
async def test_answers_at_least_1500_requests_per_cpu_second() -> None:
    """CPU time, not wall time, so a busy shared machine does not fail it: the
    client's own cost is counted too, so the farm alone is faster still."""
    farm = await start_farm(FarmScript(outage_fraction=0.0, slow_fraction=0.0))
    request = b"GET /u/1/dvc/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    async def worker(n: int) -> int:
        ok = 0
        for _ in range(n):
            ok += (await _raw(farm.port, request)).startswith(b"HTTP/1.1 200")
        return ok

    try:
        cpu0 = time.process_time()
        oks = await asyncio.gather(*(worker(60) for _ in range(50)))
        cpu = time.process_time() - cpu0
    finally:
        await farm.close()
    assert sum(oks) == 3000
    assert 3000 / cpu >= 1500, f"{3000 / cpu:.0f} requests per CPU second"


# ---- HTTPS, national services and the sync endpoint -----------------------------


async def test_https_listener_serves_the_same_paths_with_the_demo_certificate(
    tmp_path: Path,
) -> None:
    cert = make_demo_cert(tmp_path, days=10)
    f = await start_farm(FarmScript(), tls=cert.server_context())
    try:
        assert f.tls_port is not None and f.tls_port != f.port
        trusting = ssl.create_default_context(cafile=str(cert.cert_file))
        async with httpx.AsyncClient(verify=trusting, timeout=3) as c:
            r = await c.get(f.url("/national/portal/health", tls=True))
            assert r.status_code == 200 and "Hệ thống dùng chung quốc gia" in r.text
            assert (await c.get(f.url("/province/portal/health", tls=True))).status_code == 200
        async with httpx.AsyncClient(timeout=3) as c:  # the system CAs do not know it
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await c.get(f.url("/province/portal/health", tls=True))
    finally:
        await f.close()


async def test_tls_probe_sees_the_near_expiry_of_the_demo_certificate(tmp_path: Path) -> None:
    cert = make_demo_cert(tmp_path, days=10)
    f = await start_farm(FarmScript(), tls=cert.server_context())
    try:
        config = TlsConfig(
            host="127.0.0.1", port=f.tls_port, ca_file=str(cert.cert_file), warn_days=14
        )
        result = await probe_tls(config, ProbeContext(clients=ClientPool(1), timeout=3))
    finally:
        await f.close()
    assert result.status is Status.DEGRADED
    assert result.error_kind is ErrorKind.CERT_EXPIRY
    assert 9.9 < result.details["days_left"] <= 10.0
    assert result.details["cert_expiry"] == cert.not_after.timestamp()


def test_a_farm_without_tls_has_no_https_url() -> None:
    farm = Farm(FarmScript())
    with pytest.raises(RuntimeError, match="without TLS"):
        farm.url("/", tls=True)


async def test_national_services_are_healthy_unless_forced_down(
    farm: Farm, client: httpx.AsyncClient
) -> None:
    url = farm.url("/national/sso/health")
    assert (await client.get(url)).status_code == 200
    farm.set_down("national")
    assert (await client.get(url)).status_code == 503
    farm.follow_script("national")
    assert (await client.get(url)).status_code == 200


async def test_sync_status_lags_on_the_script() -> None:
    clock = FakeClock()
    script = FarmScript(sync_every_s=5, sync_stall_at_s=30, sync_stall_s=60, sync_cycle_s=120)
    f = await start_farm(script, clock=clock)
    try:
        async with httpx.AsyncClient(timeout=2) as c:

            async def status(t: float) -> tuple[float, int]:
                clock.t = t
                r = await c.get(f.url("/province/sync/status"))
                assert r.headers["content-type"] == "application/json"
                body = r.json()
                at = datetime.fromisoformat(body["last_synced_at"]).timestamp()
                return round(at - f.epoch), body["pending"]

            assert await status(12.0) == (10, 0)  # synced every 5 s
            assert await status(75.0) == (30, 9)  # stalled since 30 s: 45 s behind
            assert await status(95.0) == (95, 0)  # caught up
            assert await status(160.0) == (150, 2)  # the next stall began at 150 s
    finally:
        await f.close()
