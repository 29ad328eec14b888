"""The serving benchmark's measurement plan: each server started in turn, and each concurrency measured
in rounds that alternate with the raw baseline (raw, a wrk slice, raw, ..., raw), the server frozen
while raw runs, so that a pass is judged against raw measured seconds before and after it.

These machines drift by 10-25 % within minutes: a baseline from the start of the run misjudged later
passes by that much, and one slice between two raw measurements still moved its ratio by ±0.06 from
run to run.
"""

from __future__ import annotations

import subprocess
import urllib.error
from collections.abc import Callable
from pathlib import Path

import yaml

from corpus import SENTENCES, minilm_path
from serving.cpu import tree_rss_mb, wait_for_quiet
from serving.env import ARTIFACTS, BENCH_DIR, progress
from serving.load import embedding_of, measure_pass, post_json
from serving.options import Args, half
from serving.processes import ensure_litserve_env, free_port, running_server
from serving.results import Pass, ServerRun
from serving.stats import pooled

PAIRED_SECONDS = 1.5  # raw time per batch size between slices
# Between slices raw is measured at every large batch and the best taken: which size is best moves
# with the machine's speed (16, 32 or 64 here), and a single size would flatter a server. The one-client
# pass is compared with batch 1 alone, in twice the rounds of half the length: its target is a latency
# difference of 2 ms on ~15 ms, about the machine's drift over the 10 s that a slice and a raw
# measurement of every size took.
PAIRED_BATCHES = (16, 32, 64)
PAIRED_MIN_CALLS = 10


def measure_server(run: ServerRun, cmd: list[str], ready_path: str, port: int, args: Args) -> None:
    url = f"http://127.0.0.1:{port}/predict"
    raw, best_batch = args.raw, args.report["raw"]["best_batch"]
    assert raw is not None, "main starts the raw baseline before any server"
    wait_for_quiet(run.name, args.report)
    with running_server(run.name, cmd, ready_path, port) as proc:
        embedding = embedding_of(run.name, post_json(url, {"text": SENTENCES[0]}))
        run.embedding_max_diff = max(abs(a - b) for a, b in zip(embedding, raw.reference, strict=True))
        run.rss_ready_mb = tree_rss_mb(proc.pid)
        for clients in args.concurrency:
            one = clients == 1
            batches = [1] if one else sorted({*PAIRED_BATCHES, best_batch})
            lanes = () if one else (args.max_batch_size,)
            rounds, seconds = (2 * args.rounds, half(args.duration)) if one else (args.rounds, args.duration)
            raws = [raw.around(proc.pid, batches, lanes, PAIRED_SECONDS, PAIRED_MIN_CALLS)]
            slices: list[Pass] = []
            for round_index in range(rounds):
                warmup = args.warmup if round_index == 0 else 0.0
                slices.append(measure_pass(run.name, url, proc.pid, clients, seconds, warmup))
                raws.append(raw.around(proc.pid, batches, lanes, PAIRED_SECONDS, PAIRED_MIN_CALLS))
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with code {proc.returncode} during the c={clients} pass")
            result = pooled(slices, raws)
            if one:
                spread = ", ".join(f"{d:+.1f}" for d in result.round_over_ms)
                against = f"{result.over_raw_ms:+.2f} ms over raw batch-1 (rounds {spread})"
            else:
                spread = ", ".join(f"{r:.2f}" for r in result.round_ratios)
                against = f"{result.raw_ratio:.2f}x raw {result.raw_rps:.0f} (rounds {spread})"
            progress(
                f"{run.name} c={clients}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, {against}, errors {result.error_count}, "
                f"server {result.server_cpu:.2f} cores, wrk {result.wrk_cpu:.2f} cores"
            )
            run.passes.append(result)


def write_spec(path: Path, max_batch_size: int) -> Path:
    spec = {
        "name": "minilm",
        "model": {"source": minilm_path()},
        "runtime": "sentence-transformers",
        "task": "feature-extraction",
        "batching": {"max_batch_size": max_batch_size, "max_latency_ms": 10},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def measure_all(args: Args) -> list[ServerRun]:
    runs = [ServerRun("berth")]
    port = free_port()
    spec = write_spec(ARTIFACTS / "minilm.yaml", args.max_batch_size)
    berth_cmd = [args.berth_python, "-m", "berth.worker", str(spec), "--port", str(port)]
    guarded(runs[0], lambda: measure_server(runs[0], berth_cmd, "/health/ready", port, args))
    if not args.skip_litserve:
        runs.append(ServerRun("litserve"))
        port = free_port()
        ls_cmd = [
            *(args.litserve_python, str(BENCH_DIR / "litserve_server.py"), "--port", str(port)),
            *("--max-batch-size", str(args.max_batch_size)),
        ]

        def litserve() -> None:
            ensure_litserve_env(args.litserve_python)
            measure_server(runs[1], ls_cmd, "/health", port, args)

        guarded(runs[1], litserve)
    return runs


def guarded(run: ServerRun, body: Callable[[], None]) -> None:
    """A server that fails is reported as failed; the rest of the run still happens."""
    try:
        body()
    except (RuntimeError, OSError, subprocess.SubprocessError, urllib.error.URLError) as exc:
        run.failure = str(exc)
        progress(f"{run.name}: FAILED: {exc}")
