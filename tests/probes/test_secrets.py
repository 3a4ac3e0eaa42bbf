"""probes/secrets.py: a secret by name from ``NAME`` or the file named by ``NAME_FILE``."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.secrets import (
    SecretError,
    SecretFileError,
    SecretNotSet,
    SecretUnavailable,
    env_secret,
    lookup_secret,
    read_secret,
)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "portal_token"
    path.write_text("  từ-tệp\n", encoding="utf-8")
    return path


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_TOKEN", " từ-biến ")
    monkeypatch.delenv("PORTAL_TOKEN_FILE", raising=False)
    assert env_secret("PORTAL_TOKEN") == " từ-biến "  # a variable's value is kept as it is


def test_from_the_file(monkeypatch: pytest.MonkeyPatch, secret_file: Path) -> None:
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    monkeypatch.setenv("PORTAL_TOKEN_FILE", str(secret_file))
    assert env_secret("PORTAL_TOKEN") == "từ-tệp"  # surrounding whitespace stripped


def test_both_set_the_file_wins(monkeypatch: pytest.MonkeyPatch, secret_file: Path) -> None:
    monkeypatch.setenv("PORTAL_TOKEN", "từ-biến")
    monkeypatch.setenv("PORTAL_TOKEN_FILE", str(secret_file))
    assert env_secret("PORTAL_TOKEN") == "từ-tệp"
    # a rotated file is read again on the next lookup
    secret_file.write_text("mới\n", encoding="utf-8")
    assert env_secret("PORTAL_TOKEN") == "mới"


def test_missing_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    monkeypatch.delenv("PORTAL_TOKEN_FILE", raising=False)
    assert lookup_secret("PORTAL_TOKEN") is None
    with pytest.raises(SecretNotSet, match=r"'PORTAL_TOKEN' is not set \(nor PORTAL_TOKEN_FILE\)"):
        env_secret("PORTAL_TOKEN")
    assert issubclass(SecretNotSet, LookupError)


@pytest.mark.parametrize("case", ["missing", "directory", "not utf-8"])
def test_unreadable_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    path = tmp_path / "token"
    if case == "directory":
        path.mkdir()
    elif case == "not utf-8":
        path.write_bytes(b"\xff\xfe b\xed m\xe1t")
    monkeypatch.setenv("PORTAL_TOKEN", "từ-biến")  # not a fallback: the file was asked for
    monkeypatch.setenv("PORTAL_TOKEN_FILE", str(path))
    with pytest.raises(SecretFileError) as caught:
        env_secret("PORTAL_TOKEN")
    message = str(caught.value)
    assert message.startswith(f"PORTAL_TOKEN_FILE={str(path)!r} cannot be read: ")
    assert "từ-biến" not in message and "m\xe1t" not in message
    # callers catching either family keep working
    assert isinstance(caught.value, OSError)
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, SecretError)


def test_explicit_environment_mapping(secret_file: Path) -> None:
    env = {"A": "a", "B": "b", "B_FILE": str(secret_file)}
    assert (lookup_secret("A", env), lookup_secret("B", env), lookup_secret("C", env)) == (
        "a",
        "từ-tệp",
        None,
    )


def test_read_secret_wraps_every_failure(tmp_path: Path) -> None:
    def resolver(name: str) -> str:
        if name == "EMPTY":
            return ""
        if name == "FILE":
            raise SecretFileError(f"FILE_FILE={str(tmp_path / 'x')!r} cannot be read: gone")
        raise SecretNotSet(f"secret {name!r} is not set (nor {name}_FILE)")

    with pytest.raises(SecretUnavailable, match="secret 'EMPTY' is empty"):
        read_secret(resolver, "EMPTY")
    with pytest.raises(SecretUnavailable, match="secret 'FILE' is unavailable: FILE_FILE="):
        read_secret(resolver, "FILE")
    with pytest.raises(SecretUnavailable, match="'NONE' is unavailable: secret 'NONE' is not"):
        read_secret(resolver, "NONE")
    assert read_secret(lambda _: "v", "OK") == "v"
