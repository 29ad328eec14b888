"""Process control for the serving benchmark: starting a server (berth's worker or LitServe) in a
process group of its own, waiting until it is ready, stopping it with everything it started; and the
raw model process (`benchmarks/raw_encode.py --serve`), up for the whole run and measured on request
while a server's process group is frozen.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from serving.cpu import CpuWatch, tree, tree_cpu_s
from serving.env import ARTIFACTS, BENCH_DIR, ROOT, progress

READY_TIMEOUT_S = 120.0


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1; the server binds it a moment later."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    # Offline: the model folder is complete and no hub is reachable; a lookup would only add latency.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stops a server and every process it started, and waits until they are all gone.

    LitServe forks an inference process and API processes; one of them still burning CPU while the
    next measurement starts would be charged to that measurement.
    """
    try:
        procs = tree(proc.pid)
    except psutil.NoSuchProcess:
        procs = []
    # start_new_session=True made the server's PID its process-group id: this signal reaches its
    # children and nothing else.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGCONT)  # a frozen server handles its SIGTERM only once running
    _, alive = psutil.wait_procs(procs, timeout=15)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def log_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> float:
    """Polls `url` until it answers 200; returns seconds from start. Fails fast if the process dies."""
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before ready:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(log)}")


@contextlib.contextmanager
def running_server(
    name: str, cmd: list[str], ready_path: str, port: int, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Starts a server (`extra_env` added to its environment), waits for readiness, and always stops it."""
    log = ARTIFACTS / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**server_env(), **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        took = wait_ready(f"http://127.0.0.1:{port}{ready_path}", proc, log)
        progress(f"{name}: ready in {took:.1f} s (pid {proc.pid}, log {log.relative_to(ROOT)})")
        yield proc
    finally:
        stop_group(proc)


def ensure_litserve_env(python: str) -> None:
    """LitServe lives in its own venv so that it can never leak into the project's dependencies."""
    if Path(python).exists():
        return
    progress("creating .venv-bench for LitServe (once, ~2 min): scripts/bench-env.sh")
    subprocess.run(["bash", str(ROOT / "scripts" / "bench-env.sh")], check=True, timeout=900)


class RawBaseline:
    """benchmarks/raw_encode.py --serve: the model loaded once, measured on request for the whole run.

    `script` and `args` name another raw process that speaks the same protocol (`raw_vit.py`, the
    image benchmark's); `hello` is its first line, what it says about itself once loaded.
    """

    def __init__(
        self, script: str = "raw_encode.py", args: tuple[str, ...] = (), log_name: str = "raw"
    ) -> None:
        cmd = [sys.executable, str(BENCH_DIR / script), *args, "--serve"]
        self.script, self.log = script, ARTIFACTS / "logs" / f"{log_name}.log"
        log = self.log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                cmd, env=server_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
            )
        self.hello = hello = self._answer()
        self.reference: list[float] = hello.get("reference_embedding", [])
        self.about = {"torch": hello["torch"], "torch_threads": hello["torch_threads"]}

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.script} exited:\n{log_tail(self.log)}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def measure(
        self, batches: list[int], seconds: float, min_calls: int = 20, lanes: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        assert self.proc.stdin is not None
        cpu_before = tree_cpu_s(self.proc.pid)
        ask = {"batches": batches, "seconds": seconds, "min_calls": min_calls, "lanes": lanes}
        with CpuWatch() as watch:
            self.proc.stdin.write(json.dumps(ask))
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            result = self._answer()
        raw_cpu = (tree_cpu_s(self.proc.pid) - cpu_before) / watch.wall
        result["other_cpu"] = max(0.0, watch.machine - raw_cpu)
        return result

    def around(
        self, server_pid: int, batches: list[int], lanes: tuple[int, ...], seconds: float, min_calls: int
    ) -> dict[str, Any]:
        """`batches` (and `lanes`) now, with the server's process group frozen meanwhile.

        SIGSTOP on the group: neither the server nor raw takes the other's CPU.
        """
        os.killpg(server_pid, signal.SIGSTOP)
        try:
            return self.measure(batches, seconds, min_calls, lanes)
        finally:
            os.killpg(server_pid, signal.SIGCONT)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
