from __future__ import annotations

from pathlib import Path

import pytest

from app.agent.config import AgentConfigError, load_config, parse_bytes, parse_duration, read_token


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    cfg = load_config(
        _write(
            tmp_path,
            'central_url = "https://giamsat.hungyen.gov.vn/"\ntoken_file = "t"\nspool_dir = "s"\n',
        )
    )
    assert cfg.central_url == "https://giamsat.hungyen.gov.vn"
    assert cfg.token_file == tmp_path / "t"
    assert cfg.spool_dir == tmp_path / "s"
    assert cfg.spool_max_age == 24 * 3600
    assert cfg.spool_max_bytes == 64 * 1024**2
    assert cfg.metrics_port is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('token_file = "t"\nspool_dir = "s"\n', "central_url: Field required"),
        ('central_url = "ftp://x"\ntoken_file = "t"\nspool_dir = "s"\n', "central_url"),
        (
            'central_url = "https://a:b@x"\ntoken_file = "t"\nspool_dir = "s"\n',
            "central_url: no credentials",
        ),
        (
            'central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\nspool_max_age = "1y"\n',
            "spool_max_age: expected a duration",
        ),
        (
            'central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\n'
            'spool_max_bytes = "1KiB"\n',
            "spool_max_bytes: must be at least 64KiB",
        ),
        (
            'central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\nmetrics_port = 0\n',
            "metrics_port",
        ),
        (
            'central_url = "https://x"\ntoken_file = "t"\nspool_dir = "s"\nspol = 1\n',
            "spol: unknown",
        ),
        ('central_url = "https://x\n', "not valid TOML"),
    ],
)
def test_errors_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(AgentConfigError) as err:
        load_config(path)
    assert field in str(err.value)
    assert str(path) in str(err.value)


def test_units() -> None:
    assert parse_duration("24h") == 86400
    assert parse_duration("90s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_duration(30) == 30
    assert parse_bytes("64MiB") == 64 * 1024**2
    assert parse_bytes("500MB") == 500_000_000
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n  tsa_abc  \nignored\n")
    assert read_token(path) == "tsa_abc"
    path.write_text("\n")
    with pytest.raises(AgentConfigError, match="no token"):
        read_token(path)
    with pytest.raises(AgentConfigError, match="cannot read"):
        read_token(tmp_path / "missing")
