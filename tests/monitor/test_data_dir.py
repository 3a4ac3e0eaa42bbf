"""Where the outcome journal lives: THONGSUOT_DATA_DIR, always absolute (docs/durability.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings


def test_the_data_directory_is_always_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("THONGSUOT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert Settings().data_dir == tmp_path / "state" / "thongsuot"
    assert Settings().journal_dir == tmp_path / "state" / "thongsuot" / "journal"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # ignored, as the XDG spec says
    assert Settings().data_dir == Path.home() / ".local" / "state" / "thongsuot"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THONGSUOT_DATA_DIR", "data")
    assert Settings().data_dir == tmp_path / "data"  # pinned at start, never cwd-relative
    monkeypatch.setenv("THONGSUOT_SPOOL_DIR", "old-spool")  # the older name still works
    assert Settings().journal_dir == tmp_path / "old-spool"
