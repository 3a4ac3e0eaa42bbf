"""Inheritance, templates and cross-references: ``Inventory`` → ``FlatInventory``.

Defaults are inherited province → unit → service → check (docs/inventory.md).
Every problem is collected with its path into the document; nothing stops at
the first one.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from app.catalog.service import redact_userinfo
from app.inventory.document import CheckDef, Defaults, Inventory, ServiceDef, UnitBase, UnitDef
from app.inventory.flat import AgentSpec, CheckSpec, FlatInventory, ServiceSpec, UnitSpec
from app.inventory.problems import Loc, Problem, describe_error, format_path
from app.maintenance.windows import MaintenanceSpec
from app.vocab.words import AGENT_CHECK_PREFIX, agent_link_name
from app.vocab.words import AGENT_SERVICE as AGENT_SERVICE_WORDS
from probes import registry

DEFAULT_INTERVAL_S = 60
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_FAILURE_THRESHOLD = 2
DEFAULT_RECOVERY_THRESHOLD = 1
PUBLIC_UNIT_FIELDS = ("address", "opening_hours", "hotline")  # into Unit.settings
# Option names, in order of preference, that make a short display target.
TARGET_OPTIONS = ("url", "host", "hostname", "target", "address", "query_name", "name")
_PLACEHOLDER = re.compile(r"\{(code|name|slug|kind|province_code)\}")
CENTRAL = "central"
AGENT_SERVICE = "agents"  # local key of the service holding a unit's agent checks
AGENT_SERVICE_NAME = AGENT_SERVICE_WORDS[0]


def agent_check_key(name: str) -> str:
    return f"{AGENT_CHECK_PREFIX}{name}"


@dataclass(frozen=True, slots=True)
class _Layer:
    """One unit-like level of the inventory: the nation, the province or a commune."""

    code: str
    kind: str
    parent: str | None
    body: UnitBase
    path: Loc
    template: bool


@dataclass(frozen=True, slots=True)
class _Link:
    """One link of the inheritance chain and where it sits in the document."""

    defaults: Defaults
    path: Loc
    is_check: bool = False

    def options_path(self, kind: str) -> Loc:
        return (*self.path, "options") if self.is_check else (*self.path, "options", kind)


@dataclass(frozen=True, slots=True)
class _Pending:
    spec: CheckSpec
    path: Loc
    unit: str | None
    refs: list[str]


def slugify(text: str) -> str:
    """``"Hoàng Hoa Thám"`` → ``"hoang-hoa-tham"``."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def config_hash(kind: str, config: dict[str, Any], interval_s: int, timeout_s: float) -> str:
    """SHA-256 of a canonical JSON of everything that changes how a check is probed."""
    doc = {"kind": kind, "config": config, "interval_s": interval_s, "timeout_s": timeout_s}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def display_target(kind: str, config: dict[str, Any]) -> str:
    for option in TARGET_OPTIONS:
        value = config.get(option)
        if isinstance(value, str) and value:
            return redact_userinfo(value)[:500]
    return kind


# ``scheme://user[:password]@host``: credentials written into a URL
_URL_USERINFO = re.compile(r"(?i)^\s*[a-z][a-z0-9+.-]*://[^/?#\s]*@")
_CREDENTIALS_IN_URL = (
    "URL chứa tên đăng nhập/mật khẩu (user:pass@); hãy bỏ khỏi URL và dùng "
    "`auth: {type: basic, username: ..., secret: TÊN_BIẾN}` "
    "(credentials in a URL: remove them and use auth: with a secret name)"
)


def _urls_with_credentials(value: Any, loc: Loc = ()) -> Iterator[Loc]:
    """Where in the options a URL carries ``user:pass@`` (nested lists and dicts too)."""
    if isinstance(value, str) and _URL_USERINFO.match(value):
        yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _urls_with_credentials(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _urls_with_credentials(item, (*loc, i))


def resolve(
    inv: Inventory, unit_index: list[int] | None = None
) -> tuple[FlatInventory, list[Problem]]:
    """Apply defaults and templates; return the flat inventory and every problem found.

    ``unit_index`` is for a partial inventory salvaged from a file that failed
    validation: it maps ``inv.units[i]`` to its index in the file, and
    references (``parent``, ``depends_on``) are not checked, because what they
    point at may be among the parts left out.
    """
    return _Resolver(inv, unit_index).run()


class _Resolver:
    def __init__(self, inv: Inventory, unit_index: list[int] | None) -> None:
        self.inv = inv
        self.partial = unit_index is not None
        self.unit_index = unit_index or list(range(len(inv.units)))
        self.problems: list[Problem] = []
        self.units: list[UnitSpec] = []
        self.services: list[ServiceSpec] = []
        self.pending: list[_Pending] = []
        self.unit_paths: dict[str, Loc] = {}
        self.service_paths: dict[str, Loc] = {}
        self.check_paths: dict[str, Loc] = {}
        self.agents: dict[str, AgentSpec] = {}

    def run(self) -> tuple[FlatInventory, list[Problem]]:
        layers = list(self._layers())
        for layer in layers:
            self._unit(layer)
        if not self.partial:
            self._check_parents(layers)
        self._agents()
        for layer in layers:
            self._services_of(layer)
        checks = self._link_dependencies() + self._agent_checks()
        windows = [MaintenanceSpec(**w.model_dump()) for w in self.inv.maintenance]
        flat = FlatInventory(
            self.units, self.services, checks, windows, agents=list(self.agents.values())
        )
        return flat, self.problems

    # agents (docs/agents.md) ---------------------------------------------------
    def _agents(self) -> None:
        for i, adef in enumerate(self.inv.agents):
            path: Loc = ("agents", i)
            if adef.name in self.agents:
                first = ("agents", list(self.agents).index(adef.name), "name")
                self.problems.append(
                    Problem((*path, "name"), f"duplicate agent name {adef.name!r}", first=first)
                )
                continue
            for j, code in enumerate(adef.units):
                if code not in self.unit_paths:
                    self.problems.append(
                        Problem((*path, "units", j), f"unknown unit code {code!r}")
                    )
            self.agents[adef.name] = AgentSpec(adef.name, tuple(adef.units), adef.offline_after)

    def _locations(
        self, links: list[_Link], unit_code: str, path: Loc, unit: str | None
    ) -> tuple[str, ...] | None:
        """The check's vantages (nearest ``location``/``locations`` wins), each a
        declared agent allowed to serve ``unit_code``, or ``central``."""
        chosen: tuple[str, ...] = (CENTRAL,)
        where: Loc = ()
        for link in reversed(links):
            d = link.defaults
            if d.locations is not None or d.location is not None:
                chosen = tuple(d.locations) if d.locations is not None else (str(d.location),)
                field = "locations" if d.locations is not None else "location"
                where = (*link.path, field)
                break
        ok = True
        for i, name in enumerate(chosen):
            if name == CENTRAL or self.partial:
                continue
            at: Loc = (*where, i) if where and where[-1] == "locations" else where
            agent = self.agents.get(name)
            if agent is None:
                known = ", ".join(self.agents) or "none declared under agents:"
                message = f"unknown agent {name!r} (known: {known})"
                self.problems.append(Problem(at, message, unit))
                ok = False
            elif unit_code not in agent.units:
                message = f"agent {name!r} may not probe for unit {unit_code} (its units: "
                message += ", ".join(agent.units) + ")"
                self.problems.append(Problem(at, message, unit))
                ok = False
        return chosen if ok else None

    def _agent_checks(self) -> list[CheckSpec]:
        """One heartbeat check per agent, on its first unit: its requests are the
        beats, and its silence is the one "agent offline" incident (docs/agents.md)."""
        checks: list[CheckSpec] = []
        for agent in self.agents.values():
            unit_code = agent.units[0]
            if unit_code not in self.unit_paths:
                continue  # reported in _agents
            service_key = f"{unit_code}.{AGENT_SERVICE}"
            if service_key not in self.service_paths:
                self.service_paths[service_key] = ("agents",)
                self.services.append(
                    ServiceSpec(
                        service_key, AGENT_SERVICE, unit_code, "commune_centre", AGENT_SERVICE_NAME
                    )
                )
            config = registry.parse_config(
                "heartbeat", {"period_s": agent.offline_after_s, "grace_s": 0}
            ).model_dump(mode="json")
            interval = max(5, min(30, agent.offline_after_s // 3))
            timeout = min(DEFAULT_TIMEOUT_S, interval * 0.8)
            key = agent_check_key(agent.name)
            checks.append(
                CheckSpec(
                    key=key,
                    unit_code=unit_code,
                    service_key=service_key,
                    name=agent_link_name(agent.name),
                    kind="heartbeat",
                    target=agent.name,
                    config=config,
                    config_hash=config_hash("heartbeat", config, interval, timeout),
                    interval_s=interval,
                    timeout_s=timeout,
                    failure_threshold=1,
                    recovery_threshold=1,
                    # the agent's silence is not the unit's outage: its checks go unknown
                    # (and the unit with them), never down; the incident is still paged
                    critical=False,
                    enabled=True,
                )
            )
        return checks

    # units -------------------------------------------------------------------
    def _layers(self) -> Iterator[_Layer]:
        inv = self.inv
        if inv.national is not None:
            yield _Layer(inv.national.code, "national", None, inv.national, ("national",), False)
        yield _Layer(inv.province.code, "province", None, inv.province, ("province",), False)
        for i, unit in enumerate(inv.units):
            parent = unit.parent or inv.province.code
            path: Loc = ("units", self.unit_index[i])
            yield _Layer(unit.code, unit.kind, parent, unit, path, unit.template)

    def _unit(self, layer: _Layer) -> None:
        code_path = (*layer.path, "code")
        if layer.code in self.unit_paths:
            first = (*self.unit_paths[layer.code], "code")
            self.problems.append(
                Problem(code_path, f"duplicate unit code {layer.code!r}", first=first)
            )
            return
        self.unit_paths[layer.code] = layer.path
        settings: dict[str, Any] = {}
        if layer.body.calendar is not None:
            settings["calendar"] = layer.body.calendar
        if layer.body.contacts:
            settings["contacts"] = [c.model_dump(exclude_none=True) for c in layer.body.contacts]
        for name in PUBLIC_UNIT_FIELDS:  # the public status page shows these
            if (value := getattr(layer.body, name)) is not None:
                settings[name] = value
        self.units.append(UnitSpec(layer.code, layer.body.name, layer.kind, layer.parent, settings))

    def _check_parents(self, layers: list[_Layer]) -> None:
        for layer in layers:
            if isinstance(layer.body, UnitDef) and layer.body.parent is not None:
                parent = layer.body.parent
                if parent not in self.unit_paths or parent == layer.code:
                    self.problems.append(
                        Problem((*layer.path, "parent"), f"unknown parent unit code {parent!r}")
                    )

    # services and checks -----------------------------------------------------
    def _services_of(self, layer: _Layer) -> None:
        if self.unit_paths.get(layer.code) != layer.path:
            return  # a duplicate unit: already reported
        chain = [_Link(self.inv.province.defaults, ("province", "defaults"))]
        if layer.kind != "province":
            chain.append(_Link(layer.body.defaults, (*layer.path, "defaults")))
        for j, sdef in enumerate(layer.body.services):
            self._service(layer, sdef, (*layer.path, "services", j), chain, None)
        template = self.inv.commune_template
        if layer.template and template is not None:
            for j, tdef in enumerate(template.services):
                path: Loc = ("commune_template", "services", j)
                sdef_or_none = self._instantiate(tdef, layer, path)
                if sdef_or_none is not None:
                    self._service(layer, sdef_or_none, path, chain, layer.code)

    def _instantiate(self, tdef: ServiceDef, layer: _Layer, path: Loc) -> ServiceDef | None:
        values = {
            "code": layer.code,
            "name": layer.body.name,
            "slug": slugify(layer.body.name),
            "kind": layer.kind,
            "province_code": self.inv.province.code,
        }
        raw = _substitute(tdef.model_dump(exclude_unset=True), values)
        try:
            return ServiceDef.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                message = describe_error(err, show_value=False)
                self.problems.append(Problem((*path, *err["loc"]), message, layer.code))
            return None

    def _service(
        self, layer: _Layer, sdef: ServiceDef, path: Loc, chain: list[_Link], unit: str | None
    ) -> None:
        key = f"{layer.code}.{sdef.local_key}"
        if key in self.service_paths:
            field = "key" if sdef.key is not None else "kind"
            self.problems.append(
                Problem(
                    (*path, field),
                    f"duplicate service key {sdef.local_key!r} in unit {layer.code}",
                    unit,
                    (*self.service_paths[key], field),
                )
            )
            return
        self.service_paths[key] = path
        contacts = [c.model_dump(exclude_none=True) for c in sdef.contacts]
        self.services.append(
            ServiceSpec(key, sdef.local_key, layer.code, sdef.kind, sdef.name, contacts)
        )
        links = [*chain, _Link(sdef.defaults, (*path, "defaults"))]
        for link in links:
            self._check_option_kinds(link, unit)
        for k, cdef in enumerate(sdef.checks):
            self._check(layer.code, key, cdef, (*path, "checks", k), links, unit)

    def _check_option_kinds(self, link: _Link, unit: str | None) -> None:
        known = registry.kinds()
        for kind in link.defaults.options:
            if kind not in known:
                message = f"unknown probe kind {kind!r}; known: {', '.join(known)}"
                self.problems.append(Problem((*link.path, "options", kind), message, unit))

    def _check(
        self,
        unit_code: str,
        service_key: str,
        cdef: CheckDef,
        path: Loc,
        chain: list[_Link],
        unit: str | None,
    ) -> None:
        key = f"{service_key}.{cdef.name}"
        if key in self.check_paths:
            first = (*self.check_paths[key], "name")
            self.problems.append(
                Problem((*path, "name"), f"duplicate check key {key!r}", unit, first)
            )
            return
        self.check_paths[key] = path
        links = [*chain, _Link(cdef.own_defaults(), path, is_check=True)]
        config = self._options(cdef.kind, links, path, unit)
        timing = self._timing(links, path, unit)
        if config is None or timing is None:
            return
        interval, timeout = timing
        valid, retry = self._retry_interval(links, interval, path, unit)
        locations = self._locations(links, unit_code, path, unit)
        if not valid or locations is None:
            return
        refs = list(cdef.depends_on)
        if CENTRAL not in locations:  # silent agents: one incident, theirs suppressed under it
            refs += [agent_check_key(name) for name in locations]
        spec = CheckSpec(
            key=key,
            unit_code=unit_code,
            service_key=service_key,
            name=cdef.title or cdef.name,
            kind=cdef.kind,
            target=display_target(cdef.kind, config),
            config=config,
            config_hash=config_hash(cdef.kind, config, interval, timeout),
            interval_s=interval,
            timeout_s=timeout,
            failure_threshold=_pick(links, "failure_threshold") or DEFAULT_FAILURE_THRESHOLD,
            recovery_threshold=_pick(links, "recovery_threshold") or DEFAULT_RECOVERY_THRESHOLD,
            critical=_pick_bool(links, "critical"),
            enabled=_pick_bool(links, "enabled"),
            retry_interval_s=retry,
            locations=locations,
            quorum=_pick(links, "quorum") or "any",
        )
        self.pending.append(_Pending(spec, path, unit, refs))

    def _options(
        self, kind: str, links: list[_Link], path: Loc, unit: str | None
    ) -> dict[str, Any] | None:
        merged: dict[str, Any] = {}
        origin: dict[str, Loc] = {}
        for link in links:
            for name, value in link.defaults.options.get(kind, {}).items():
                merged[name] = _deep_merge(merged.get(name), value)
                origin[name] = link.options_path(kind)
        try:
            parsed = registry.parse_config(kind, merged)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                base = origin.get(str(loc[0]), (*path, "options")) if loc else (*path, "options")
                message = describe_error(err, show_value=unit is None)
                self.problems.append(Problem((*base, *loc), message, unit))
            return None
        dumped: dict[str, Any] = parsed.model_dump(mode="json", exclude_defaults=False)
        credentials = list(_urls_with_credentials(dumped))
        for loc in credentials:
            base = origin.get(str(loc[0]), (*path, "options"))
            self.problems.append(Problem((*base, *loc), _CREDENTIALS_IN_URL, unit))
        return None if credentials else dumped

    def _timing(self, links: list[_Link], path: Loc, unit: str | None) -> tuple[int, float] | None:
        interval = _pick(links, "interval") or DEFAULT_INTERVAL_S
        timeout = _pick(links, "timeout")
        if timeout is None:
            return interval, min(DEFAULT_TIMEOUT_S, interval * 0.8)
        if timeout >= interval:
            where = _pick_path(links, "timeout")
            inherited = "" if where == (*path, "timeout") else f", set at {format_path(where)}"
            message = f"must be shorter than the interval of {interval} s"
            message += f" (got {timeout}{inherited})"
            self.problems.append(Problem((*path, "timeout"), message, unit))
            return None
        return interval, float(timeout)

    def _retry_interval(
        self, links: list[_Link], interval: int, path: Loc, unit: str | None
    ) -> tuple[bool, int | None]:
        """Whether the retry interval is valid (a problem is recorded if not), and its value."""
        retry: int | None = _pick(links, "retry_interval")
        if retry is None or retry < interval:
            return True, retry
        where = _pick_path(links, "retry_interval")
        inherited = "" if where == (*path, "retry_interval") else f", set at {format_path(where)}"
        message = f"must be shorter than the interval of {interval} s (got {retry}{inherited})"
        self.problems.append(Problem((*path, "retry_interval"), message, unit))
        return False, None

    # dependencies ------------------------------------------------------------
    def _link_dependencies(self) -> list[CheckSpec]:
        checks: list[CheckSpec] = []
        for item in self.pending:
            resolved: list[str] = []
            for i, ref in enumerate(item.refs):
                if ref.startswith(AGENT_CHECK_PREFIX) and ref[len(AGENT_CHECK_PREFIX) :] in (
                    self.agents
                ):
                    resolved.append(ref)  # added by _check for a check no centre probes
                    continue
                full = qualify(ref, item.spec.key)
                if self.partial and full != item.spec.key:
                    continue
                if full not in self.check_paths or full == item.spec.key:
                    what = f"unknown check key {full!r}"
                    if full == item.spec.key:
                        what = "a check cannot depend on itself"
                    self.problems.append(Problem((*item.path, "depends_on", i), what, item.unit))
                elif full not in resolved:
                    resolved.append(full)
            checks.append(replace(item.spec, depends_on=resolved))
        self._find_cycles(checks)
        return checks

    def _find_cycles(self, checks: list[CheckSpec]) -> None:
        graph = {c.key: c.depends_on for c in checks}
        done: set[str] = set()
        for start in graph:
            cycle = _cycle_from(start, graph, done)
            if cycle:
                path = (*self.check_paths[cycle[0]], "depends_on")
                message = "dependency cycle: " + " → ".join([*cycle, cycle[0]])
                self.problems.append(Problem(path, message))


def qualify(ref: str, check_key: str) -> str:
    """Expand a ``depends_on`` reference relative to ``check_key``.

    ``"name"`` is a check of the same service, ``"service.name"`` a check of the
    same unit, and ``"unit.service.name"`` a full key.
    """
    unit, service, _ = check_key.split(".", 2)
    dots = ref.count(".")
    if dots == 0:
        return f"{unit}.{service}.{ref}"
    if dots == 1:
        return f"{unit}.{ref}"
    return ref


def _cycle_from(start: str, graph: dict[str, list[str]], done: set[str]) -> list[str]:
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in on_stack:
            return stack[stack.index(node) :]
        if node in done or node not in graph:
            return []
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if found := visit(nxt):
                return found
        stack.pop()
        on_stack.discard(node)
        done.add(node)
        return []

    found = visit(start)
    done.update(found)
    return found


def _pick(links: list[_Link], field: str) -> Any:
    for link in reversed(links):
        value = getattr(link.defaults, field)
        if value is not None:
            return value
    return None


def _pick_bool(links: list[_Link], field: str) -> bool:
    value = _pick(links, field)
    return True if value is None else bool(value)


def _pick_path(links: list[_Link], field: str) -> Loc:
    for link in reversed(links):
        if getattr(link.defaults, field) is not None:
            return (*link.path, field)
    return ()


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(merged.get(key), value)
        return merged
    return override


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value
