"""The control plane's app in-process: health, routes, error bodies, API key, CORS and 500s."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from berth.control.app import create_app
from berth.control.plane import ControlPlane
from berth.events import EVENT_PREFIX, Event, Stage
from berth.settings import Settings
from tests.unit.control.conftest import make_spec

KEY = "unit-test-key-0123456789"
ORIGIN = "http://ui.example"

Client = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """`client(**settings)`: the app on a fresh BERTH_HOME, its lifespan run by the TestClient."""

    @contextmanager
    def start(app_hook: Callable[[FastAPI], None] | None = None, **settings: Any) -> Iterator[TestClient]:
        app = create_app(Settings(home=tmp_path / "home", worker_ports="39100-39104", **settings))
        if app_hook is not None:
            app_hook(app)
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client

    return start


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    error: dict[str, str] = body["error"]
    return error


# health and routes


def test_health_probes(client: Client, tmp_path: Path) -> None:
    with client() as api:
        assert api.get("/health/live").json() == {"status": "ok"}
        assert api.get("/health/ready").json() == {"status": "ready"}
        assert api.get("/api/v1/deployments").json() == []
    assert (tmp_path / "home" / "berth.db").exists(), "the lifespan migrated the registry"


CONTRACT_ROUTES = {
    ("post", "/api/v1/deploy"),
    ("get", "/api/v1/deployments"),
    ("get", "/api/v1/deployments/{name}"),
    ("delete", "/api/v1/deployments/{name}"),
    ("post", "/api/v1/deployments/{name}/start"),
    ("post", "/api/v1/deployments/{name}/stop"),
    ("post", "/api/v1/deployments/{name}/restart"),
    ("post", "/api/v1/deployments/{name}/inference"),
    ("get", "/api/v1/deployments/{name}/events"),
    ("get", "/api/v1/deployments/{name}/logs"),
    ("get", "/api/v1/system"),
    ("post", "/api/v1/preflight"),
    ("get", "/api/v1/models"),
    ("post", "/api/v1/models/pull"),
    ("delete", "/api/v1/models/{model_id}"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
}


def test_openapi_lists_the_contracts_routes(client: Client) -> None:
    with client() as api:
        schema = api.get("/openapi.json").json()
        assert api.get("/docs").status_code == 200
    listed = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert listed >= CONTRACT_ROUTES, sorted(CONTRACT_ROUTES - listed)
    operation_ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids)), "stable, unique operation ids"
    assert "deploy" in operation_ids
    assert "list_deployments" in operation_ids


def test_registry_backed_routes(client: Client, tmp_path: Path) -> None:
    with client() as api:
        plane: ControlPlane = api.app.state.plane  # type: ignore[attr-defined]
        plane.registry.create(make_spec("echo"))
        first = plane.registry.add_event(Event.at("echo", Stage.INITIALIZING, "accepted"))
        plane.registry.add_event(Event.at("echo", Stage.VALIDATING, "checking"))
        log = tmp_path / "home" / "logs" / "echo.log"
        log.write_text("one\n" + EVENT_PREFIX + "{}\n" + "two\nthree\n")

        assert api.get("/api/v1/deployments/echo").json()["state"] == "deploying"
        assert [d["name"] for d in api.get("/api/v1/deployments").json()] == ["echo"]
        events = api.get("/api/v1/deployments/echo/events", params={"after": first.id}).json()
        assert [e["message"] for e in events] == ["checking"]
        logs = api.get("/api/v1/deployments/echo/logs", params={"tail": 2})
        assert logs.text == "two\nthree\n"
        assert logs.headers["content-type"].startswith("text/plain")

        assert error_of(api.get("/api/v1/deployments/ghost/events"))["code"] == "not_found"
        invalid = api.get("/api/v1/deployments/echo/events", params={"after": -1})
        assert (invalid.status_code, error_of(invalid)["code"]) == (422, "invalid_spec")


# error bodies


def test_an_unknown_route_is_a_json_404(client: Client) -> None:
    with client() as api:
        response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "/api/v1/nothing-here" in error["message"]


def test_a_wrong_method_is_a_json_405(client: Client) -> None:
    with client() as api:
        response = api.delete("/api/v1/deployments")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_a_405_names_the_allowed_methods(client: Client) -> None:
    with client() as api:
        response = api.delete("/api/v1/deployments")
    assert response.headers.get("allow") == "GET"


def test_an_unexpected_error_is_a_500_without_a_trace(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    def add_failing_route(app: FastAPI) -> None:
        @app.get("/api/v1/boom")
        async def boom() -> None:
            raise RuntimeError("internal detail /srv/secret.py")

        app.router.routes.insert(0, app.router.routes.pop())  # ahead of the UI's catch-all

    with caplog.at_level(logging.ERROR, logger="berth.control"), client(app_hook=add_failing_route) as api:
        response = api.get("/api/v1/boom")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert "Traceback" not in response.text
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert "internal detail" in caplog.text, "the details go to the control plane's log"


# API key


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Record every `hmac.compare_digest` the auth middleware makes, still comparing for real."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("berth.control.api.auth.hmac.compare_digest", spy)
    return calls


def test_an_api_key_guards_the_api_but_not_health(
    client: Client, compare_calls: list[tuple[bytes, bytes]]
) -> None:
    with client(api_key=KEY) as api:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"X-API-Key": "wrong"},
            {"Authorization": KEY},
        ):
            response = api.get("/api/v1/deployments", headers=headers)
            assert response.status_code == 401, headers
            assert error_of(response)["code"] == "unauthorized"
            assert KEY not in response.text
        assert api.get("/openapi.json").status_code == 401
        assert api.get("/api/v1/nothing-here").status_code == 401, "no route probing without the key"

        assert api.get("/api/v1/deployments", headers={"Authorization": f"Bearer {KEY}"}).json() == []
        assert api.get("/api/v1/deployments", headers={"authorization": f"bearer  {KEY} "}).status_code == 200
        assert api.get("/api/v1/deployments", headers={"X-API-Key": KEY}).status_code == 200
        assert api.get("/health/live").status_code == 200
        assert api.get("/health/ready").status_code == 200

    key = KEY.encode()
    assert (b"", key) in compare_calls, "a missing key is still compared, in the same time"
    assert (b"wrong", key) in compare_calls
    assert (key, key) in compare_calls


def test_without_an_api_key_everything_is_open(
    client: Client, compare_calls: list[tuple[bytes, bytes]]
) -> None:
    with client() as api:
        assert api.get("/api/v1/deployments").status_code == 200
    assert compare_calls == []


def test_a_websocket_needs_the_key_as_a_subprotocol(client: Client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with client(api_key=KEY) as api:
        with pytest.raises(WebSocketDisconnect) as refused, api.websocket_connect("/api/v1/ws/echo"):
            pass
        assert refused.value.code == 4401
        with api.websocket_connect("/api/v1/ws/echo", subprotocols=["berth", f"bearer.{KEY}"]) as socket:
            assert socket.accepted_subprotocol == "berth"
            with pytest.raises(WebSocketDisconnect) as unknown:
                socket.receive_text()
        assert unknown.value.code == 4404, "past the key: the deployment does not exist"


# CORS


def test_cors_headers_for_an_allowed_origin(client: Client) -> None:
    with client(cors_origins=[ORIGIN]) as api:
        simple = api.get("/api/v1/deployments", headers={"Origin": ORIGIN})
        preflight = api.options(
            "/api/v1/deployments",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        other = api.get("/api/v1/deployments", headers={"Origin": "http://evil.example"})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(client: Client) -> None:
    with client() as api:
        response = api.get("/api/v1/deployments", headers={"Origin": ORIGIN})
        preflight = api.options(
            "/api/v1/deployments", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)
    assert not any(name.startswith("access-control-") for name in preflight.headers)


def test_a_cors_preflight_passes_the_api_key_gate(client: Client) -> None:
    with client(api_key=KEY, cors_origins=[ORIGIN]) as api:
        preflight = api.options(
            "/api/v1/deployments",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN


def test_the_endpoint_uses_the_host_the_app_was_given(client: Client) -> None:
    with client(host="127.0.0.2") as api:
        plane: ControlPlane = api.app.state.plane  # type: ignore[attr-defined]
        plane.registry.create(make_spec("echo"))
        plane.registry.set_replica("echo", 0, port=39100)
        endpoint = api.get("/api/v1/deployments/echo").json()["endpoint"]
    assert endpoint == "http://127.0.0.2:39100", "where the supervisor binds and the deployer points"
