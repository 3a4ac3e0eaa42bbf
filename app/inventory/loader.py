"""Read an inventory YAML file; every error names the file, the line and the field.

ruamel.yaml's round-trip loader remembers the line of every key and item, so a
pydantic error location such as ``("units", 3, "services", 0, "checks", 1,
"interval")`` maps back to the line the operator has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from app.errors import ConfigError
from app.inventory.contacts import attach_contacts
from app.inventory.document import Inventory, NationalDef, ProvinceDef, TemplateDef, UnitDef
from app.inventory.flat import FlatInventory
from app.inventory.problems import Loc, Problem, describe_error, render
from app.inventory.resolve import resolve

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Parsed",
    "flatten",
    "load_inventory",
    "load_parsed",
    "load_resolved",
    "parse_bytes",
    "parse_inventory",
    "parse_resolved",
    "read_bytes",
]

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 16 * 1024 * 1024
"""A national inventory written out flat is a few MB; anything larger is refused."""
MAX_DEPTH = 40
"""Nesting of mappings and lists; a real inventory is under 10 deep."""
MAX_NODES = 2_000_000
"""Values after every alias is expanded: aliases are welcome, an alias bomb is not."""


def load_inventory(path: Path) -> Inventory:
    """Load and fully validate ``path``; raise ``ConfigError`` listing every problem."""
    return load_resolved(path)[0]


def load_resolved(path: Path) -> tuple[Inventory, FlatInventory]:
    """:func:`load_inventory` and its flat form from the same single resolution.

    Pure CPU (parse, validate, resolve): callers on an event loop run it in a thread.
    """
    parsed = load_parsed(path)
    return parsed.inventory, parsed.flat


@dataclass(frozen=True, slots=True)
class Parsed:
    """An inventory file's bytes and what they resolved to (:func:`load_parsed`)."""

    data: bytes
    inventory: Inventory
    flat: FlatInventory


def load_parsed(path: Path) -> Parsed:
    """:func:`load_resolved` with the bytes it parsed, so that a later reader of the
    same file can take this parse instead of repeating it (:func:`parse_bytes`)."""
    data = read_bytes(path)
    return Parsed(data, *parse_resolved(decode(path, data), str(path), path.parent))


def parse_bytes(
    path: Path, data: bytes, known: Parsed | None = None
) -> tuple[Inventory, FlatInventory]:
    """``data``, read from ``path``, parsed as :func:`load_resolved` does; ``known``'s
    parse instead when it holds the same bytes (``serve`` parses the inventory once
    at start-up and hands it to the monitor: a ruamel parse of a national inventory
    costs ~36 CPU-seconds)."""
    if known is not None and known.data == data:
        return known.inventory, known.flat
    return parse_resolved(decode(path, data), str(path), path.parent)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refused over :data:`MAX_BYTES`; ``ConfigError`` naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError([f"{path}:1: the file is {size:,} bytes; at most {MAX_BYTES:,}"])
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc}"]) from None


def decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc}"]) from None


def parse_inventory(text: str, source: str = "<inventory>") -> Inventory:
    """As :func:`load_inventory`, from text; ``source`` names it in errors."""
    return parse_resolved(text, source)[0]


def parse_resolved(
    text: str,
    source: str = "<inventory>",
    base_dir: Path | None = None,
    *,
    with_contacts: bool = True,
) -> tuple[Inventory, FlatInventory]:
    """As :func:`load_resolved`, from text; ``contacts_file`` is read relative to
    ``base_dir`` (default: the working directory), unless not ``with_contacts``."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            [f"{source}:1: the file is {len(text):,} characters; at most {MAX_BYTES:,}"]
        )
    document = _parse_yaml(text, source)
    locate = _Locator(document)
    if document is None:
        raise ConfigError([f"{source}:1: (top level): the file is empty"])
    _Shape(source).measure(document, 1, 0)
    plain = _plain(document)
    try:
        inventory = Inventory.model_validate(plain)
    except ValidationError as exc:
        problems = [Problem(tuple(e["loc"]), describe_error(e)) for e in exc.errors()]
        salvaged = _salvage(plain)
        if salvaged is not None:  # report whole-file problems of the valid parts too
            problems += resolve(*salvaged)[1]
        raise ConfigError(_render_sorted(problems, source, locate)) from None
    if with_contacts:
        inventory = attach_contacts(inventory, base_dir or Path())
    flat, problems = resolve(inventory)
    if problems:
        raise ConfigError(_render_sorted(problems, source, locate))
    return inventory, flat


def flatten(inv: Inventory) -> FlatInventory:
    """Units, services and checks with every default and template applied."""
    flat, problems = resolve(inv)
    if problems:
        raise ConfigError(render(problems))
    return flat


def _render_sorted(problems: list[Problem], source: str, locate: _Locator) -> list[str]:
    return render(sorted(problems, key=lambda p: locate(p.path)), source, locate)


def _salvage(plain: Any) -> tuple[Inventory, list[int]] | None:
    """The parts of an invalid file that are valid on their own, and their unit indexes."""
    if not isinstance(plain, dict):
        return None
    province = _valid(ProvinceDef, plain.get("province"))
    if province is None:
        return None
    units: list[UnitDef] = []
    index: list[int] = []
    raw_units = plain.get("units")
    for i, raw in enumerate(raw_units if isinstance(raw_units, list) else []):
        if (unit := _valid(UnitDef, raw)) is not None:
            units.append(unit)
            index.append(i)
    inventory = Inventory(
        province=province,
        national=_valid(NationalDef, plain.get("national")),
        commune_template=_valid(TemplateDef, plain.get("commune_template")),
        units=units,
    )
    return inventory, index


def _valid(model: type[M], raw: Any) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{source}:{line}: YAML syntax error: {what}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{source}:1: YAML syntax error: {exc}"]) from None


class _Shape:
    """Refuses documents too deep or too large once their aliases expand.

    Sizes are memoised per container, so measuring is linear in the document as
    written even when its aliases expand to billions of values. (A recursive alias
    cannot occur: ruamel.yaml reads an alias to an unfinished anchor as null.)
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sizes: dict[int, int] = {}

    def fail(self, line: int, what: str) -> None:
        raise ConfigError([f"{self.source}:{line}: {what}"])

    def measure(self, node: Any, line: int, depth: int) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        line = _line_of(node, line)
        if depth >= MAX_DEPTH:
            self.fail(line, f"nested more than {MAX_DEPTH} levels deep")
        total = 1 + sum(self.measure(child, line, depth + 1) for child in _children(node))
        if total > MAX_NODES:
            self.fail(line, f"aliases expand to more than {MAX_NODES:,} values (alias bomb?)")
        self.sizes[key] = total
        return total


def _children(node: dict[Any, Any] | list[Any]) -> list[Any]:
    return [*node.keys(), *node.values()] if isinstance(node, dict) else node


def _line_of(node: Any, fallback: int) -> int:
    lc = getattr(node, "lc", None)
    line = getattr(lc, "line", None)
    return line + 1 if isinstance(line, int) else fallback


class _Locator:
    """Maps a path into the document to the 1-based line of its deepest existing node."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def __call__(self, path: Loc) -> int:
        node = self.document
        line = 1
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
            else:
                break
            node = node[part]
        return line


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers and scalars as plain Python values."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for plain_type in (str, int, float):
        if isinstance(node, plain_type):
            return plain_type(node)
    return node
