"""Workers forked from the pre-imported template process: fast, independent, and honest about exits."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from berth import proctitle
from tests.integration.conftest import ControlPlaneProcess

pytestmark = pytest.mark.slow


def wait_for_template(plane: ControlPlaneProcess, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if '"ready": true' in (plane.home / "template.log").read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the template never became ready:\n{(plane.home / 'template.log').read_text()}")


@pytest.fixture
def plane(control_plane_factory: object) -> ControlPlaneProcess:
    plane: ControlPlaneProcess = control_plane_factory(BERTH_PRELOAD_WORKERS="true")  # type: ignore[operator]
    wait_for_template(plane)
    return plane


def test_a_forked_worker_serves_minilm_and_belongs_to_nobody(
    plane: ControlPlaneProcess, minilm_path: Path
) -> None:
    template_pid = int(
        next(line for line in (plane.home / "template.log").read_text().splitlines() if '"ready"' in line)
        .split('"pid": ')[1]
        .rstrip("}")
    )
    plane.api.post("/api/v1/deploy", json={"name": "minilm", "model": {"source": str(minilm_path)}})
    deployment = plane.wait_state("minilm", "ready", "failed", timeout_s=60)
    assert deployment["state"] == "ready", deployment
    worker = psutil.Process(deployment["replicas"][0]["pid"])
    assert worker.ppid() not in (template_pid, plane.process.pid if plane.process else -1)
    port = deployment["replicas"][0]["port"]
    assert proctitle.of(worker.cmdline()) == f"berth worker minilm[0] :{port}", "named, not the template"
    answer = plane.api.post("/api/v1/deployments/minilm/inference", json={"text": "I love this product!"})
    assert len(answer.json()["result"][0]) == 384

    plane.api.post("/api/v1/deployments/minilm/stop")
    assert not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE
    # only a worker forked from the template writes this line: proof of where it came from
    assert '@berth-exit {"code": 0}' in plane.worker_log("minilm"), "a clean drain exits 0"


def test_a_forked_worker_that_fails_reports_its_exit_code(plane: ControlPlaneProcess, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.md").write_text("no weights here")
    plane.api.post("/api/v1/deploy", json={"name": "empty", "model": {"source": str(folder)}})
    failed = plane.wait_state("empty", "failed", timeout_s=60)
    assert failed["last_error_code"] != "model_error", "a clear error, not retried as a crash"
    assert "after" not in failed["last_error"], "deterministic errors are not retried"
