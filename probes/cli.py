"""One-off probing for the console: ``thongsuot probe KIND TARGET [--option k=v ...]``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probes.base import ErrorKind, ProbeContext, ProbeResult, Status
from probes.clients import ClientPool
from probes.registry import get
from probes.resources import ProbeResources

__all__ = ["build_config", "format_result", "parse_options", "run_once"]


def parse_options(pairs: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` → ``{"k": "v"}`` (raises ``ValueError`` on a pair without ``=``)."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option {pair!r} is not key=value")
        options[key.strip()] = value
    return options


def _value(text: str) -> Any:
    """JSON when it parses (numbers, booleans, lists, objects), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _host_port(target: str, default: int | None) -> dict[str, Any]:
    host, port = target, None
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif target.count(":") == 1:
        host, port = target.split(":")
    if port is None and default is None:
        raise ValueError(f"{target!r} needs a port: HOST:PORT")
    return {"host": host, "port": int(port) if port else default}


def _target_fields(kind: str, target: str) -> dict[str, Any]:
    if kind == "http":
        return {"url": target}
    if kind == "tls":
        return _host_port(target, 443)
    if kind == "tcp":
        return _host_port(target, None)
    if kind == "icmp":
        return {"host": target}
    if kind == "dns":
        return {"name": target}
    if kind == "freshness":
        source = "http" if target.startswith(("http://", "https://")) else "sql"
        return {"source": source, "url": target}
    if kind == "flow":
        return _load_file(Path(target))
    if kind == "heartbeat":
        raise ValueError("heartbeat checks are pushed by devices; there is nothing to probe")
    raise ValueError(f"no positional target is defined for kind {kind!r}")


def _load_file(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with the flow's configuration")
    data.pop("kind", None)
    return data


def build_config(kind: str, target: str, options: dict[str, str]) -> Any:
    """The validated config (raises ``pydantic.ValidationError`` / ``ValueError``)."""
    model = get(kind).config_model  # an unknown kind: KeyError naming the known ones
    raw = {**_target_fields(kind, target), **{k: _value(v) for k, v in options.items()}}
    return model.model_validate(raw)


async def run_once(
    kind: str,
    target: str,
    options: dict[str, str],
    timeout: float,  # noqa: ASYNC109 - the probe's own budget, handed to it in ctx
    *,
    extra_ca_file: str | None = None,
) -> ProbeResult:
    """Probe once, e.g. ``asyncio.run(run_once("http", url, {}, 10))`` from the console.

    Misconfiguration raises ``ValueError`` (``pydantic.ValidationError`` is one) or
    ``KeyError`` for an unknown kind; target failures are results.
    """
    config = build_config(kind, target, options)
    pool = ClientPool(shards=1, extra_ca_file=extra_ca_file)
    resources = ProbeResources()
    try:
        ctx = ProbeContext(
            clients=pool, timeout=timeout, key=f"cli:{kind}:{target}", resources=resources
        )
        return await get(kind).run(config, ctx)
    finally:
        await pool.aclose()
        await resources.aclose()


def format_result(
    result: ProbeResult,
    *,
    status_words: Callable[[Status], str] | None = None,
    kind_words: Callable[[ErrorKind], str] | None = None,
) -> str:
    """A few console lines: status, why, latency, then the details.

    probes is a pure library with no words for people: by default the status and
    the error kind print as their technical values (``DOWN · connect · 12 ms``).
    ``thongsuot probe`` passes the app's words (app.vocab), Vietnamese by default.
    """
    head = [status_words(result.status) if status_words else result.status.value.upper()]
    if result.error_kind is not None:
        kind = result.error_kind.value
        head.append(f"{kind_words(result.error_kind)} ({kind})" if kind_words else kind)
    head.append(f"{result.latency * 1000:.0f} ms")
    lines = [" · ".join(head)]
    if result.message:
        lines.append(result.message)
    for key, value in result.details.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"  {key}: {shown}")
    return "\n".join(lines)
