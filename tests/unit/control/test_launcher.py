"""Worker handles on real child processes: adoption by pid and start time, and stopping with grace."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import anyio
import psutil
import pytest

from berth.control.launcher import NO_PROCESS, WorkerHandle, adopt

pytestmark = pytest.mark.anyio

SLEEPER = "import time; time.sleep(60)"
STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)

Spawn = Callable[[str], subprocess.Popen[bytes]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start `python -c CODE` children; each is killed and reaped after the test."""
    children: list[subprocess.Popen[bytes]] = []

    def start(code: str) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def handle_of(child: subprocess.Popen[bytes], *, ours: bool = True) -> WorkerHandle:
    started = psutil.Process(child.pid).create_time()
    return WorkerHandle(pid=child.pid, process_started=started, popen=child if ours else None)


# adoption


def test_adopt_takes_the_very_process_that_was_recorded(spawn: Spawn) -> None:
    child = spawn(SLEEPER)
    started = psutil.Process(child.pid).create_time()
    handle = adopt(child.pid, started)
    assert handle is not None
    assert (handle.pid, handle.process_started, handle.popen) == (child.pid, started, None)
    assert handle.alive()
    assert handle.exit_code() is None, "not our child: its exit status is unknown"


def test_adopt_refuses_a_reused_pid(spawn: Spawn) -> None:
    child = spawn(SLEEPER)
    started = psutil.Process(child.pid).create_time()
    assert adopt(child.pid, started - 5) is None, "same pid, another process's start time"
    assert adopt(child.pid, started + 0.5) is None


def test_adopt_refuses_a_dead_or_zombie_pid(spawn: Spawn) -> None:
    child = spawn("pass")
    started = psutil.Process(child.pid).create_time()
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert adopt(child.pid, started) is None, "exited but not yet reaped"
    child.wait()
    assert adopt(child.pid, started) is None, "gone"


def test_adopt_without_a_record() -> None:
    assert adopt(None, None) is None
    assert adopt(12345, None) is None
    assert adopt(None, 1.0) is None


# stopping


async def test_stop_ends_a_child_with_sigterm_within_grace(spawn: Spawn) -> None:
    handle = handle_of(spawn(SLEEPER))
    assert handle.alive()
    began = time.monotonic()
    await handle.stop(grace_s=5)
    assert time.monotonic() - began < 4, "SIGTERM was enough; the grace was not waited out"
    assert not handle.alive()
    assert handle.exit_code() == -signal.SIGTERM


async def test_stop_kills_a_child_that_ignores_sigterm_after_grace(spawn: Spawn) -> None:
    child = spawn(STUBBORN)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    handle = handle_of(child)
    began = time.monotonic()
    with anyio.fail_after(10):
        await handle.stop(grace_s=0.3)
    assert 0.3 <= time.monotonic() - began < 5
    assert not handle.alive()
    assert handle.exit_code() == -signal.SIGKILL


async def test_stop_ends_an_adopted_worker_by_polling(spawn: Spawn) -> None:
    child = spawn(SLEEPER)
    handle = handle_of(child, ours=False)
    await handle.stop(grace_s=5)
    assert child.wait(timeout=5) == -signal.SIGTERM
    assert not handle.alive()


async def test_stop_on_an_exited_child_is_a_no_op(spawn: Spawn) -> None:
    child = spawn("raise SystemExit(3)")
    child.wait()
    handle = WorkerHandle(pid=child.pid, process_started=0.0, popen=child)
    await handle.stop(grace_s=0.1)
    assert handle.exit_code() == 3


def test_kill_ends_and_reaps_a_child(spawn: Spawn) -> None:
    handle = handle_of(spawn(SLEEPER))
    handle.kill()
    assert handle.exit_code() == -signal.SIGKILL
    handle.kill()  # twice is harmless


async def test_a_handle_without_a_process_is_never_alive_and_never_signals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr("berth.control.launcher.os.kill", lambda pid, signum: sent.append((pid, signum)))
    for handle in (
        NO_PROCESS,
        WorkerHandle(pid=-1, process_started=0.0),
        WorkerHandle(pid=0, process_started=0.0),
    ):
        assert not handle.alive()
        assert handle.exit_code() is None
        await handle.stop(grace_s=0.1)
        handle.kill()
        handle._signal(signal.SIGKILL)  # even asked directly: -1 would signal every process we may
    assert sent == []
