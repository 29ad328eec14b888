"""The `berth` CLI and `berth.client.Client` against a real control plane in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from berth.api.types import EventMessage, StateMessage
from berth.client import Client
from berth.errors import ModelNotFound, NotFound
from berth.spec import NAME_RULE
from tests.conftest import free_port
from tests.hub_server import FakeHub
from tests.integration.conftest import ControlPlaneProcess, worker_port_range

pytestmark = pytest.mark.slow

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
STAGES = ["initializing", "validating", "downloading", "loading", "creating", "starting", "completed"]


def berth(
    plane_env: dict[str, str], *args: str, cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run `python -m berth.cli ARGS` as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "berth.cli", *args],
        env=plane_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def worker_log(plane: ControlPlaneProcess, name: str) -> str:
    path = plane.home / "logs" / f"{name}.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def test_deploy_inspect_predict_and_remove_through_the_cli(
    control_plane: ControlPlaneProcess, minilm_path: Path, tmp_path: Path
) -> None:
    env = control_plane.env
    deployed = berth(env, "deploy", str(minilm_path), "--name", "minilm", cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr + worker_log(control_plane, "minilm")
    assert "minilm is ready at http://127.0.0.1:" in deployed.stdout
    assert "curl -s -X POST" in deployed.stdout  # the usage examples

    listed = json.loads(berth(env, "ls", "--json", cwd=tmp_path).stdout)
    shown = json.loads(berth(env, "status", "minilm", "--json", cwd=tmp_path).stdout)
    registry = httpx.get(f"{control_plane.url}/api/v1/deployments/minilm", timeout=10).json()
    assert [d["name"] for d in listed] == ["minilm"]
    for view in (listed[0], shown):
        assert view["state"] == registry["state"] == "ready"
        assert view["endpoint"] == registry["endpoint"]
        assert view["replicas"] == registry["replicas"]
        assert view["spec"]["model"]["source"] == str(minilm_path)
    table = berth(env, "ls", cwd=tmp_path).stdout
    assert "minilm" in table
    assert "ready" in table
    assert "1/1" in table

    one = berth(env, "predict", "minilm", "I love this product!", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    answer = json.loads(one.stdout)
    assert answer["status"] == "success"
    assert len(answer["result"][0]) == 384
    (tmp_path / "batch.json").write_text(json.dumps({"inputs": ["a", "b", "c"]}))
    batch = json.loads(berth(env, "predict", "minilm", "@batch.json", cwd=tmp_path).stdout)
    assert len(batch["result"]) == 3

    logs = berth(env, "logs", "minilm", "--tail", "20", cwd=tmp_path)
    assert logs.returncode == 0
    assert 0 < len(logs.stdout.splitlines()) <= 20

    top = berth(env, "top", "--once", cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert "minilm" in top.stdout
    assert str(registry["replicas"][0]["pid"]) in top.stdout

    stopped = berth(env, "stop", "minilm", cwd=tmp_path)
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "minilm: stopped")
    assert json.loads(berth(env, "status", "minilm", "--json", cwd=tmp_path).stdout)["state"] == "stopped"
    assert not psutil.pid_exists(registry["replicas"][0]["pid"]) or _is_zombie(registry["replicas"][0]["pid"])

    removed = berth(env, "rm", "minilm", cwd=tmp_path)
    assert (removed.returncode, removed.stdout.strip()) == (0, "removed minilm")
    assert json.loads(berth(env, "ls", "--json", cwd=tmp_path).stdout) == []
    gone = berth(env, "status", "minilm", cwd=tmp_path)
    assert gone.returncode == 3
    assert gone.stderr.startswith("error: ")
    assert "minilm" in gone.stderr


def test_bad_input_has_one_line_and_its_exit_code(
    control_plane: ControlPlaneProcess, minilm_path: Path, tmp_path: Path
) -> None:
    env = control_plane.env
    invalid = berth(env, "deploy", str(minilm_path), "--name", "Not_A_Label", cwd=tmp_path)
    assert invalid.returncode == 2
    assert NAME_RULE in invalid.stderr
    assert len(invalid.stderr.strip().splitlines()) == 1

    unknown = berth(env, "deploy", str(tmp_path / "no-such-model"), "--name", "ghost", cwd=tmp_path)
    assert unknown.returncode == 3, unknown.stderr
    assert unknown.stderr.startswith("error: ")
    assert "does not exist" in unknown.stderr

    first = berth(env, "deploy", str(minilm_path), "--name", "twin", "--detach", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    duplicate = berth(env, "deploy", str(minilm_path), "--name", "twin", cwd=tmp_path)
    assert duplicate.returncode == 4
    assert "already exists" in duplicate.stderr
    assert berth(env, "rm", "twin", cwd=tmp_path).returncode == 0

    offline = berth(env, "deploy", "nobody/not-cached", "--name", "offline", cwd=tmp_path)
    assert offline.returncode == 6, offline.stderr  # download_failed: the hub is off limits here
    assert offline.stderr.splitlines()[-1].startswith("error: ")
    failed = json.loads(berth(env, "status", "offline", "--json", cwd=tmp_path).stdout)
    assert failed["state"] == "failed"
    assert failed["last_error"] in offline.stderr


def test_the_client_follows_a_deploy_and_maps_errors(
    control_plane: ControlPlaneProcess, minilm_path: Path
) -> None:
    messages: list[EventMessage | StateMessage] = []
    with Client(control_plane.url) as client:
        deployment = client.deploy(minilm_path, name="minilm", on_event=messages.append, timeout=240)
        assert deployment.state == "ready"
        assert deployment.usage
        events = [m for m in messages if isinstance(m, EventMessage)]
        stages = [e.stage.value for e in events]
        assert [s for s in STAGES if s in stages] == STAGES
        progress = [e.progress for e in events if e.progress is not None]
        assert progress == sorted(progress)
        assert progress[-1] == 100
        assert isinstance(messages[-1], StateMessage)
        assert messages[-1].state == "ready"

        assert client.predict("minilm", ["a", "b"])["status"] == "success"
        assert [e.stage.value for e in client.events("minilm")][-1] == "completed"
        assert client.preflight(minilm_path).fits
        lines = client.follow_logs("minilm", tail=3)
        assert next(lines)
        lines.close()  # stops following: the streamed response is closed
        assert client.system().processes[0].deployment == "minilm"
        with pytest.raises(ModelNotFound):
            client.deploy("/no/such/folder", name="ghost")
        with pytest.raises(NotFound, match="nope"):
            list(client.watch("nope"))
        client.remove("minilm")
        assert client.deployments() == []


def test_pull_list_and_remove_a_cached_model(
    control_plane_factory: Any, minilm_path: Path, tmp_path: Path
) -> None:
    hub = FakeHub().start()
    try:
        hub.add_repo(HUB_ID, minilm_path)
        plane: ControlPlaneProcess = control_plane_factory(HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0")
        pulled = berth(plane.env, "pull", HUB_ID, cwd=tmp_path)
        assert pulled.returncode == 0, pulled.stderr
        assert pulled.stdout.startswith(f"✓ {HUB_ID} @ ")
        [cached] = json.loads(berth(plane.env, "models", "--json", cwd=tmp_path).stdout)
        assert cached["id"] == HUB_ID
        assert cached["size_bytes"] > 80_000_000  # the real weights, not a stub
        assert HUB_ID in berth(plane.env, "models", cwd=tmp_path).stdout

        removed = berth(plane.env, "models", "--rm", HUB_ID, cwd=tmp_path)
        assert removed.returncode == 0, removed.stderr
        assert json.loads(berth(plane.env, "models", "--json", cwd=tmp_path).stdout) == []
        missing = berth(plane.env, "models", "--rm", HUB_ID, cwd=tmp_path)
        assert missing.returncode == 3
    finally:
        hub.stop()


def test_up_detached_writes_a_pidfile_and_down_stops_it(tmp_path: Path) -> None:
    port = free_port()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("BERTH_")}
    env = {
        **inherited,
        "BERTH_HOME": str(tmp_path / "home"),
        "BERTH_PORT": str(port),
        "BERTH_WORKER_PORTS": worker_port_range(),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
    }
    pidfile = tmp_path / "home" / "berth.pid"
    try:
        started = time.monotonic()
        up = berth(env, "up", "-d", cwd=tmp_path, timeout=60)
        assert up.returncode == 0, up.stderr
        assert time.monotonic() - started < 30
        assert f"http://127.0.0.1:{port}" in up.stdout
        pid = json.loads(pidfile.read_text())["pid"]  # written by the control plane itself
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 200
        assert (tmp_path / "home" / "control-plane.log").exists()
        assert json.loads(berth(env, "ls", "--json", cwd=tmp_path).stdout) == []

        again = berth(env, "up", "-d", cwd=tmp_path)
        assert again.returncode == 4
        assert f"pid {pid}" in again.stderr

        down = berth(env, "down", cwd=tmp_path, timeout=60)
        assert down.returncode == 0, down.stderr
        assert not pidfile.exists()
        assert not psutil.pid_exists(pid) or _is_zombie(pid)
        after = berth(env, "ls", cwd=tmp_path)
        assert after.returncode == 6
        assert "berth up -d" in after.stderr
    finally:
        if pidfile.exists():  # the test failed half-way: do not leave a control plane behind
            _terminate(json.loads(pidfile.read_text())["pid"])


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        psutil.Process(pid).wait(30)
    except (OSError, psutil.Error):
        pass
