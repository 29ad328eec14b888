"""The committed OpenAPI document (web/openapi.json), the source of the web UI's generated API types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from berth.control import openapi

COMMITTED = Path(__file__).resolve().parents[3] / "web" / "openapi.json"
FIX = "run `make ui` (it regenerates web/openapi.json and web/src/api/schema.d.ts)"


def test_committed_document_is_the_control_planes() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi.render(), f"web/openapi.json is stale: {FIX}"


def test_building_it_leaves_berth_home_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("BERTH_HOME", str(home))
    monkeypatch.setenv("BERTH_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    openapi.document()
    assert not home.exists()
    assert list(tmp_path.iterdir()) == []


def test_websocket_messages_are_in_it() -> None:
    schemas = openapi.document()["components"]["schemas"]
    assert schemas["EventMessage"]["properties"]["type"]["const"] == "event"
    assert schemas["StateMessage"]["properties"]["type"]["const"] == "state"
    assert schemas["StateMessage"]["properties"]["state"] == {"$ref": "#/components/schemas/DeploymentState"}


def test_system_answer_is_described() -> None:
    answer = openapi.document()["paths"]["/api/v1/system"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SystemInfo"}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_every_field_the_api_sends_is_required() -> None:
    """Answers carry every field, defaults included; an optional one would make the UI guard for absence."""
    spec = openapi.document()
    schemas = spec["components"]["schemas"]
    answers = {"EventMessage", "StateMessage"}
    for route in spec["paths"].values():
        for operation in route.values():
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    answers |= _refs(response)
    sent: set[str] = set()
    while answers - sent:
        name = (answers - sent).pop()
        sent.add(name)
        answers |= _refs(schemas[name])
    assert {"DeploymentPublic", "ReplicaPublic", "SystemInfo", "ReplicaStats", "EventRecord"} <= sent
    optional = {
        f"{name}.{field}"
        for name in sent
        for field in schemas[name].get("properties", {})
        if field not in schemas[name].get("required", [])
    }
    fix = "give their models `json_schema_serialization_defaults_required=True`"
    assert not optional, f"{fix}: {sorted(optional)}"
