"""Forecasting serving benchmark: berth's worker serving a random Chronos-Bolt against the raw
`ChronosBoltPipeline.predict_quantiles` at its best batch size, at 1 and 16 clients, in one run.

    .venv/bin/python benchmarks/serve_forecast.py [--duration 20] [--rounds 3] [--concurrency 1,16]
                                                  [--raw-batches 1,4,8,16] [--max-batch-size 16]
                                                  [--smoke] [--json]

Order, one thing at a time so that nothing shares the cores with what is being measured:
  0. a child process saves a random-weight Chronos-Bolt of chronos-bolt-small's shape (raw_chronos.py
     --build; --smoke: a tiny one) to a temp folder;
  1. raw: predict_quantiles on batches of the corpus's series (lengths half to all of the context,
     horizon 64, levels 0.1/0.5/0.9), in a process of its own for the whole run (raw_chronos.py --serve);
  2. berth: `python -m berth.worker SPEC --port P` on that folder, then wrk POSTing one series per
     request (`{"inputs": [series], "parameters": {...}}`) at each concurrency.
Each concurrency is measured in slices that alternate with raw (the worker frozen with SIGSTOP), as
serve.py and serve_image.py do, with their parts (benchmarks/serving/). Target: at 16 clients berth
>= 0.85x the raw pipeline's best batch. Prints a Markdown report (reported, never asserted) and writes
it to artifacts/bench/forecast-latest.{md,json}. `--smoke` runs every phase for a second or so.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

# NOTE: run as a script, this file's folder is sys.path[0]: `serving` and `raw_chronos` import from here.
from raw_chronos import QUANTILE_LEVELS, SHAPES, series
from serving.cpu import renice, wait_for_quiet
from serving.env import ARTIFACTS, BENCH_DIR, ROOT, progress
from serving.load import measure_pass, post_json
from serving.processes import RawBaseline, free_port, running_server, server_env
from serving.results import Pass, ServerRun
from serving.stats import pooled

REPORT = "forecast-latest"
TARGET = 0.85
PAIRED_SECONDS = 1.5
SMOKE = {"duration": 1, "rounds": 1, "warmup": 0.0, "raw_seconds": 0.3, "raw_batches": "1,4"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # NOTE: a batch of 16 series takes ~1.2 s here, so a 5 s slice spends a third of itself refilling
    # the closed loop after each raw interlude; 5 s slices measured 0.68x where 20 s slices measure 0.92x.
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured wrk slice (20)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk slices per concurrency (3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk warm-up per pass (2)")
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="seconds per raw batch size (3)")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated client counts (1,16)")
    parser.add_argument("--raw-batches", default="1,4,8,16", help="raw batch sizes (1,4,8,16)")
    parser.add_argument("--max-batch-size", type=int, default=16, help="berth's batch cap (16)")
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny model, seconds per phase: measures nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of Markdown")
    parser.add_argument("--nice", type=int, default=-10, help="niceness for everything started (-10)")
    parser.add_argument("--berth-python", default=sys.executable, help="python that runs berth.worker")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.raw_batches = sorted({int(b) for b in args.raw_batches.split(",") if b.strip()})
    return args


def bodies(context_length: int, horizon: int) -> list[str]:
    params = {"prediction_length": horizon, "quantile_levels": QUANTILE_LEVELS}
    return [json.dumps({"inputs": [s], "parameters": params}) for s in series(context_length)]


def write_spec(path: Path, folder: Path, max_batch_size: int) -> Path:
    spec = {
        "name": "chronos",
        "model": {"source": str(folder)},
        "device": "cpu",
        "batching": {"max_batch_size": max_batch_size, "max_latency_ms": 10},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def median_diff(url: str, body: str, reference: list[float]) -> float:
    """berth's median forecast of the first series against raw's: the largest absolute difference."""
    result = post_json(url, json.loads(body))["result"][0]
    return max(abs(step[1] - want) for step, want in zip(result["quantiles"], reference, strict=True))


def measure_berth(
    run: ServerRun, raw: RawBaseline, cmd: list[str], port: int, posts: list[str], args: Any
) -> None:
    url = f"http://127.0.0.1:{port}/predict"
    best = args.report["raw"]["best_batch"]
    with running_server("berth-forecast", cmd, "/health/ready", port) as proc:
        run.embedding_max_diff = median_diff(url, posts[0], raw.hello["reference_median"])
        for clients in args.concurrency:
            batches = [1] if clients == 1 else sorted({best, max(args.raw_batches)} - {1})
            raws = [raw.around(proc.pid, batches, (), PAIRED_SECONDS, 2)]
            slices: list[Pass] = []
            for index in range(args.rounds):
                warmup = args.warmup if index == 0 else 0.0
                slices.append(measure_pass(run.name, url, proc.pid, clients, args.duration, warmup, posts))
                raws.append(raw.around(proc.pid, batches, (), PAIRED_SECONDS, 2))
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with code {proc.returncode} during the c={clients} pass")
            result = pooled(slices, raws)
            against = (
                f"{result.over_raw_ms:+.2f} ms over raw batch-1 {result.raw_p50_ms:.1f} ms"
                if clients == 1
                else f"{result.raw_ratio:.2f}x raw {result.raw_rps:.1f}"
            )
            progress(
                f"berth c={clients}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, {against}, errors {result.error_count}"
            )
            run.passes.append(result)


def render(report: dict[str, Any], run: ServerRun) -> str:
    lines = [
        "# Forecasting serving benchmark (Chronos-Bolt)",
        "",
        f"{report['started']}, model shape {report['shape']}, torch {report['raw_about']['torch']} "
        f"({report['raw_about']['torch_threads']} threads), raw best batch {report['raw']['best_batch']} "
        f"at {report['raw']['best_rps']:.1f} series/s",
        "",
        "| clients | berth req/s | p50 ms | p99 ms | raw (same window) | berth / raw | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in run.passes:
        raw = f"batch-1 p50 {p.raw_p50_ms:.1f} ms" if p.clients == 1 else f"{p.raw_rps:.1f} series/s"
        ratio = f"{p.over_raw_ms:+.2f} ms" if p.clients == 1 else f"{p.raw_ratio:.2f}x"
        lines.append(
            f"| {p.clients} | {p.rps:.1f} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | {raw} | {ratio} "
            f"| {p.error_count} |"
        )
    lines.append("")
    if run.embedding_max_diff is not None:
        lines.append(f"berth's median forecast vs raw's: max abs difference {run.embedding_max_diff:.2e}")
    for p in run.passes:
        if p.clients > 1:
            verdict = "PASS" if p.raw_ratio >= TARGET else "FAIL"
            lines.append(f"{verdict}: {p.clients} clients at {p.raw_ratio:.2f}x raw (target >= {TARGET}x)")
    if run.failure:
        lines.append(f"FAIL: berth: {run.failure}")
    return "\n".join(lines) + "\n"


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the servers, as Ctrl-C does
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shape = "smoke" if args.smoke else "small"
    report: dict[str, Any] = {"nice": renice(args.nice), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    report["shape"] = dict(
        zip(("d_model", "d_ff", "heads", "layers", "context", "horizon"), SHAPES[shape], strict=True)
    )
    args.report = report
    run = ServerRun("berth")
    with tempfile.TemporaryDirectory(prefix="berth-bench-chronos-") as tmp:
        folder = Path(tmp) / "chronos-bolt"
        progress(f"saving a random-weight Chronos-Bolt ({shape} shape)")
        build = [sys.executable, str(BENCH_DIR / "raw_chronos.py"), str(folder), "--build"]
        subprocess.run(
            [*build, *(["--smoke"] if args.smoke else [])], env=server_env(), check=True, timeout=300
        )
        *_, context, horizon = SHAPES[shape]
        posts = bodies(context, horizon)
        wait_for_quiet("raw", report)
        progress(f"raw predict_quantiles (batches {', '.join(map(str, args.raw_batches))})")
        raw = RawBaseline("raw_chronos.py", (str(folder),), log_name="raw-chronos")
        try:
            report["raw_about"] = raw.about
            report["raw"] = raw.measure(args.raw_batches, args.raw_seconds, 2)
            port = free_port()
            spec = write_spec(ARTIFACTS / "chronos.yaml", folder, args.max_batch_size)
            cmd = [args.berth_python, "-m", "berth.worker", str(spec), "--port", str(port)]
            wait_for_quiet(run.name, report)
            try:
                measure_berth(run, raw, cmd, port, posts, args)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                run.failure = str(exc)
                progress(f"berth: FAILED: {exc}")
        finally:
            raw.close()
    report["servers"] = [{**asdict(run), "passes": [asdict(p) for p in run.passes]}]
    markdown = render(report, run)
    markdown_path, json_path = ARTIFACTS / f"{REPORT}.md", ARTIFACTS / f"{REPORT}.json"
    markdown_path.write_text(markdown)
    report.pop("args", None)
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str) if args.json else markdown)
    progress(f"written: {markdown_path.relative_to(ROOT)} and {json_path.name}")
    return 1 if run.failure else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped by the `finally` blocks on the way out
        progress("interrupted")
        sys.exit(130)
