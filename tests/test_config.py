"""Settings: ``THONGSUOT_X_FILE`` fills any setting, read through probes.secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from probes.secrets import SecretFileError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("THONGSUOT_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_any_setting_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("THONGSUOT_API_TOKEN_FILE", write(tmp_path, "t", "a-long-api-token-1\n"))
    monkeypatch.setenv("THONGSUOT_PORT_FILE", write(tmp_path, "p", "9090\n"))
    monkeypatch.setenv("THONGSUOT_DATABASE_URL_FILE", write(tmp_path, "u", "postgresql://x/db"))
    settings = Settings()
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "a-long-api-token-1"
    assert settings.port == 9090
    assert settings.database_url == "postgresql+asyncpg://x/db"  # validators still run


def test_file_wins_over_variable_and_arguments_over_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("THONGSUOT_HOST", "0.0.0.0")
    monkeypatch.setenv("THONGSUOT_HOST_FILE", write(tmp_path, "h", "::1\n"))
    assert Settings().host == "::1"
    assert Settings(host="localhost").host == "localhost"
    monkeypatch.delenv("THONGSUOT_HOST_FILE")
    assert Settings().host == "0.0.0.0"


def test_names_ending_in_file_are_settings_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """THONGSUOT_EXTRA_CA_FILE is the ``extra_ca_file`` setting, not a file for ``extra_ca``."""
    monkeypatch.setenv("THONGSUOT_EXTRA_CA_FILE", "/etc/thongsuot/ca.pem")
    monkeypatch.setenv("THONGSUOT_NOT_A_SETTING_FILE", "/nonexistent")
    assert Settings().extra_ca_file == "/etc/thongsuot/ca.pem"
    monkeypatch.setenv("THONGSUOT_EXTRA_CA_FILE_FILE", write(tmp_path, "ca", "/srv/ca.pem\n"))
    assert Settings().extra_ca_file == "/srv/ca.pem"


def test_unreadable_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "missing"
    monkeypatch.setenv("THONGSUOT_SECRET_KEY_FILE", str(missing))
    with pytest.raises(SecretFileError, match=f"THONGSUOT_SECRET_KEY_FILE='{missing}' cannot be"):
        Settings()
