"""A network namespace joined to this one by a veth pair on a private /30, so a process
inside reaches a server here over a link the test can cut (``ip link set … down``).

Needs root (CAP_NET_ADMIN) and iproute2. Where a namespace cannot be made, the test is
skipped with the reason printed; under ``CI=true`` it fails instead (CI runs as root,
so the promise the test makes must be kept there).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=20)


@dataclass(frozen=True)
class Netns:
    name: str
    host_if: str  # the veth end in this (the test's) namespace
    ns_if: str  # the end inside the namespace
    host_ip: str  # reach this namespace's servers from inside at this address
    ns_ip: str

    def run_args(self, *cmd: str) -> list[str]:
        """``cmd`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def cut(self) -> None:
        """The line is cut: no packet crosses until :meth:`restore`."""
        _check(_ip("link", "set", self.host_if, "down"))

    def restore(self) -> None:
        _check(_ip("link", "set", self.host_if, "up"))


def _check(res: subprocess.CompletedProcess[str]) -> None:
    if res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(res.args[1:])}: {res.stderr.strip()}")


def _unavailable(reason: str) -> None:
    print(reason)
    if os.environ.get("CI") == "true":  # CI runs as root: the namespace tests must run
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def veth_namespace(prefix: str = "ts") -> Iterator[Netns]:
    """A fresh namespace with ``lo`` up and a veth pair on 10.231.x.y/30; removed after."""
    if shutil.which("ip") is None:
        _unavailable("cannot make a network namespace: iproute2 ('ip') is not installed")
    tag = f"{os.getpid() % 100000}{random.randrange(100):02d}"
    name, host_if, ns_if = f"{prefix}ns{tag}", f"{prefix}h{tag}", f"{prefix}n{tag}"
    block = random.randrange(64) * 4
    third = os.getpid() % 250
    host_ip, ns_ip = f"10.231.{third}.{block + 1}", f"10.231.{third}.{block + 2}"
    res = _ip("netns", "add", name)
    if res.returncode != 0:
        _unavailable(f"cannot make a network namespace here ({res.stderr.strip()})")
    try:
        for args in (
            ("link", "add", host_if, "type", "veth", "peer", "name", ns_if),
            ("link", "set", ns_if, "netns", name),
            ("addr", "add", f"{host_ip}/30", "dev", host_if),
            ("link", "set", host_if, "up"),
            ("-n", name, "addr", "add", f"{ns_ip}/30", "dev", ns_if),
            ("-n", name, "link", "set", ns_if, "up"),
            ("-n", name, "link", "set", "lo", "up"),
        ):
            _check(_ip(*args))
        yield Netns(name, host_if, ns_if, host_ip, ns_ip)
    finally:
        _ip("link", "del", host_if)  # also removes the peer, if it was moved in
        _ip("netns", "del", name)
