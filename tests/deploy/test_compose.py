"""docker-compose.yml, .env.example and the Dockerfile, checked without a Docker
engine: structure against a JSON schema of the Compose Specification subset the
stack uses, mounts that exist, variables that are documented, and services that
the Prometheus, Alertmanager and Grafana files can reach by name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.tools import DEPLOY, ROOT
from tests.support.tools import missing

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

_DURATION = {"type": "string", "pattern": r"^(\d+(ms|s|m|h))+$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_LIST_OR_DICT = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        _STRINGS,
    ]
}
# The Compose Specification (compose-spec/compose-spec, schema/compose-spec.json),
# written down for the keys this stack uses: unknown keys are refused, as the
# full schema refuses them.
_SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "build": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "context": {"type": "string"},
                        "dockerfile": {"type": "string"},
                        "args": _LIST_OR_DICT,
                        "target": {"type": "string"},
                    },
                },
            ]
        },
        "image": {"type": "string"},
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "depends_on": {
            "oneOf": [
                _STRINGS,
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["condition"],
                        "properties": {
                            "condition": {
                                "enum": [
                                    "service_started",
                                    "service_healthy",
                                    "service_completed_successfully",
                                ]
                            },
                            "restart": {"type": "boolean"},
                            "required": {"type": "boolean"},
                        },
                    },
                },
            ]
        },
        "environment": _LIST_OR_DICT,
        "env_file": {"oneOf": [{"type": "string"}, _STRINGS]},
        "command": {"oneOf": [{"type": "string"}, _STRINGS]},
        "entrypoint": {"oneOf": [{"type": "string"}, _STRINGS]},
        "volumes": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[^:]+:/[^:]*(:(ro|rw))?$"},
        },
        "ports": {"type": "array", "items": {"type": ["string", "integer"]}},
        "user": {"type": "string"},
        "healthcheck": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "test": {"oneOf": [{"type": "string"}, _STRINGS]},
                "interval": _DURATION,
                "timeout": _DURATION,
                "start_period": _DURATION,
                "retries": {"type": "integer", "minimum": 0},
                "disable": {"type": "boolean"},
            },
        },
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "services": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9._-]+$": _SERVICE},
        },
        "volumes": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9._-]+$": {"type": ["object", "null"]}},
        },
    },
}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


OFFICIAL = Path(__file__).parent / ".cache" / "compose-spec.json"


def test_compose_file_matches_the_official_compose_spec_schema() -> None:
    """The upstream schema/compose-spec.json, fetched by scripts/fetch-compose-schema.sh."""
    if not OFFICIAL.is_file():
        missing("tests/deploy/.cache/compose-spec.json", "run scripts/fetch-compose-schema.sh")
    schema = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.Draft7Validator(schema)  # its features are draft-07's
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []
    broken = _compose()
    broken["services"]["thongsuot"]["restart_policy"] = "always"  # not a Compose key
    assert list(validator.iter_errors(broken))


def test_compose_file_matches_the_schema() -> None:
    jsonschema.validate(_compose(), SCHEMA)


def test_schema_refuses_what_compose_refuses() -> None:
    bad = _compose()
    bad["services"]["thongsuot"]["restart"] = "sometimes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad = _compose()
    bad["services"]["grafana"]["mounts"] = ["./x:/y"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_the_stack_has_its_five_services() -> None:
    services = _compose()["services"]
    assert set(services) == {"thongsuot", "postgres", "prometheus", "alertmanager", "grafana"}
    assert services["thongsuot"]["build"] == "."
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["postgres"]
    assert services["thongsuot"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _bind_mounts() -> list[tuple[str, str, str]]:
    mounts = []
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                mounts.append((name, source, target))
    return mounts


def test_every_mounted_file_exists() -> None:
    mounts = _bind_mounts()
    assert len(mounts) >= 6
    for service, source, _ in mounts:
        assert (ROOT / source).exists(), f"{service}: {source} does not exist"


def test_named_volumes_are_declared() -> None:
    compose = _compose()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], source


def test_the_data_directory_is_a_named_volume_and_the_app_is_told_about_it() -> None:
    """The outcome journal must outlive the container (docs/durability.md)."""
    compose = _compose()
    app = compose["services"]["thongsuot"]
    data_dir = app["environment"]["THONGSUOT_DATA_DIR"]
    assert data_dir.startswith("/")
    sources = {v.split(":")[1]: v.split(":")[0] for v in app["volumes"]}
    assert data_dir in sources, f"{data_dir} is not a volume of thongsuot"
    assert sources[data_dir] in compose["volumes"], "the data directory must be a named volume"
    assert f"THONGSUOT_DATA_DIR={data_dir}" in DOCKERFILE.read_text(encoding="utf-8")


def _variables(text: str) -> set[str]:
    text = text.replace("$$", "")  # $$ is a literal dollar for the container's shell
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(?::?-[^}]*)?\}", text))


def test_every_variable_is_documented_in_env_example() -> None:
    used = _variables(COMPOSE.read_text(encoding="utf-8"))
    documented = _env_example()
    assert used, "no variables found"
    assert used <= set(documented), f"undocumented: {sorted(used - set(documented))}"
    compose_own = {"COMPOSE_PROJECT_NAME"}  # read by docker compose itself
    unused = set(documented) - used - compose_own
    assert not unused, f"documented but unused: {sorted(unused)}"


def test_env_example_holds_no_secrets() -> None:
    for key, value in _env_example().items():
        if any(word in key for word in ("PASSWORD", "TOKEN")):
            assert value.startswith("change-me"), key
    token = _env_example()["THONGSUOT_API_TOKEN"]
    assert len(token) >= 16  # the app refuses shorter tokens when exposed


def test_container_env_feeds_the_provisioning_variables() -> None:
    services = _compose()["services"]
    grafana_env = services["grafana"]["environment"]
    prov = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml"
    for var in _variables(prov.read_text(encoding="utf-8")):
        assert var in grafana_env, var
    assert "GRAFANA_RO_PASSWORD" in services["postgres"]["environment"]
    prom = (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    for var in _variables(prom):
        assert var in services["prometheus"]["environment"], var
    assert "--enable-feature=expand-external-labels" in services["prometheus"]["command"]


def test_services_reach_each_other_by_name() -> None:
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in prom["scrape_configs"]}
    assert jobs["thongsuot"] == ["thongsuot:8080"]
    assert prom["scrape_configs"][0]["scrape_interval"] == "15s"
    alerting = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alerting == ["alertmanager:9093"]
    prov = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text(
            encoding="utf-8"
        )
    )
    urls = {d["uid"]: d["url"] for d in prov["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "postgres": "postgres:5432"}
    mounts = {(s, t) for s, _, t in _bind_mounts()}
    assert ("prometheus", "/etc/prometheus") in mounts
    assert ("grafana", "/var/lib/grafana/dashboards") in mounts
    assert ("postgres", "/docker-entrypoint-initdb.d/01-readonly.sh") in mounts


def _dockerfile_lines() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    lines = _dockerfile_lines()
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2
    assert froms[-1].startswith("FROM python:3.11-slim")
    assert any(line.startswith("COPY --from=builder /opt/venv") for line in lines)
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    health = next(line for line in lines if line.startswith("HEALTHCHECK"))
    assert "/healthz" in health and "python" in health and "curl" not in health
    assert any(line.startswith("ENTRYPOINT") for line in lines)


def test_entrypoint_upgrades_the_database_then_serves() -> None:
    script = (DEPLOY / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for line in script.splitlines()
        if line.strip().startswith(("thongsuot", "exec"))
    ]
    assert commands == ["thongsuot db upgrade", 'exec thongsuot serve "$@"']


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for line in _dockerfile_lines():
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _ = line.split()[1:]
            for source in sources:
                if "[" in source:  # optional file, e.g. README.m[d]
                    continue
                assert (ROOT / source).exists(), source
                assert source not in ignored and not any(
                    Path(source).is_relative_to(i) for i in ignored if "*" not in i
                ), source
