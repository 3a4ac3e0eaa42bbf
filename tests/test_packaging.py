"""The wheel is enough to run thongsuot: it carries the migrations (alembic/ as
app.migrations), so ``thongsuot db upgrade`` works with no checkout and no
alembic.ini. The slow test takes the steps of the Dockerfile's builder stage:
the files it copies, the locked runtime dependencies installed with
--require-hashes into a fresh venv, the wheel built without build isolation and
installed with --no-deps; then it migrates an empty SQLite database from a
directory outside the checkout."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app import migrate
from app.models import Base

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    return {
        canonicalize_name(m[1]): m[2]
        for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, re.MULTILINE)
    }


@pytest.mark.parametrize(
    ("lock", "section"),
    [("runtime.txt", "dependencies"), ("dev.txt", "dependencies"), ("dev.txt", "dev")],
)
def test_lock_pins_every_declared_dependency(lock: str, section: str) -> None:
    """A dependency added to pyproject.toml without running scripts/lock would be
    missing from every install (the project itself goes in with --no-deps)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = (
        project[section] if section == "dependencies" else project["optional-dependencies"][section]
    )
    pins = _pins(lock)
    for line in declared:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements/{lock}: run scripts/lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {req.name}=={pins[name]}, pyproject.toml wants {req}: "
            "run scripts/lock"
        )


def test_dev_lock_agrees_with_runtime_and_build_locks() -> None:
    dev = _pins("dev.txt")
    for lock in ("runtime.txt", "build.txt"):
        for name, version in _pins(lock).items():
            assert dev.get(name, version) == version, (lock, name)
    assert _pins("runtime.txt").keys() <= dev.keys()


def test_migrate_sets_the_options_of_alembic_ini() -> None:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "alembic.ini", encoding="utf-8")
    options = dict(ini["alembic"])  # raw: "%%" as written, which set_main_option wants
    # Only the alembic CLI needs these two; app.migrate locates the scripts itself.
    options.pop("script_location")
    options.pop("prepend_sys_path")
    assert options == migrate.OPTIONS


def test_checkout_uses_the_top_level_alembic_directory() -> None:
    assert migrate.script_location() == ROOT / "alembic"
    cfg = migrate.alembic_config("sqlite://")
    assert cfg.config_file_name is None
    assert cfg.get_main_option("file_template") == "%(year)d%(month).2d%(day).2d_%(rev)s_%(slug)s"


def _builder_stage() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    start = next(
        i for i, line in enumerate(lines) if line.startswith("FROM ") and "AS builder" in line
    )
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("FROM "))
    return lines[start + 1 : end]


def _copy_build_context(dest: Path) -> None:
    """What the builder stage COPYs from the build context, and only that."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    copies = [line.split()[1:] for line in _builder_stage() if line.startswith("COPY ")]
    assert copies, "the builder stage copies nothing"
    for *sources, target in copies:
        for source in sources:
            src = ROOT / source
            to = dest / target / src.name if target.endswith("/") else dest / target
            if src.is_dir():
                shutil.copytree(src, to, ignore=ignore)
            else:
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, to)


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("THONGSUOT_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.mark.slow
def test_wheel_installs_from_the_lock_and_migrates_outside_the_checkout(tmp_path: Path) -> None:
    steps = " ".join(_builder_stage())
    # The Dockerfile's builder stage does what this test does.
    assert "--require-hashes -r requirements/runtime.txt" in steps
    assert "--require-hashes -r requirements/build.txt" in steps
    assert "wheel --no-deps --no-build-isolation" in steps
    assert "install --no-deps /wheels/" in steps

    context = tmp_path / "context"
    _copy_build_context(context)
    wheels = tmp_path / "wheels"
    # Built by this venv's setuptools, which scripts/_venv.sh installs from
    # requirements/build.txt, as the Dockerfile's build venv does.
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    _run([*build, "-w", wheels, context], cwd=context, env=_clean_env())
    (wheel,) = wheels.glob("thongsuot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    versions = sorted(p.name for p in (ROOT / "alembic" / "versions").glob("*.py"))
    assert versions
    expected = {"app/migrations/env.py", "app/migrations/script.py.mako"}
    expected |= {f"app/migrations/versions/{name}" for name in versions}
    assert expected <= names, sorted(expected - names)
    # A top-level alembic/ in the wheel would shadow the alembic library.
    assert not any(n.startswith("alembic/") for n in names)

    # A fresh venv, filled by this venv's pip (--python): quicker than its own
    # bundled pip, and no different in what it installs (hash-checked from the lock).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path, env=_clean_env())
    py = venv / "bin" / "python"
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", py, "install", "-q"]
    pip.append("--no-compile")
    _run(
        [*pip, "--require-hashes", "-r", ROOT / "requirements" / "runtime.txt"],
        cwd=tmp_path,
        env=_clean_env(),
    )
    _run([*pip, "--no-deps", wheel], cwd=tmp_path, env=_clean_env())

    work = tmp_path / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    db = work / "thongsuot.db"
    env = _clean_env(THONGSUOT_DATABASE_URL=f"sqlite:///{db}")
    where = _run([py, "-c", "from app import migrate; print(migrate.script_location())"], work, env)
    assert Path(where.strip()).is_relative_to(venv), where
    out = _run([venv / "bin" / "thongsuot", "db", "upgrade"], cwd=work, env=env)
    assert "database upgraded" in out

    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert set(Base.metadata.tables) <= tables
    assert revision == ScriptDirectory(str(context / "alembic")).get_current_head()
