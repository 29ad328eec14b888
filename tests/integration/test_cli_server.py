"""`berth down` stops its BERTH_HOME's control plane however it was started, here `berth up` in a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.integration.conftest import worker_port_range
from tests.integration.test_cli import berth

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("BERTH_")}
    return {
        **inherited,
        "BERTH_HOME": str(tmp_path / "home"),
        "BERTH_PORT": str(free_port()),
        "BERTH_WORKER_PORTS": worker_port_range(),
        "BERTH_PRELOAD_WORKERS": "false",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture
def foreground(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`berth up` without -d, as typed in a terminal: it becomes the control plane (exec, same pid)."""
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "berth.cli", "up"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{env['BERTH_PORT']}/health/ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        assert process.poll() is None, (tmp_path / "up.log").read_text()
        yield process
    finally:
        if process.poll() is None:  # the test failed before `berth down`: do not leave it running
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        log.close()


def test_down_stops_a_control_plane_started_in_the_foreground(
    foreground: subprocess.Popen[bytes], env: dict[str, str], tmp_path: Path
) -> None:
    pidfile = Path(env["BERTH_HOME"]) / "berth.pid"
    record = json.loads(pidfile.read_text())
    assert record["pid"] == foreground.pid  # the control plane recorded itself; nobody wrote it for it
    assert record["port"] == int(env["BERTH_PORT"])

    again = berth(env, "up", "-d", cwd=tmp_path, timeout=60)
    assert again.returncode == 4, again.stdout + again.stderr
    assert f"pid {foreground.pid}" in again.stderr
    second = berth({**env, "BERTH_PORT": str(free_port())}, "up", cwd=tmp_path, timeout=60)  # another port
    assert second.returncode == 4, second.stdout + second.stderr
    assert f"already running for this BERTH_HOME (pid {foreground.pid}" in second.stderr

    down = berth(env, "down", cwd=tmp_path, timeout=60)
    assert down.returncode == 0, down.stderr
    assert f"stopped the control plane (pid {foreground.pid}" in down.stdout
    assert foreground.wait(timeout=5) == 0, "drained and exited cleanly, not killed"
    assert not pidfile.exists()

    after = berth(env, "down", cwd=tmp_path, timeout=60)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == f"no control plane is running for BERTH_HOME {env['BERTH_HOME']}"


def test_down_ignores_a_record_left_by_a_killed_control_plane(
    foreground: subprocess.Popen[bytes], env: dict[str, str], tmp_path: Path
) -> None:
    pidfile = Path(env["BERTH_HOME"]) / "berth.pid"
    foreground.kill()  # kill -9: no clean-up, the record stays behind
    foreground.wait()
    assert pidfile.exists()
    assert not psutil.pid_exists(foreground.pid)

    down = berth(env, "down", cwd=tmp_path, timeout=60)
    assert down.returncode == 0, down.stderr
    assert "no control plane is running" in down.stdout
    assert not pidfile.exists(), "a stale record is removed"
