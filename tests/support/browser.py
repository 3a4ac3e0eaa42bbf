"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

No Playwright or Selenium: a websocket (``websocket-client``) and a dozen CDP
commands are all the tests need. :func:`start_chromium` runs the browser with a
fresh profile and no background traffic; :class:`Page` loads a URL at a given
width, measures horizontal overflow, takes screenshots, records every request
the page made, and runs the axe-core accessibility audit (axe.min.js from npm via
``scripts/fetch-axe.sh``, injected with ``Runtime.evaluate``).

Locally a missing browser or npm skips the test; under ``CI=true`` it fails
(:mod:`tests.support.tools`).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

from tests.support.tools import missing

ROOT = Path(__file__).resolve().parents[2]
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
)
SERIOUS = ("serious", "critical")


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium", "run scripts/install-test-deps.sh (Debian's chromium)")


def axe_source() -> str:
    """axe.min.js, fetched from npm into .cache/ on first use."""
    if shutil.which("npm") is None:
        missing("npm", "install Debian's npm, then run scripts/fetch-axe.sh")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "fetch-axe.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        missing("axe-core", f"scripts/fetch-axe.sh failed: {done.stderr.strip()}")
    return Path(lines[-1]).read_text(encoding="utf-8")


@dataclass
class Browser:
    process: subprocess.Popen[str]
    port: int
    profile: Path

    def new_page(self) -> Page:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            target = json.loads(resp.read())
        return Page(websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30))


@contextmanager
def start_chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh profile; stopped (its process only) afterwards."""
    exe = chromium_path()
    profile = Path(tempfile.mkdtemp(prefix="thongsuot-chromium-"))
    process = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _devtools_port(process)
        yield Browser(process, port, profile)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(process: subprocess.Popen[str]) -> int:
    """Chromium prints "DevTools listening on ws://127.0.0.1:PORT/..." on stderr."""
    assert process.stderr is not None
    found: list[int] = []
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                found.append(int(match.group(1)))
                break
        for _ in process.stderr:  # keep draining so the browser never blocks on a full pipe
            pass

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    if not found:
        raise RuntimeError("chromium did not start: " + "".join(lines[-20:]))
    return found[0]


@dataclass
class Page:
    ws: websocket.WebSocket
    events: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; events that arrive meanwhile are kept in ``events``."""
        ident = next(self._ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def _wait_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == name:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if message.get("method") == name:
                return message
            self.events.append(message)
        raise TimeoutError(name)

    def open(self, url: str, width: int, height: int = 900) -> None:
        """Load ``url`` at ``width`` CSS pixels (a phone below 600) and wait for load."""
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        self.events.clear()
        self.send("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")

    def requested(self) -> list[str]:
        """Every URL the page asked for since it was opened."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def eval(self, expression: str, *, wait: bool = False) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=wait
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def overflow(self) -> tuple[int, int]:
        """(scrollWidth of the document, innerWidth): nothing may stick out sideways."""
        value = self.eval("[document.documentElement.scrollWidth, window.innerWidth]")
        return int(value[0]), int(value[1])

    def screenshot(self, path: Path, *, full: bool = True) -> None:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full}
        if full:
            size = self.eval(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size[0],
                "height": min(size[1], 4000),
                "scale": 1,
            }
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def axe(self, source: str) -> list[dict[str, Any]]:
        """Serious and critical axe-core violations (WCAG 2.1 A/AA and best practice)."""
        if not self.eval("typeof axe !== 'undefined'"):
            self.eval(source)
        found = self.eval(
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.slice(0, 3).map(n => n.html)})))",
            wait=True,
        )
        return [v for v in found if v.get("impact") in SERIOUS]

    def close(self) -> None:
        self.ws.close()
