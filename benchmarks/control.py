"""Control-plane benchmark: cached re-deploy time, `berth ls` latency, and the proxy's added latency.

    .venv/bin/python benchmarks/control.py [--deploys 5] [--requests 400] [--json]

One run, about a minute, against a real control plane (`python -m berth.control`) on a free loopback
port with a temporary BERTH_HOME, serving the real all-MiniLM-L6-v2 folder (already on disk, so a
deploy is a cached deploy: validate, load, warm up, listen). Each figure comes with a baseline measured
in the same run, because these machines are noisy:
  1. re-deploy: POST /api/v1/deploy?replace=true → state ready, wall time, median of N; baseline: a
     stand-alone `python -m berth.worker SPEC` from exec to /health/ready (a cold process).
  2. `berth ls`: the CLI process end to end, median of N; baseline: `python -c pass`.
  3. proxy: POST /api/v1/deployments/NAME/inference vs the worker's /predict, interleaved request by
     request on keep-alive connections, p50 of each; for MiniLM and for a trivial Python predictor.
Targets are printed as PASS/FAIL lines, never asserted; results go to
artifacts/bench/control-latest.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from corpus import SENTENCES, minilm_path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "bench"
PYTHON = sys.executable
BERTH = str(Path(PYTHON).with_name("berth"))

TARGET_REDEPLOY_S = 3.0
TARGET_LS_S = 0.300
TARGET_PROXY_OVERHEAD_MS = 1.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout_s: float = 120, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{url} did not answer within {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def standalone_worker_s(spec_file: Path, env: dict[str, str]) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "berth.worker", str(spec_file), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", process=process)
        return time.perf_counter() - started
    finally:
        stop(process)


def redeploy_s(api: httpx.Client, spec: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = api.post("/api/v1/deploy", params={"replace": "true"}, json=spec)
    response.raise_for_status()
    while True:
        state = api.get(f"/api/v1/deployments/{spec['name']}").json()["state"]
        if state == "ready":
            return time.perf_counter() - started
        if state == "failed":
            raise SystemExit(f"deploy failed: {api.get('/api/v1/deployments/' + spec['name']).text}")
        time.sleep(0.01)


def command_s(command: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved_p50_ms(calls: dict[str, Callable[[str], httpx.Response]], requests: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range(requests):
        text = SENTENCES[index % len(SENTENCES)]
        for name, call in calls.items():
            started = time.perf_counter()
            call(text).raise_for_status()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values[len(values) // 10 :]) for name, values in samples.items()}


def proxy_overhead(
    api: httpx.Client, name: str, requests: int, body: Callable[[str], Any]
) -> dict[str, float]:
    endpoint = api.get(f"/api/v1/deployments/{name}").json()["endpoint"]
    with httpx.Client(timeout=30) as direct:
        calls = {
            "direct": lambda text: direct.post(f"{endpoint}/predict", json=body(text)),
            "proxied": lambda text: api.post(f"/api/v1/deployments/{name}/inference", json=body(text)),
        }
        p50 = interleaved_p50_ms(calls, requests)
    return {**p50, "overhead": p50["proxied"] - p50["direct"]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deploys", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--ls-runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BERTH_")},
        "BERTH_HOME": str(home / "home"),
        "BERTH_PORT": str(port),
        "BERTH_URL": f"http://127.0.0.1:{port}",
        "HF_HOME": str(home / "hf"),
        "HF_HUB_OFFLINE": "1",
    }
    spec = {"name": "minilm", "model": {"source": str(minilm_path())}}
    spec_file = home / "minilm.json"
    spec_file.write_text(json.dumps(spec))
    results: dict[str, Any] = {}
    with (home / "cp.log").open("wb") as log:
        control = subprocess.Popen(
            [PYTHON, "-m", "berth.control"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", process=control)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as api:
            redeploy_s(api, spec)  # the first deploy warms the page cache and any template process
            deploys = [redeploy_s(api, spec) for _ in range(args.deploys)]
            baseline = statistics.median(standalone_worker_s(spec_file, env) for _ in range(3))
            results["redeploy"] = {
                "median_s": statistics.median(deploys),
                "runs_s": deploys,
                "cold_worker_s": baseline,
            }

            have_cli = shutil.which(BERTH) is not None
            ls = command_s([BERTH, "ls"], env, args.ls_runs) if have_cli else float("nan")
            python = command_s([PYTHON, "-c", "pass"], env, args.ls_runs)
            results["ls"] = {"median_s": ls, "python_startup_s": python}

            results["proxy_minilm"] = proxy_overhead(api, "minilm", args.requests, lambda t: {"text": t})
            echo = {"name": "echo", "model": {"source": "tests.predictors:SlowEcho"}}
            redeploy_s(api, echo)
            results["proxy_echo"] = proxy_overhead(api, "echo", args.requests * 2, lambda t: {"inputs": [t]})
    finally:
        stop(control)
        shutil.rmtree(home, ignore_errors=True)

    report = render(results)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "control-latest.md").write_text(report)
    (ARTIFACTS / "control-latest.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2) if args.json else report)
    return 0


def render(results: dict[str, Any]) -> str:
    redeploy, ls = results["redeploy"], results["ls"]
    minilm, echo = results["proxy_minilm"], results["proxy_echo"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    ok_redeploy = redeploy["median_s"] < TARGET_REDEPLOY_S
    ok_ls = ls["median_s"] < TARGET_LS_S
    ok_proxy = max(minilm["overhead"], echo["overhead"]) < TARGET_PROXY_OVERHEAD_MS
    runs = ", ".join(f"{s:.2f}" for s in redeploy["runs_s"])
    lines = [
        "| measure | berth | baseline (same run) | ratio or difference |",
        "|---|---|---|---|",
        f"| cached re-deploy to ready | {redeploy['median_s']:.2f} s "
        f"| cold worker {redeploy['cold_worker_s']:.2f} s "
        f"| {redeploy['median_s'] / redeploy['cold_worker_s']:.2f}x |",
        f"| `berth ls` | {ls['median_s'] * 1000:.0f} ms "
        f"| `python -c pass` {ls['python_startup_s'] * 1000:.0f} ms "
        f"| {ls['median_s'] / ls['python_startup_s']:.1f}x |",
        f"| proxy p50, MiniLM | {minilm['proxied']:.2f} ms | direct {minilm['direct']:.2f} ms "
        f"| +{minilm['overhead']:.2f} ms |",
        f"| proxy p50, echo predictor | {echo['proxied']:.2f} ms | direct {echo['direct']:.2f} ms "
        f"| +{echo['overhead']:.2f} ms |",
        "",
        f"{verdict(ok_redeploy)} cached re-deploy under {TARGET_REDEPLOY_S:.0f} s "
        f"({redeploy['median_s']:.2f} s; runs {runs})",
        f"{verdict(ok_ls)} `berth ls` under {TARGET_LS_S * 1000:.0f} ms ({ls['median_s'] * 1000:.0f} ms)",
        f"{verdict(ok_proxy)} proxy adds under {TARGET_PROXY_OVERHEAD_MS} ms p50 "
        f"(MiniLM +{minilm['overhead']:.2f}, echo +{echo['overhead']:.2f})",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
