"""Loopback ports: one that refuses, one that never answers (TCP), one that never
replies (UDP)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was just free on ``host``: connecting to it is refused until
    something binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


closed_port = free_port  # the name the probe tests read best with


def silent_udp_port() -> tuple[socket.socket, int]:
    """A bound UDP socket nobody reads: a DNS server that never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, int(sock.getsockname()[1])


class BlackholeTCP:
    """Accepts connections and never says a word (for timeouts after connect)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()
