"""A worker process serving a Python predictor: start-up stages, every error status, clean shutdown."""

from __future__ import annotations

import concurrent.futures
import socket
import time
from pathlib import Path

import httpx
import pytest

from berth.events import Stage
from tests.integration.conftest import WorkerProcess, launch_worker

ECHO = {"name": "echo", "model": {"source": "tests.predictors:SlowEcho"}, "runtime": "python"}


@pytest.fixture
def echo(tmp_path: Path, workers: list[WorkerProcess]) -> WorkerProcess:
    spec = ECHO | {
        "batching": {"max_batch_size": 1, "max_latency_ms": 0},
        "limits": {"max_queue": 2, "request_timeout_s": 2, "max_request_bytes": 4096},
    }
    worker = launch_worker(spec, tmp_path)
    workers.append(worker)
    worker.wait_ready()
    return worker


def test_stages_are_reported_in_order_with_rising_progress(echo: WorkerProcess) -> None:
    deadline = time.monotonic() + 5
    while not any(e.stage is Stage.COMPLETED for e in echo.events) and time.monotonic() < deadline:
        time.sleep(0.05)
    stages = [e.stage for e in echo.events]
    assert stages == [Stage.VALIDATING, Stage.LOADING, Stage.CREATING, Stage.STARTING, Stage.COMPLETED]
    progress = [e.progress for e in echo.events]
    assert progress == sorted(progress)
    assert echo.url in echo.events[-1].message


def test_predict_and_error_statuses_over_http(echo: WorkerProcess) -> None:
    with httpx.Client(base_url=echo.url, timeout=10) as client:
        ok = client.post("/predict", json={"inputs": ["abc", 3]})
        assert ok.status_code == 200
        assert ok.json()["result"] == ["ABC", 3]

        malformed = client.post("/predict", content=b'{"text": ')
        assert malformed.status_code == 422
        assert malformed.json()["error"]["code"] == "invalid_input"

        too_large = client.post("/predict", json={"text": "x" * 10_000})
        assert too_large.status_code == 413

        crashed = client.post("/predict", json={"text": "crash"})
        assert crashed.status_code == 500
        assert "Traceback" not in crashed.text
        assert "crashed on purpose" not in crashed.text

        timed_out = client.post("/predict", json={"text": "sleep:3"})
        assert timed_out.status_code == 504
        assert "limits.request_timeout_s" in timed_out.json()["error"]["message"]

        assert client.post("/predict", json={"text": "still serving"}).json()["result"] == ["STILL SERVING"]
    log = echo.stderr()
    assert "predictor crashed on purpose" in log  # the full reason goes to the log


def test_a_full_queue_answers_503(echo: WorkerProcess) -> None:
    def call(text: str) -> int:
        return httpx.post(f"{echo.url}/predict", json={"text": text}, timeout=10).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, ["sleep:1"] * 8))
    assert 503 in statuses
    assert 200 in statuses


def test_sigterm_drains_the_request_in_flight(echo: WorkerProcess) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{echo.url}/predict", json={"text": "sleep:1"}, timeout=10)
        time.sleep(0.3)
        assert echo.stop() == 0
        response = pending.result()
    assert response.status_code == 200
    assert response.json()["result"] == ["SLEEP:1"]


def test_a_busy_port_is_a_clear_error(tmp_path: Path, workers: list[WorkerProcess]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        worker = launch_worker(ECHO, tmp_path, port=taken.getsockname()[1])
        workers.append(worker)
        assert worker.wait_exit() == 4
    assert worker.events[-1].stage is Stage.FAILED
    assert "is in use" in worker.events[-1].message


@pytest.mark.parametrize(
    ("spec", "exit_code", "fragment"),
    [
        ({"name": "bad", "model": {"source": "/no/such/folder"}}, 3, "/no/such/folder"),
        ({"name": "bad", "model": {"source": "tests.predictors:Missing"}, "runtime": "python"}, 3, "Missing"),
        (
            {"name": "bad", "model": {"source": "tests.predictors:BrokenAtLoad"}, "runtime": "python"},
            1,
            "weights file missing",
        ),
    ],
)
def test_start_up_failures_exit_with_a_reason(
    tmp_path: Path, workers: list[WorkerProcess], spec: dict[str, object], exit_code: int, fragment: str
) -> None:
    worker = launch_worker(spec, tmp_path)
    workers.append(worker)
    assert worker.wait_exit() == exit_code
    failed = worker.events[-1]
    assert failed.stage is Stage.FAILED
    assert fragment in failed.message


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"name": "Bad_Name", "model": {"source": "x"}}, "DNS-1123"),
        ({"name": "ok", "model": {"source": "x"}, "batchng": {}}, "did you mean 'batching'"),
    ],
)
def test_an_invalid_spec_exits_2_naming_the_field(
    tmp_path: Path, workers: list[WorkerProcess], spec: dict[str, object], fragment: str
) -> None:
    worker = launch_worker(spec, tmp_path)
    workers.append(worker)
    assert worker.wait_exit() == 2
    assert fragment in worker.stderr()
