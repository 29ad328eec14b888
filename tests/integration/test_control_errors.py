"""Bad input to the control plane: one clear sentence, the right status, and nothing left behind."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.hub_server import FakeHub
from tests.integration.conftest import ControlPlaneProcess

pytestmark = pytest.mark.slow

ECHO = {"model": {"source": "tests.predictors:SlowEcho"}}


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, str] = body["error"]
    return error


def test_invalid_specs_are_refused_with_the_field_named(control_plane: ControlPlaneProcess) -> None:
    api = control_plane.api
    bad_name = api.post("/api/v1/deploy", json={"name": "Bad_Name", **ECHO})
    assert bad_name.status_code == 422
    assert "DNS-1123" in error_of(bad_name)["message"]
    assert "spec.name" in error_of(bad_name)["message"]

    typo = api.post("/api/v1/deploy", json={"name": "echo", **ECHO, "batchng": {"max_batch_size": 4}})
    assert typo.status_code == 422
    assert error_of(typo) == {
        "code": "invalid_spec",
        "message": "spec.batchng: unknown field (did you mean 'batching'?)",
    }

    not_json = api.post("/api/v1/deploy", content=b"{name: ", headers={"content-type": "application/json"})
    assert not_json.status_code == 422
    assert error_of(not_json)["code"] == "invalid_spec"

    path_name = api.get("/api/v1/deployments/Not_A_Name")
    assert path_name.status_code == 422
    assert "DNS-1123" in error_of(path_name)["message"]
    assert api.get("/api/v1/deployments/nobody").status_code == 404
    assert error_of(api.get("/api/v1/nothing-here"))["code"] == "not_found"
    assert api.get("/api/v1/deployments").json() == []


def test_an_unknown_model_is_refused(control_plane: ControlPlaneProcess, tmp_path: Path) -> None:
    missing = control_plane.api.post(
        "/api/v1/deploy", json={"name": "ghost", "model": {"source": str(tmp_path / "no-such-folder")}}
    )
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "model_not_found"
    assert "does not exist" in error_of(missing)["message"]
    assert control_plane.api.get("/api/v1/deployments").json() == []


def test_an_unknown_hub_model_ends_failed_with_its_reason(control_plane_factory: object) -> None:
    hub = FakeHub().start()
    try:
        plane: ControlPlaneProcess = control_plane_factory(  # type: ignore[operator]
            HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0"
        )
        accepted = plane.api.post(
            "/api/v1/deploy", json={"name": "ghost", "model": {"source": "nobody/none"}}
        )
        assert accepted.status_code == 202
        failed = plane.wait_state("ghost", "failed", timeout_s=60)
    finally:
        hub.stop()
    assert "nobody/none" in failed["last_error"]
    assert failed["last_error_code"] == "model_not_found"
    assert failed["replicas"] == []
    assert not list((plane.home / "logs").glob("ghost*.log")), "no worker was started"


def test_a_taken_name_is_a_conflict_unless_replaced(control_plane: ControlPlaneProcess) -> None:
    api = control_plane.api
    assert api.post("/api/v1/deploy", json={"name": "echo", **ECHO}).status_code == 202
    control_plane.wait_state("echo", "ready")
    again = api.post("/api/v1/deploy", json={"name": "echo", **ECHO})
    assert again.status_code == 409
    assert "already exists" in error_of(again)["message"]
    assert control_plane.deployment("echo")["state"] == "ready", "the running deployment is untouched"

    replaced = api.post(
        "/api/v1/deploy", params={"replace": "true"}, json={"name": "echo", **ECHO, "replicas": 1}
    )
    assert replaced.status_code == 202
    assert control_plane.wait_state("echo", "ready")["restarts"] == 0


def test_a_busy_port_range_is_a_conflict(control_plane_factory: object) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        plane: ControlPlaneProcess = control_plane_factory(BERTH_WORKER_PORTS=str(port))  # type: ignore[operator]
        refused = plane.api.post("/api/v1/deploy", json={"name": "echo", **ECHO})
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "port_unavailable"
    assert f"BERTH_WORKER_PORTS={port}" in error_of(refused)["message"]
    assert plane.api.get("/api/v1/deployments").json() == []


def test_an_oversized_request_body_is_refused(control_plane: ControlPlaneProcess) -> None:
    api = control_plane.api
    api.post("/api/v1/deploy", json={"name": "echo", **ECHO, "limits": {"max_request_bytes": 1024}})
    control_plane.wait_state("echo", "ready")
    too_big = api.post("/api/v1/deployments/echo/inference", json={"inputs": ["x" * 2000]})
    assert too_big.status_code == 413
    assert "1024 bytes" in error_of(too_big)["message"]
    fine = api.post("/api/v1/deployments/echo/inference", json={"inputs": ["ok"]})
    assert fine.json()["result"] == ["OK"]


def test_an_api_key_guards_every_route_but_health(control_plane_factory: object) -> None:
    key = "s3cret-key-for-tests"
    plane: ControlPlaneProcess = control_plane_factory(BERTH_API_KEY=key)  # type: ignore[operator]
    url = plane.url
    assert httpx.get(f"{url}/health/live").status_code == 200
    assert httpx.get(f"{url}/health/ready").status_code == 200
    for path in ("/api/v1/deployments", "/metrics", "/docs", "/openapi.json"):
        missing = httpx.get(f"{url}{path}")
        assert missing.status_code == 401, path
        assert error_of(missing)["code"] == "unauthorized"
    assert (
        httpx.get(f"{url}/api/v1/deployments", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert httpx.get(f"{url}/api/v1/deployments", headers={"X-API-Key": key}).status_code == 200

    assert plane.api.post("/api/v1/deploy", json={"name": "echo", **ECHO}).status_code == 202
    deployment = plane.wait_state("echo", "ready")
    assert "$BERTH_API_KEY" in deployment["usage"]["curl"]
    direct = httpx.post(f"{deployment['endpoint']}/predict", json={"inputs": ["x"]})
    assert direct.status_code == 401, "workers require the key too"
    proxied = plane.api.post("/api/v1/deployments/echo/inference", json={"inputs": ["x"]})
    assert proxied.json()["result"] == ["X"]

    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{plane.port}/api/v1/ws/echo", open_timeout=5)
    with connect(
        f"ws://127.0.0.1:{plane.port}/api/v1/ws/echo", subprotocols=["berth", f"bearer.{key}"], open_timeout=5
    ) as socket_:
        assert '"stage":"initializing"' in str(socket_.recv(timeout=5))

    logs = plane.log() + plane.worker_log("echo")
    assert key not in logs
    assert key not in (plane.home / "deployments/echo/metadata.json").read_text()
