"""The image benchmark's measurement plan: berth's worker serving the ViT predictor, JPEG uploads at
each concurrency in rounds that alternate with the raw pipeline (raw, a wrk slice, raw, ..., raw),
the worker frozen while raw runs, as the text benchmark does (`serving.rounds`).

Only the worker is measured: the control plane's proxy adds the same few hundred microseconds to any
body, and the text benchmark's `control.py` measures it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from serving.cpu import tree_rss_mb, wait_for_quiet
from serving.env import progress
from serving.image_options import ImageArgs
from serving.image_stats import decode_ms, decoded_rps, image_pooled, top5_diff
from serving.load import measure_pass
from serving.options import half
from serving.processes import running_server
from serving.results import Pass, ServerRun

# Between slices raw runs the largest two of --raw-batches (8 and 16 by default; a batch of 16 takes
# ~1 s here) and the start's best, and the best mean over the window is the baseline (serving.stats).
PAIRED_SECONDS = 1.5
PAIRED_MIN_CALLS = 2
PREDICTOR = "benchmarks.vit_predictor:ViTClassifier"  # importable: the worker runs from the repository root


@dataclass
class ImageRun(ServerRun):
    top5_max_diff: float | None = None  # berth's top 5 for the first JPEG against the raw pipeline's
    decoded_rps: dict[int, float] = field(default_factory=dict)  # clients -> raw on decoded images
    decode_ms: dict[int, float] = field(default_factory=dict)  # clients -> decode p50 over the window


def paired_batches(raw_batches: list[int], best_batch: int) -> list[int]:
    """The raw batch sizes measured between slices: the largest two above 1, and the start's best."""
    return sorted({*sorted(b for b in raw_batches if b > 1)[-2:], best_batch} - {1})


def write_spec(path: Path, vit_folder: Path, max_batch_size: int, task: str = "image-classification") -> Path:
    """The ViT as a Python predictor; a detector as its folder, on berth's own transformers runtime."""
    batching = {"max_batch_size": max_batch_size, "max_latency_ms": 10}
    spec: dict[str, Any] = {
        "name": "vit",
        "model": {"source": PREDICTOR},
        "env": {"BERTH_BENCH_VIT": str(vit_folder)},
        "batching": batching,
    }
    if task == "object-detection":
        spec = {"name": "detr", "model": {"source": str(vit_folder)}, "batching": batching}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def wrk_bodies(jpegs: list[Path]) -> list[str]:
    """wrk_post.lua's arguments: raw JPEG bodies, as `curl --data-binary @cat.jpg` sends them."""
    return ["content-type=image/jpeg", *(f"@{path}" for path in jpegs)]


def post_jpeg(url: str, data: bytes) -> list[dict[str, Any]]:
    """berth's top 5 for one JPEG; raises if the answer is not the documented shape."""
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "image/jpeg"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        payload = json.loads(resp.read())
    ok = isinstance(payload, dict) and payload.get("status") == "success"
    result = payload.get("result") if ok else None
    if not isinstance(result, list) or len(result) != 1:
        raise RuntimeError(f"unexpected berth response: {str(payload)[:300]}")
    top5: list[dict[str, Any]] = result[0]
    return top5


def served_items(metrics_url: str) -> float:
    """How many inputs the worker has predicted so far (its batch-size histogram's sum)."""
    with urllib.request.urlopen(metrics_url, timeout=10) as resp:
        text = resp.read().decode()
    match = re.search(r"^berth_batch_size_sum\S* ([0-9.e+]+)$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError("the worker's /metrics has no berth_batch_size_sum")
    return float(match.group(1))


def measure_steady(
    name: str, url: str, pid: int, clients: int, seconds: float, warmup: float, bodies: list[str]
) -> Pass:
    """One wrk run of warm-up + `seconds` + a tail; throughput counted by the worker over `seconds` alone.

    NOTE: at 32 clients one request takes ~2 s (two batches of 16 at ~1 s each). wrk's own rate over a
    5 s run then counts the empty pipeline at its start and drops what is in flight at its end (0.52x
    where the same worker under a steady load did 0.97x), so the rate is read from the worker's counter
    between two instants inside the run, when the pipeline is full; wrk still gives latency and errors.
    """
    metrics_url = url.rsplit("/", 1)[0] + "/metrics"
    warmup = max(warmup, 3.0)  # two ~1 s batches to fill the pipeline, after a freeze while raw ran
    tail = float(max(2, round(seconds / 2)))  # wrk takes whole seconds: warm-up + window + tail is whole
    warmup = float(round(warmup))
    outcome: dict[str, Pass] = {}

    def load() -> None:
        outcome["pass"] = measure_pass(name, url, pid, clients, warmup + seconds + tail, 0.0, bodies)

    thread = threading.Thread(target=load, name="wrk")
    thread.start()
    time.sleep(warmup)
    start_items, started = served_items(metrics_url), time.perf_counter()
    time.sleep(seconds)
    items, window = served_items(metrics_url) - start_items, time.perf_counter() - started
    thread.join()
    return dataclasses.replace(outcome["pass"], rps=items / window, seconds=window)


def measure_berth(run: ImageRun, cmd: list[str], port: int, jpegs: list[Path], args: ImageArgs) -> None:
    url = f"http://127.0.0.1:{port}/predict"
    raw, best_batch = args.raw, args.report["raw"]["best_batch"]
    assert raw is not None, "main starts the raw baseline before any server"
    bodies = wrk_bodies(jpegs)
    wait_for_quiet(run.name, args.report)
    with running_server("berth-image", cmd, "/health/ready", port) as proc:
        run.top5_max_diff = top5_diff(post_jpeg(url, jpegs[0].read_bytes()), raw.hello["reference_top5"])
        run.rss_ready_mb = tree_rss_mb(proc.pid)
        for clients in args.concurrency:
            one = clients == 1
            batches = [1] if one else paired_batches(args.raw_batches, best_batch)
            rounds, seconds = (2 * args.rounds, half(args.duration)) if one else (args.rounds, args.duration)
            raws = [raw.around(proc.pid, batches, (), PAIRED_SECONDS, PAIRED_MIN_CALLS)]
            slices: list[Pass] = []
            for round_index in range(rounds):
                if one:  # latency: one request in flight, no pipeline to fill
                    warmup = args.warmup if round_index == 0 else 0.0
                    slices.append(measure_pass(run.name, url, proc.pid, clients, seconds, warmup, bodies))
                else:
                    slices.append(
                        measure_steady(run.name, url, proc.pid, clients, seconds, args.warmup, bodies)
                    )
                raws.append(raw.around(proc.pid, batches, (), PAIRED_SECONDS, PAIRED_MIN_CALLS))
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with code {proc.returncode} during the c={clients} pass")
            result = image_pooled(slices, raws)
            run.decode_ms[clients] = decode_ms(raws)
            if one:
                against = f"{result.over_raw_ms:+.2f} ms over raw batch-1 + decode {result.raw_p50_ms:.1f} ms"
            else:
                run.decoded_rps[clients] = decoded_rps(raws)
                against = f"{result.raw_ratio:.2f}x raw {result.raw_rps:.1f}"
            progress(
                f"{run.name} c={clients}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, {against}, errors {result.error_count}, "
                f"server {result.server_cpu:.2f} cores"
            )
            run.passes.append(result)
