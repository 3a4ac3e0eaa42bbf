"""A missing external tool is a skip that says what to run, and a failure under CI=true."""

from __future__ import annotations

import pytest

from tests.support.tools import require_tool


def test_missing_tool_skips_locally_with_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        require_tool("promtool")
    assert caught.value.msg == "promtool not found: run scripts/install-test-deps.sh"


def test_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as caught:
        require_tool("chromium")
    assert caught.value.msg == "chromium not found: run scripts/install-test-deps.sh"


def test_a_present_tool_is_its_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_tool("sh").startswith("/")
