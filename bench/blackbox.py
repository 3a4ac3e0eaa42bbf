"""blackbox_exporter side by side: the same farm, the same targets, the same probe rate.

The exporter runs on 127.0.0.1 with one HTTP module shaped like the demo checks
(status 2xx and the keyword in the body, the same timeout). A separate process
drives it as Prometheus would, ``GET /probe?module=...&target=...`` for every
target once per interval, each at its own phase. The exporter's CPU comes from
``/proc/<pid>/stat`` (user + system), so neither the driver nor the farm counts.

Debian: ``apt-get install prometheus-blackbox-exporter``. Without the binary the
bench prints a line saying so and skips this part.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODULE = "http_bench"
BINARIES = ("prometheus-blackbox-exporter", "blackbox_exporter")


@dataclass(frozen=True, slots=True)
class BlackboxReport:
    probes: int
    failed_requests: int
    elapsed_s: float
    cpu_s: float

    @property
    def cpu_ms_per_probe(self) -> float:
        return self.cpu_s * 1000 / self.probes if self.probes else float("nan")

    def lines(self, interval_s: int, targets: int) -> list[str]:
        return [
            f"blackbox_exporter: {targets} targets at {interval_s} s for {self.elapsed_s:.0f} s: "
            f"{self.probes} probes ({self.probes / self.elapsed_s:,.1f}/s, "
            f"{self.failed_requests} /probe requests failed)",
            f"blackbox_exporter CPU: {self.cpu_s:.1f} s = {self.cpu_ms_per_probe:.2f} CPU-ms "
            "per HTTP probe (stores nothing)",
        ]


def binary() -> str | None:
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(timeout_s: float, keyword: str) -> str:
    return (
        "modules:\n"
        f"  {MODULE}:\n"
        "    prober: http\n"
        f"    timeout: {timeout_s:g}s\n"
        "    http:\n"
        "      preferred_ip_protocol: ip4\n"
        f'      fail_if_body_not_matches_regexp: ["{keyword}"]\n'
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_blackbox(
    urls: list[str], interval_s: int, duration_s: float, timeout_s: float, keyword: str
) -> BlackboxReport | None:
    """Probe ``urls`` through blackbox_exporter for ``duration_s``; None if it is absent."""
    exe = binary()
    if exe is None:
        print(
            "blackbox_exporter: not installed, skipped "
            "(Debian: apt-get install prometheus-blackbox-exporter)",
            flush=True,
        )
        return None
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="thongsuot-blackbox-") as tmp:
        config = Path(tmp) / "blackbox.yml"
        config.write_text(_config(timeout_s, keyword), encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            exe,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await _wait_listening(port)
            base = f"http://127.0.0.1:{port}/probe?module={MODULE}&target="
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            driver = ctx.Process(
                target=_driver_main, args=(child, base, urls, interval_s, duration_s, timeout_s)
            )
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            driver.start()
            probes, failed = await asyncio.to_thread(parent.recv)
            cpu, elapsed = _cpu_seconds(proc.pid) - cpu0, time.monotonic() - t0
            driver.join(10)
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    return BlackboxReport(probes=probes, failed_requests=failed, elapsed_s=elapsed, cpu_s=cpu)


async def _wait_listening(port: int, within: float = 10.0) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("blackbox_exporter did not start listening")


# the driver (its own process) ---------------------------------------------------
def _driver_main(
    conn: object, base: str, urls: list[str], interval_s: int, duration_s: float, timeout_s: float
) -> None:
    result = asyncio.run(_drive(base, urls, interval_s, duration_s, timeout_s))
    conn.send(result)  # type: ignore[attr-defined]


async def _drive(
    base: str, urls: list[str], interval_s: int, duration_s: float, timeout_s: float
) -> tuple[int, int]:
    """Each target once per interval at its own phase, as Prometheus scrapes; returns
    (probes answered, requests that failed)."""
    from urllib.parse import quote

    import httpx

    from probes.clients import ClientPool

    done = failed = 0
    tasks: set[asyncio.Task[None]] = set()
    # the probes' own clients (a fresh connection a request): one shared httpx pool
    # falls behind at this rate (encode/httpx#3215, docs/design.md §4)
    pool = ClientPool(shards=8)
    try:

        async def scrape(url: str) -> None:
            nonlocal done, failed
            client = pool.client_for(url)
            try:
                response = await client.get(base + quote(url, safe=""), timeout=timeout_s + 5)
                if response.status_code == 200:
                    done += 1
                else:
                    failed += 1
            except httpx.HTTPError:
                failed += 1

        start = time.monotonic()
        n = len(urls)
        k = 0
        while (due := start + k * interval_s / n) < start + duration_s:
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(scrape(urls[k % n]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s + 10)
    finally:
        await pool.aclose()
    return done, failed


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0]).parse_args()
    print("part of bench/run_checks.py: see its --help")


if __name__ == "__main__":
    main()
