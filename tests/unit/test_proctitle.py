"""Process titles: the strings `ps` shows, and reading them back from psutil's padded command lines."""

from __future__ import annotations

import subprocess
import sys

import psutil

from berth import proctitle


def test_the_titles() -> None:
    assert proctitle.control(8000) == "berth control :8000"
    assert proctitle.worker("minilm", 0, 8100) == "berth worker minilm[0] :8100"
    assert proctitle.TEMPLATE == "berth template"


def test_titles_are_read_back_from_a_real_process() -> None:
    title = proctitle.worker("echo-2", 3, 8105)
    code = f"from berth import proctitle; proctitle.set_title({title!r}); print('set', flush=True); input()"
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "set"
        cmdline = psutil.Process(child.pid).cmdline()
        assert "-c" not in cmdline, "the title replaced the command line"
        assert proctitle.of(cmdline) == title
        assert proctitle.parse_worker(cmdline) == ("echo-2", 3, 8105)
        assert not proctitle.is_control_plane(cmdline)
        child.kill()


def test_only_a_control_planes_title_is_one() -> None:
    assert proctitle.is_control_plane(["berth control :8000", "", ""])
    assert not proctitle.is_control_plane(["python", "-m", "berth.control"])
    assert not proctitle.is_control_plane(["berth control :8000 --evil"])
    assert not proctitle.is_control_plane(["vim", "berth control :8000"])
    assert proctitle.parse_worker(["berth template"]) is None
    assert proctitle.parse_worker(["python", "-m", "berth.worker", "spec.json"]) is None
