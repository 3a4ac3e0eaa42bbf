"""Run Alembic programmatically (``thongsuot db upgrade``, start-up, tests).

The migrations live in the top-level ``alembic/`` directory of the checkout and
ship inside the wheel as ``app.migrations`` (see setup.py), so an installed
thongsuot migrates without the source tree or alembic.ini: the Config is built
here, with the options alembic.ini sets for the ``alembic`` CLI.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent

# alembic.ini's [alembic] options, bar script_location and prepend_sys_path (CLI
# only); "%%" is ConfigParser's escape for "%". tests/test_packaging.py keeps the two equal.
OPTIONS = {
    "path_separator": "os",
    "file_template": "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s",
    "timezone": "UTC",
}


def _is_script_dir(path: Path) -> bool:
    return (path / "env.py").is_file() and (path / "script.py.mako").is_file()


def script_location() -> Path:
    """The migrations directory: app/migrations in an installed wheel, else
    alembic/ beside the app package (a checkout, editable install)."""
    packaged = files("app") / "migrations"
    if isinstance(packaged, Path) and _is_script_dir(packaged):
        return packaged
    if _is_script_dir(ROOT / "alembic"):
        return ROOT / "alembic"
    raise RuntimeError(f"thongsuot: migrations not found in {packaged} nor {ROOT / 'alembic'}")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    for key, value in OPTIONS.items():
        cfg.set_main_option(key, value)
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when an event loop is running."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
