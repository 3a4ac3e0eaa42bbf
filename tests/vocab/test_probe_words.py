"""``thongsuot probe`` prints the app's words (app.vocab), not a table of its own:
probes/labels.py had other error-kind words than app/vocab/words.py."""

from __future__ import annotations

from app.cli import probe_text
from app.vocab.states import state_word
from app.vocab.words import error_kind_words
from probes.base import ErrorKind, ProbeResult


def test_probe_console_in_vietnamese_and_english() -> None:
    result = ProbeResult.down(ErrorKind.CONNECT, "ConnectError: refused", 0.012, ip="127.0.0.1")
    assert probe_text(result, "vi").splitlines() == [
        "GIÁN ĐOẠN · không kết nối được tới máy chủ (connect) · 12 ms",
        "ConnectError: refused",
        "  ip: 127.0.0.1",
    ]
    assert probe_text(result, "en").splitlines()[0] == (
        "DOWN · could not connect to the server (connect) · 12 ms"
    )
    slow = ProbeResult.degraded(ErrorKind.LATENCY, "2.5 s", 2.5)
    assert probe_text(slow, "vi").startswith(
        f"{state_word('degraded').upper()} · {error_kind_words('latency', 'vi')} (latency)"
    )
