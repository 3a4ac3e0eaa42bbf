"""Inventory problems: where (a path into the document) and what, rendered with lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the inventory.

    ``unit`` names the commune a template problem was found for; ``first``
    points at the earlier definition of something defined twice.
    """

    path: Loc
    message: str
    unit: str | None = None
    first: Loc | None = None


def format_path(path: Loc) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def describe_error(err: Any, *, show_value: bool = True) -> str:
    """A pydantic error dict as a short sentence, with the offending value.

    Template problems leave the value out: it differs per unit, and one line
    should stand for all the units the template failed for.
    """
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    value = err.get("input")
    if show_value and isinstance(value, str | int | float | bool) and "(got " not in message:
        message += f" (got {value!r})"
    return message


def render(
    problems: Sequence[Problem], source: str = "", locate: Callable[[Loc], int] | None = None
) -> list[str]:
    """One line per distinct problem: ``file:line: field.path: message``.

    A template problem found for many units is one line naming how many.
    """
    groups: dict[tuple[Loc, str, Loc | None], list[str]] = {}
    for problem in problems:
        units = groups.setdefault((problem.path, problem.message, problem.first), [])
        if problem.unit is not None:
            units.append(problem.unit)
    return [_line(key, units, source, locate) for key, units in groups.items()]


def _line(
    key: tuple[Loc, str, Loc | None],
    units: list[str],
    source: str,
    locate: Callable[[Loc], int] | None,
) -> str:
    path, message, first = key
    where = f"{source}:{locate(path)}: " if locate is not None else ""
    text = f"{where}{format_path(path)}: {message}"
    if first is not None:
        line = f"line {locate(first)}" if locate is not None else format_path(first)
        text += f" (first defined at {line})"
    if len(units) == 1:
        text += f" [unit {units[0]}]"
    elif units:
        text += f" [{len(units)} units, e.g. {units[0]}]"
    return text
