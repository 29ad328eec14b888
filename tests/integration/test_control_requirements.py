"""`requirements:` through a real control plane: unmet ones fail at validating, and
`install_requirements` pip-installs them through the constraints, from a local folder of wheels.

The control plane runs on a throwaway venv over this one (tests.wheels), so pip installs there only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.conftest import ControlPlaneProcess, _kill_worker, plane_env
from tests.wheels import installed_version, overlay_venv, write_wheel

PROBE = "berth-probe-pkg"
ECHO = {"model": {"source": "tests.predictors:SlowEcho"}, "device": "cpu"}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneProcess]:
    """One control plane on the overlay venv, pip pointed at a folder with the probe at 1.0 and 1.1."""
    root = tmp_path_factory.mktemp("plane")
    wheels = root / "wheels"
    write_wheel(wheels, PROBE, "1.0")
    write_wheel(wheels, PROBE, "1.1")
    pins = root / "constraints.txt"
    pins.write_text(f"{PROBE}==1.0\n", encoding="utf-8")
    port, home = free_port(), root / "home"
    env = plane_env(home, root / "hf", port, BERTH_CONSTRAINTS=str(pins))
    env |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_NO_CACHE_DIR": "1"}
    control = ControlPlaneProcess(home=home, port=port, env=env, python=str(overlay_venv(root / "venv")))
    try:
        yield control.start()
    finally:
        control.stop()
        for pid in control.recorded_pids():
            _kill_worker(pid)


def deploy(plane: ControlPlaneProcess, spec: dict[str, Any], **params: str) -> dict[str, Any]:
    accepted = plane.api.post("/api/v1/deploy", json=spec, params=params)
    assert accepted.status_code == 202, accepted.text
    return plane.wait_state(spec["name"], "ready", "failed", timeout_s=120)


def messages(plane: ControlPlaneProcess, name: str) -> list[tuple[str, str]]:
    events = plane.api.get(f"/api/v1/deployments/{name}/events").json()
    return [(event["stage"], event["message"]) for event in events]


def test_unmet_requirements_fail_at_validating_and_then_install_on_request(
    plane: ControlPlaneProcess,
) -> None:
    running = deploy(plane, {"name": "echo", **ECHO})
    assert running["state"] == "ready"
    spec = {"name": "needs", **ECHO, "requirements": [f"{PROBE}>=1", "numpy>=1"]}

    failed = deploy(plane, spec)
    assert failed["state"] == "failed"
    assert failed["last_error_code"] == "requirements_unmet"
    assert f"{PROBE}>=1 (not installed)" in failed["last_error"]
    assert "numpy" not in failed["last_error"]  # installed, so not named
    assert f"pip install -c {plane.env['BERTH_CONSTRAINTS']} '{PROBE}>=1'" in failed["last_error"]
    assert "berth deploy --install-requirements" in failed["last_error"]
    assert failed["replicas"] == []  # no worker was started
    stages = [stage for stage, _ in messages(plane, "needs")]
    assert stages[-2:] == ["validating", "failed"]
    assert installed_version(Path(plane.python), PROBE) is None  # nothing installed without the flag
    after = plane.deployment("echo")
    assert after["state"] == "ready"
    assert [r["pid"] for r in after["replicas"]] == [r["pid"] for r in running["replicas"]]
    assert plane.api.post("/api/v1/deployments/echo/inference", json={"inputs": ["hi"]}).json()["result"] == [
        "HI"
    ]

    ready = deploy(plane, spec, replace="true", install_requirements="true")
    assert ready["state"] == "ready", ready["last_error"]
    assert installed_version(Path(plane.python), PROBE) == "1.0"  # 1.1 exists; the constraints pin 1.0
    validating = [message for stage, message in messages(plane, "needs") if stage == "validating"]
    assert any(f"installing {PROBE}>=1 through" in message for message in validating), validating
    assert any(message.startswith("pip: Successfully installed") for message in validating), validating


def test_a_failed_install_is_a_validating_failure_with_pips_error(plane: ControlPlaneProcess) -> None:
    spec = {"name": "newer", **ECHO, "requirements": [f"{PROBE}>=2"]}
    failed = deploy(plane, spec, install_requirements="true")
    assert failed["state"] == "failed"
    assert failed["last_error_code"] == "requirements_unmet"
    assert failed["last_error"].startswith(f"installing {PROBE}>=2 failed: ERROR:")
    assert failed["replicas"] == []
