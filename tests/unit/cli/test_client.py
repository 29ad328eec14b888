"""The client's HTTP side, answered in-process by httpx.MockTransport: bodies, errors, streams."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from berth.api.types import PullProgressLine
from berth.client import Client, ControlPlaneUnavailable, error_from_response
from berth.errors import (
    BerthError,
    Conflict,
    InvalidSpec,
    ModelNotFound,
    NotFound,
    NotReady,
    RequestTimeout,
    error_for,
)
from berth.settings import get_settings

Handler = Callable[[httpx.Request], httpx.Response]
DEPLOYMENT = {
    "name": "minilm",
    "state": "ready",
    "desired_state": "running",
    "spec": {"name": "minilm", "model": {"source": "x"}, "replicas": 1},
    "endpoint": "http://127.0.0.1:8100",
    "replicas": [{"index": 0, "pid": 42, "port": 8100, "state": "ready"}],
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:00Z",
}


def mock(handler: Handler, api_key: str | None = "secret") -> Client:
    return Client("http://berth.test", api_key=api_key, transport=httpx.MockTransport(handler))


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def all_errors() -> list[type[BerthError]]:
    found, pending = [], [BerthError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", all_errors(), ids=lambda cls: cls.__name__)
def test_every_error_code_maps_back_to_its_class(cls: type[BerthError]) -> None:
    mapped = error_for(cls.code, cls.status_code, "why")
    assert type(mapped) is cls
    assert mapped.message == "why"


@pytest.mark.parametrize(
    ("response", "cls", "message"),
    [
        (error(404, "model_not_found", "no model at /x"), ModelNotFound, "no model at /x"),
        (error(409, "conflict", "minilm exists"), Conflict, "minilm exists"),
        (error(404, "some_new_code", "gone"), NotFound, "gone"),  # unknown code: by status
        (error(418, "teapot", "short and stout"), BerthError, "short and stout"),
        (httpx.Response(422, json={"detail": "bad body"}), InvalidSpec, "bad body"),
        (httpx.Response(503, text="<html>busy</html>"), NotReady, "the control plane answered 503"),
    ],
)
def test_error_bodies(response: httpx.Response, cls: type[BerthError], message: str) -> None:
    mapped = error_from_response(response)
    assert isinstance(mapped, cls)
    assert mapped.message == message


def test_an_error_body_raises_from_a_call() -> None:
    berth = mock(lambda request: error(404, "not_found", "no deployment named 'x'"))
    with berth, pytest.raises(NotFound, match="no deployment named 'x'") as caught:
        berth.get("x")
    assert caught.value.exit_code == 3


def test_requests_carry_the_key_and_the_right_bodies() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/inference"):
            return httpx.Response(200, json={"status": "success", "result": [[0.1]]})
        return httpx.Response(200, json=[DEPLOYMENT])

    with mock(handler) as berth:
        assert berth.predict("minilm", "I love this")["status"] == "success"
        berth.predict("minilm", ["a", "b"])
        assert [d.name for d in berth.deployments()] == ["minilm"]
    assert all(r.headers["authorization"] == "Bearer secret" for r in seen)
    assert seen[0].url.path == "/api/v1/deployments/minilm/inference"
    assert json.loads(seen[0].content) == {"text": "I love this"}
    assert json.loads(seen[1].content) == {"inputs": ["a", "b"]}


def test_deploy_without_waiting_posts_the_spec() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={**DEPLOYMENT, "name": "all-minilm-l6-v2", "state": "deploying"})

    with mock(handler, api_key=None) as berth:
        started = berth.deploy("sentence-transformers/all-MiniLM-L6-v2", wait=False, replace=True, replicas=2)
    assert started.state == "deploying"
    assert seen[0].url.path == "/api/v1/deploy"
    assert seen[0].url.params["replace"] == "true"
    assert "authorization" not in seen[0].headers
    body = json.loads(seen[0].content)
    assert (body["name"], body["replicas"]) == ("all-minilm-l6-v2", 2)


def test_pull_reads_the_ndjson_stream() -> None:
    lines = [
        {"type": "progress", "bytes_done": 10, "bytes_total": 100, "filename": "model.safetensors"},
        {"type": "progress", "bytes_done": 100, "bytes_total": 100, "filename": "model.safetensors"},
        {
            "type": "done",
            "revision": "abc",
            "model": {"id": "owner/name", "revisions": ["abc"], "size_bytes": 100, "path": "/cache"},
        },
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    progress: list[PullProgressLine] = []
    with mock(lambda request: httpx.Response(200, text=body)) as berth:
        done = berth.pull("owner/name", on_progress=progress.append)
    assert [p.bytes_done for p in progress] == [10, 100]
    assert (done.model.id, done.revision) == ("owner/name", "abc")


def test_a_failed_pull_raises_its_error() -> None:
    line = {"type": "error", "error": {"code": "download_failed", "message": "the hub broke off"}}
    berth = mock(lambda request: httpx.Response(200, text=json.dumps(line) + "\n"))
    with berth, pytest.raises(BerthError, match="the hub broke off") as caught:
        berth.pull("owner/name")
    assert caught.value.code == "download_failed"


def test_no_control_plane(closed_url: str) -> None:
    with Client(closed_url) as berth:
        assert berth.health() is False
        with pytest.raises(ControlPlaneUnavailable) as caught:
            berth.deployments()
    assert caught.value.message == (
        f"no berth control plane answers at {closed_url}; start one with `berth up -d`"
    )
    assert (caught.value.exit_code, caught.value.status_code) == (6, 503)


def test_a_slow_answer_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with mock(handler) as berth, pytest.raises(RequestTimeout, match="within 30 s"):
        berth.deployments()


def test_defaults_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BERTH_URL")
    monkeypatch.setenv("BERTH_HOST", "0.0.0.0")
    monkeypatch.setenv("BERTH_PORT", "8123")
    monkeypatch.setenv("BERTH_API_KEY", "from-env")
    get_settings.cache_clear()
    with Client() as berth:
        assert berth.url == "http://127.0.0.1:8123"
        assert berth._headers == {"Authorization": "Bearer from-env"}


def test_deploy_asks_for_the_requirements_install_only_when_told() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={**DEPLOYMENT, "name": "chronos", "state": "deploying"})

    spec = {"name": "chronos", "model": {"source": "fc:Chronos"}, "requirements": ["chronos-forecasting"]}
    with mock(handler, api_key=None) as berth:
        berth.deploy(spec, wait=False)
        berth.deploy(spec, wait=False, install_requirements=True)
    assert "install_requirements" not in seen[0].url.params
    assert seen[1].url.params["install_requirements"] == "true"
    assert json.loads(seen[1].content)["requirements"] == ["chronos-forecasting"]
