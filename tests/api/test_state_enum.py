"""Check states on the wire are app.vocab.states.State: the OpenAPI schema lists the
values, the ``?state=`` filter refuses anything else, and the wire values are the
enum's own."""

from __future__ import annotations

from typing import Any

import httpx

from app.vocab.states import STATES
from tests.api.conftest import AUTH, Inventory

VALUES = [s.value for s in STATES]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and ``anyOf`` (Optional) to the first schema with an enum."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _resolve(spec, spec["components"]["schemas"][name])
    for option in schema.get("anyOf", []):
        found = _resolve(spec, option)
        if "enum" in found:
            return found
    return schema


async def test_openapi_lists_the_states(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    models = spec["components"]["schemas"]
    for model, prop in [
        ("CheckRead", "state"),
        ("ServiceRead", "state"),
        ("UnitRead", "state"),
        ("FlipRead", "old_state"),
        ("FlipRead", "new_state"),
    ]:
        schema = _resolve(spec, models[model]["properties"][prop])
        assert schema.get("enum") == VALUES, (model, prop, schema)
    params = spec["paths"]["/api/v1/checks"]["get"]["parameters"]
    state = next(p for p in params if p["name"] == "state")
    assert _resolve(spec, state["schema"]).get("enum") == VALUES
    # a probe result's status is one of the states: up, degraded or down
    statuses = _resolve(spec, models["ResultRead"]["properties"]["status"])["enum"]
    assert statuses == ["up", "degraded", "down"] and set(statuses) <= set(VALUES)
    for path in ("/api/v1/results", "/api/v1/checks/{key}/results"):
        params = spec["paths"][path]["get"]["parameters"]
        status = next(p for p in params if p["name"] == "status")
        assert _resolve(spec, status["schema"]).get("enum") == statuses, path


async def test_state_filter_refuses_other_words(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    bad = await client.get("/api/v1/checks", params={"state": "slow"})
    assert bad.status_code == 422
    assert "state" in bad.text
    good = await client.get("/api/v1/checks", params={"state": "down"})
    assert good.status_code == 200
    assert {c["state"] for c in good.json()["items"]} == {"down"}
    bad = await client.get("/api/v1/results", params={"status": "slow"}, headers=AUTH)
    assert bad.status_code == 422
    units = (await client.get("/api/v1/units")).json()["items"]
    assert all(set(u["checks_by_state"]) == set(VALUES) for u in units)
