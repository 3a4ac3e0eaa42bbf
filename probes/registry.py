"""Maps a probe kind to its configuration model and its function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from probes.base import ProbeConfig, ProbeContext, ProbeResult

ProbeFn = Callable[[Any, ProbeContext], Awaitable[ProbeResult]]


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    kind: str
    config_model: type[ProbeConfig]
    run: ProbeFn
    summary: str = ""


_REGISTRY: dict[str, ProbeSpec] = {}


def register(
    kind: str, config_model: type[ProbeConfig], summary: str = ""
) -> Callable[[ProbeFn], ProbeFn]:
    """Decorator: make ``fn`` the probe for ``kind``."""

    def deco(fn: ProbeFn) -> ProbeFn:
        _REGISTRY[kind] = ProbeSpec(kind, config_model, fn, summary)
        return fn

    return deco


def get(kind: str) -> ProbeSpec:
    if kind not in _REGISTRY and kind in BUILTIN_MODULES:
        # only this kind's module: a small process (the agent) loads what it runs, e.g.
        # not freshness's SQLAlchemy for http checks
        import importlib

        importlib.import_module(f"probes.{kind}")
    if kind not in _REGISTRY:
        _load_builtin()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown probe kind {kind!r}; known: {', '.join(kinds())}") from None


def kinds() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def parse_config(kind: str, raw: dict[str, Any]) -> ProbeConfig:
    """Validate ``raw`` against ``kind``'s model (raises ``pydantic.ValidationError``)."""
    return get(kind).config_model.model_validate(raw)


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in BUILTIN_MODULES:
        importlib.import_module(f"probes.{name}")


# One module per kind; adding a kind means adding its module name here.
BUILTIN_MODULES: tuple[str, ...] = (
    "http",
    "tls",
    "dns",
    "tcp",
    "icmp",
    "heartbeat",
    "flow",
    "freshness",
)
