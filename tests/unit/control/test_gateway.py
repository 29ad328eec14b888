"""The gateway's refusals in-process: an unknown name, a deployment with no ready replica, no key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from berth.control.app import create_app
from berth.control.plane import ControlPlane
from berth.settings import Settings
from tests.unit.control.conftest import make_spec

KEY = "unit-test-key-0123456789"
AUTH = {"X-API-Key": KEY}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(home=tmp_path / "home", worker_ports="39110-39114", api_key=SecretStr(KEY)))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_deployment_is_a_404(api: TestClient, method: str) -> None:
    response = api.request(method, "/models/ghost/v1/chat/completions", json={}, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "no deployment named 'ghost'" in response.json()["error"]["message"]


def test_a_bare_deployment_path_is_routed_too(api: TestClient) -> None:
    assert api.get("/models/ghost", headers=AUTH).status_code == 404
    assert api.get("/models/Not_A_Name/api/tags", headers=AUTH).json()["error"]["code"] == "invalid_spec"


def test_a_deployment_without_a_ready_replica_is_a_503_with_retry_after(api: TestClient) -> None:
    plane: ControlPlane = api.app.state.plane  # type: ignore[attr-defined]
    plane.registry.create(make_spec("echo"))
    response = api.post("/models/echo/v1/completions", json={"prompt": "x"}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert response.headers["retry-after"] == "5"


def test_the_gateway_needs_the_api_key(api: TestClient) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = api.get("/models/ghost/api/tags", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
    assert api.get("/models/ghost/api/tags", headers={"Authorization": f"Bearer {KEY}"}).status_code == 404
