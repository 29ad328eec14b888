"""The supervisor keeps deployments running: crashes, hung workers, crash loops, control-plane restarts."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from berth import proctitle
from berth.settings import parse_port_range
from tests.integration.conftest import ControlPlaneProcess

pytestmark = pytest.mark.slow

ECHO = {"model": {"source": "tests.predictors:SlowEcho"}, "limits": {"request_timeout_s": 5}}


def deploy(plane: ControlPlaneProcess, name: str, **spec: object) -> dict[str, object]:
    accepted = plane.api.post("/api/v1/deploy", json={"name": name, **ECHO, **spec})
    assert accepted.status_code == 202, accepted.text
    deployment = plane.wait_state(name, "ready", "failed")
    assert deployment["state"] == "ready", deployment
    return deployment


def worker_processes(plane: ControlPlaneProcess, name: str) -> list[psutil.Process]:
    """Live workers serving `name` from this control plane: by their title (`berth worker NAME[N] :PORT`
    on one of its worker ports), or by the spec file on the command line of one not yet titled."""
    spec_file = str(plane.home / "deployments" / name / "spec.json")
    ports = parse_port_range(plane.env["BERTH_WORKER_PORTS"])
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        title = proctitle.parse_worker(cmdline)
        ours = spec_file in cmdline or (title is not None and title[0] == name and title[2] in ports)
        if ours and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


class AlertReceiver:
    """A loopback webhook that records every JSON body posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_killed_worker_is_restarted_counted_and_alerted(control_plane_factory: Any) -> None:
    alerts = AlertReceiver()
    try:
        plane: ControlPlaneProcess = control_plane_factory(BERTH_ALERT_WEBHOOK_URL=alerts.url)
        before = deploy(plane, "echo")
        [replica] = before["replicas"]  # type: ignore[misc]
        os.kill(replica["pid"], signal.SIGKILL)

        deadline = time.monotonic() + 60
        after = before
        while time.monotonic() < deadline:
            after = plane.deployment("echo")
            if after["state"] == "ready" and after["replicas"][0]["pid"] != replica["pid"]:
                break
            time.sleep(0.1)
    finally:
        alerts.close()
    assert after["state"] == "ready", after
    assert after["restarts"] == 1
    assert after["replicas"][0]["restarts"] == 1
    answer = plane.api.post("/api/v1/deployments/echo/inference", json={"inputs": ["back"]})
    assert answer.json()["result"] == ["BACK"]
    assert 'berth_replica_restarts{deployment="echo"} 1.0' in plane.api.get("/metrics").text
    assert [(a["deployment"], a["state"]) for a in alerts.received] == [("echo", "restarting")]
    assert "killed by signal 9" in alerts.received[0]["reason"]


def test_a_hung_worker_is_restarted_after_the_failure_threshold(control_plane: ControlPlaneProcess) -> None:
    before = deploy(control_plane, "echo")
    [replica] = before["replicas"]  # type: ignore[misc]
    os.kill(replica["pid"], signal.SIGSTOP)  # alive but answering nothing: readiness probes time out
    try:
        seen = {control_plane.wait_state("echo", "unhealthy", timeout_s=30)["state"]}
        after = control_plane.wait_state("echo", "ready", timeout_s=90)
    finally:
        if psutil.pid_exists(replica["pid"]):
            os.kill(replica["pid"], signal.SIGCONT)
    assert seen == {"unhealthy"}
    assert after["replicas"][0]["pid"] != replica["pid"]
    assert after["restarts"] == 1
    assert "readiness probe failed 3 times" in control_plane.log()


def test_a_model_that_crashes_at_load_fails_with_its_reason_after_bounded_retries(
    control_plane: ControlPlaneProcess,
) -> None:
    spec = {"name": "broken", "model": {"source": "tests.predictors:BrokenAtLoad"}}
    assert control_plane.api.post("/api/v1/deploy", json=spec).status_code == 202
    failed = control_plane.wait_state("broken", "failed", timeout_s=120)
    assert "weights file missing" in failed["last_error"] or "failed to start" in failed["last_error"]
    assert "after 4 attempts" in failed["last_error"]
    assert failed["replicas"] == []
    assert worker_processes(control_plane, "broken") == []
    events = control_plane.api.get("/api/v1/deployments/broken/events").json()
    assert events[-1]["stage"] == "failed"


def test_killing_the_control_plane_leaves_workers_serving_and_adopted(
    control_plane_factory: object, tmp_path: Path
) -> None:
    plane: ControlPlaneProcess = control_plane_factory()  # type: ignore[operator]
    running = deploy(plane, "echo")
    deploy(plane, "parked")
    assert plane.api.post("/api/v1/deployments/parked/stop").json()["state"] == "stopped"
    [replica] = running["replicas"]  # type: ignore[misc]

    plane.kill()
    endpoint = running["endpoint"]
    assert httpx.post(f"{endpoint}/predict", json={"inputs": ["still"]}).json()["result"] == ["STILL"]

    plane.__dict__.pop("api").close()
    plane.start()
    adopted = plane.wait_state("echo", "ready", timeout_s=30)
    assert adopted["replicas"][0]["pid"] == replica["pid"], "the running worker is adopted, not replaced"
    assert adopted["restarts"] == 0
    assert [p.pid for p in worker_processes(plane, "echo")] == [replica["pid"]]
    answer = plane.api.post("/api/v1/deployments/echo/inference", json={"inputs": ["adopted"]})
    assert answer.json()["result"] == ["ADOPTED"]
    parked = plane.deployment("parked")
    assert parked["state"] == "stopped"
    assert worker_processes(plane, "parked") == []


def test_a_clean_control_plane_stop_drains_workers_and_the_next_start_restores_them(
    control_plane: ControlPlaneProcess,
) -> None:
    deploy(control_plane, "echo")
    assert control_plane.stop() == 0
    assert worker_processes(control_plane, "echo") == []

    control_plane.__dict__.pop("api", None)
    control_plane.start()
    restored = control_plane.wait_state("echo", "ready", timeout_s=60)
    assert restored["restarts"] == 0
    assert len(worker_processes(control_plane, "echo")) == 1


def test_a_requested_restart_replaces_each_replica_without_the_watch_loop_interfering(
    control_plane: ControlPlaneProcess,
) -> None:
    before = deploy(control_plane, "echo", replicas=2)
    old_pids = {r["pid"] for r in before["replicas"]}  # type: ignore[attr-defined]
    answer = control_plane.api.post("/api/v1/deployments/echo/restart")
    assert answer.status_code == 202, answer.text
    after = control_plane.wait_state("echo", "ready", timeout_s=60)
    assert {r["pid"] for r in after["replicas"]}.isdisjoint(old_pids)
    assert after["restarts"] == 0, "a restart someone asked for is not a crash"
    time.sleep(3)  # several health intervals: nothing may restart the fresh replicas again
    settled = control_plane.deployment("echo")
    assert [r["pid"] for r in settled["replicas"]] == [r["pid"] for r in after["replicas"]]
    assert "failed a health check" not in control_plane.log()
