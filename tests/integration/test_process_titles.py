"""What `ps` shows: every berth process names itself, read back from /proc like `ps` reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.conftest import ControlPlaneProcess
from tests.integration.test_control_template import wait_for_template

pytestmark = pytest.mark.slow

ECHO = {"model": {"source": "tests.predictors:SlowEcho"}, "replicas": 2}


def ps_title(pid: int) -> str:
    """The command line as `ps -o args` prints it: /proc/PID/cmdline, NULs as spaces, padding dropped."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return " ".join(part.decode() for part in raw.split(b"\0") if part)


def deploy_ready(plane: ControlPlaneProcess, name: str) -> dict[str, Any]:
    accepted = plane.api.post("/api/v1/deploy", json={"name": name, **ECHO})
    assert accepted.status_code == 202, accepted.text
    deployment = plane.wait_state(name, "ready", "failed", timeout_s=120)
    assert deployment["state"] == "ready", deployment
    return deployment


def assert_worker_titles(deployment: dict[str, Any]) -> None:
    replicas = sorted(deployment["replicas"], key=lambda replica: replica["index"])
    assert [replica["index"] for replica in replicas] == [0, 1]
    assert len({replica["port"] for replica in replicas}) == 2, replicas
    for replica in replicas:
        expected = f"berth worker {deployment['name']}[{replica['index']}] :{replica['port']}"
        assert ps_title(replica["pid"]) == expected


def test_the_control_plane_the_template_and_forked_workers_name_themselves(
    control_plane_factory: Any,
) -> None:
    plane: ControlPlaneProcess = control_plane_factory(BERTH_PRELOAD_WORKERS="true")
    assert plane.process is not None
    assert ps_title(plane.process.pid) == f"berth control :{plane.port}"
    wait_for_template(plane)
    children = psutil.Process(plane.process.pid).children()
    assert [ps_title(child.pid) for child in children] == ["berth template"]

    deployment = deploy_ready(plane, "forked")
    # double-forked by the template, so not the control plane's children: these really were forked
    assert all(psutil.Process(r["pid"]).ppid() != plane.process.pid for r in deployment["replicas"])
    assert_worker_titles(deployment)


def test_cold_started_workers_name_themselves_too(control_plane: ControlPlaneProcess) -> None:
    assert control_plane.process is not None
    assert ps_title(control_plane.process.pid) == f"berth control :{control_plane.port}"
    deployment = deploy_ready(control_plane, "cold")
    assert all(psutil.Process(r["pid"]).ppid() == control_plane.process.pid for r in deployment["replicas"])
    assert_worker_titles(deployment)
