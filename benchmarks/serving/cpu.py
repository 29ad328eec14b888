"""CPU and memory accounting for the serving benchmark: what a process tree used, what everything else
on the machine took meanwhile, waiting for an idle machine, and the benchmark's own priority.

With 2 cores there is no headroom: anything else running moves results by tens of percent, so every
measurement carries these numbers and a noisy run can be recognised as one.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from typing import Any

import psutil

from serving.env import progress

QUIET_WAIT_S = 20.0  # how long to wait, before each phase, for other processes to finish


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_cpu_s(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def tree_rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def wait_for_quiet(label: str, report: dict[str, Any], limit_s: float = QUIET_WAIT_S) -> None:
    """Waits (up to `limit_s`) for the machine to go idle before a phase, and records how busy it was.

    With 2 cores, anything else running (a test suite, a lingering process) moves results by tens of
    percent; the report carries this number so that a noisy run can be recognised as one.
    """
    for p in psutil.process_iter():  # primes per-process CPU counters for the report of hogs below
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    started = time.monotonic()
    busy = psutil.cpu_percent(interval=1.0)
    while busy > 10 and time.monotonic() - started < limit_s:
        busy = psutil.cpu_percent(interval=1.0)
    report.setdefault("busy_before", {})[label] = busy
    if busy > 10:
        hogs = sorted(
            psutil.process_iter(["pid", "name", "cpu_percent"]), key=lambda p: -(p.info["cpu_percent"] or 0)
        )
        names = ", ".join(f"{p.info['name']}({p.info['pid']})" for p in hogs[:3])
        progress(f"warning: machine {busy:.0f}% busy before {label}; top processes: {names}")


class CpuWatch:
    """CPU cores used over a block, by the whole machine and by the children reaped inside it.

    `machine - children - server` is what anything else on the machine took during a measurement:
    with 2 cores, a test suite or a type checker running beside the benchmark skews it by tens of
    percent, so the report shows it rather than leave a noisy run looking like a regression.
    """

    machine = children = wall = 0.0

    def __enter__(self) -> CpuWatch:
        self._machine, self._children = busy_cpu_s(), children_cpu_s()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = max(time.monotonic() - self._t0, 1e-9)
        self.machine = (busy_cpu_s() - self._machine) / self.wall
        self.children = (children_cpu_s() - self._children) / self.wall


def busy_cpu_s() -> float:
    t = psutil.cpu_times()  # on Linux guest time is already inside user; steal is not ours
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


def children_cpu_s() -> float:
    """CPU seconds of this process's waited-for children: a finished wrk or raw_encode.py run."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def renice(delta: int) -> int:
    """Raises the benchmark's CPU priority; every process it starts inherits it.

    All measured parties (raw, berth, LitServe, wrk) get the same niceness, so the comparison stays
    fair, while a test suite that someone starts on the same 2 cores mid-run gets a small share
    instead of half the machine. Without root a negative delta is refused and the run goes on as is.
    """
    if delta:
        try:
            os.nice(delta)
        except PermissionError:
            progress(f"note: cannot renice by {delta} (not root); other processes may skew results")
    return os.nice(0)
