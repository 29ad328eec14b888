"""`BERTH_HOME/berth.pid`: a live control plane is found, anything else is stale and removed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from berth import pidfile

# a stand-in control plane: names itself as one and records itself, as `python -m berth.control` does
PRETEND_CONTROL_PLANE = """
import sys, time
from pathlib import Path
from berth import pidfile, proctitle
proctitle.set_title(proctitle.control(8123))
pidfile.write(Path(sys.argv[1]), "127.0.0.1", 8123)
print("recorded", flush=True)
time.sleep(60)
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", PRETEND_CONTROL_PLANE, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "recorded"
    yield process
    process.kill()
    process.wait()
    process.stdout.close()


def test_a_running_control_plane_is_found(live: subprocess.Popen[str], tmp_path: Path) -> None:
    record = pidfile.running(tmp_path)
    assert record is not None
    assert (record.pid, record.port, record.host) == (live.pid, 8123, "127.0.0.1")
    assert pidfile.alive(record)


def test_once_it_is_gone_its_record_is_stale(live: subprocess.Popen[str], tmp_path: Path) -> None:
    record = pidfile.running(tmp_path)
    assert record is not None
    live.kill()
    live.wait()
    assert not pidfile.alive(record)
    assert pidfile.running(tmp_path) is None
    assert not pidfile.path(tmp_path).exists()


def test_a_reused_pid_is_not_the_control_plane(live: subprocess.Popen[str], tmp_path: Path) -> None:
    record = pidfile.running(tmp_path)
    assert record is not None
    # the same pid and title, but a process that started at another time: the pid was reused
    reused = record.model_copy(update={"started": record.started - 5})
    pidfile.path(tmp_path).write_text(reused.model_dump_json())
    assert pidfile.running(tmp_path) is None
    assert not pidfile.path(tmp_path).exists()


def test_a_live_process_that_is_not_a_control_plane_is_stale(tmp_path: Path) -> None:
    this = pidfile.ControlPlaneRecord(
        pid=os.getpid(), port=8000, host="127.0.0.1", started=psutil.Process().create_time()
    )  # alive, with the right start time, but pytest's title
    pidfile.path(tmp_path).write_text(this.model_dump_json())
    assert pidfile.running(tmp_path) is None
    assert not pidfile.path(tmp_path).exists()


@pytest.mark.parametrize("content", ["12345\n", "not a record", '{"pid": 1}'])
def test_an_unreadable_record_is_removed(tmp_path: Path, content: str) -> None:
    pidfile.path(tmp_path).write_text(content)
    assert pidfile.running(tmp_path) is None
    assert not pidfile.path(tmp_path).exists()


def test_no_record_means_no_control_plane(tmp_path: Path) -> None:
    assert pidfile.running(tmp_path / "never-started") is None


def test_remove_leaves_another_control_planes_record(tmp_path: Path) -> None:
    mine = pidfile.write(tmp_path, "127.0.0.1", 8000)
    theirs = mine.model_copy(update={"pid": mine.pid + 1})
    pidfile.remove(tmp_path, theirs)
    assert pidfile.path(tmp_path).exists()
    pidfile.remove(tmp_path, mine)
    assert not pidfile.path(tmp_path).exists()
