"""Generation serving benchmark: berth's engine against berth's previous worker, `transformers serve
--continuous-batching` and raw `model.generate`, on one random ~19 M-parameter Llama, in one run;
with llama-cpp-python installed, also berth's llama-cpp runtime on a GGUF file of the same shape.

    .venv/bin/python benchmarks/generate.py [--seconds 10] [--rounds 2] [--concurrency 1,4,16]
                                            [--contenders berth,prev,serve,raw,gguf] [--quick] [--json]

Order:
  0. a child process saves the model (`tests.tiny_models.build_llama`, hidden 256, 4 layers, vocab
     32,000) into a temp folder, and `build_gguf` the same shape as an F16 GGUF (for `gguf`);
  1. raw: `model.generate` on static batches of the uniform prompts, in a process of its own for the
     whole run (raw_generate.py --serve);
  2. the servers, all started at once and each frozen except during its own slices: berth's worker
     (spec `generation: {max_concurrent_sequences: 32}`), the same worker at the commit before its
     engine (a git worktree, PYTHONPATH), and `transformers serve` with its KV cache capped at berth's
     token budget; one unmeasured warm slice each;
  3. for each workload (uniform, mixed) and client count (1, 4, 16): rounds of one slice per
     contender, in rotating order; for uniform, raw at a static batch of the client count before the
     first round and after each one (everything frozen);
  4. berth's outputs checked against each request's solo output (greedy: they must be equal).
Closed-loop clients on the `openai` async client; tokens/s from the servers' usage counts, pro-rated
over each slice's window (serving/generate_stats.py). Prints a Markdown report with the targets'
ratio lines (reported, never asserted) and writes it to artifacts/bench/generate-latest.{md,json}.
About 16 minutes with the defaults on 2 cores; `--quick` runs 1 and 4 clients in 2 s slices.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

# NOTE: run as a script, this file's folder is sys.path[0]: `serving`, `generate_corpus` import from here.
from generate_corpus import MODEL_SHAPE, UNIFORM_MAX_TOKENS, load_tokenizer, mixed_pool, uniform_prompts
from serving.cpu import renice, tree_rss_mb, wait_for_quiet
from serving.env import ARTIFACTS, BENCH_DIR, ROOT, progress
from serving.generate_report import render
from serving.generate_rounds import Plan, measure_all, solo_outputs
from serving.generate_servers import contenders, freeze, gguf_path, kv_tokens
from serving.generate_stats import greedy_mismatches
from serving.processes import RawBaseline, running_server, server_env

REPORT = "generate-latest"
CONTENDERS = ("berth", "prev", "serve", "raw", "gguf")
QUICK = {"seconds": 2.0, "rounds": 1, "warmup": 0.5, "raw_seconds": 0.5, "concurrency": "1,4"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per slice (10)")
    parser.add_argument("--rounds", type=int, default=2, help="slices per contender and cell (2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds opening each slice (2)")
    parser.add_argument("--raw-seconds", type=float, default=2.0, help="seconds per raw measurement (2)")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated client counts (1,4,16)")
    parser.add_argument("--workloads", default="uniform,mixed", help="uniform, mixed or both (both)")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="any of berth,prev,serve,raw,gguf (all; gguf where llama-cpp-python is installed)",
    )
    parser.add_argument("--max-sequences", type=int, default=32, help="berth's max_concurrent_sequences (32)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 and 4 clients (unless --concurrency), one 2 s slice each: proves it runs",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of Markdown")
    parser.add_argument("--nice", type=int, default=-10, help="niceness for everything started (-10)")
    parser.add_argument("--berth-python", default=sys.executable, help="python that runs both berth workers")
    parser.add_argument("--serve-python", default=sys.executable, help="python with transformers[serving]")
    args = parser.parse_args()
    if args.quick:  # shorter everything, except what the command line sets
        for key, value in QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    args.workloads = [w for w in args.workloads.split(",") if w.strip()]
    args.contenders = [c for c in args.contenders.split(",") if c.strip()]
    unknown = sorted({*args.workloads} - {"uniform", "mixed"}) + sorted({*args.contenders} - {*CONTENDERS})
    if unknown:
        parser.error(f"unknown workload or contender {unknown[0]!r}")
    if "gguf" in args.contenders and not has_llama_cpp(args.berth_python):
        if args.contenders != list(CONTENDERS):
            parser.error(f"contender gguf needs llama-cpp-python in {args.berth_python}: make llama-cpp")
        progress("llama-cpp-python is not installed: the gguf contender is left out (make llama-cpp)")
        args.contenders.remove("gguf")
    return args


def has_llama_cpp(python: str) -> bool:
    found = subprocess.run([python, "-c", "import llama_cpp, gguf"], capture_output=True, timeout=120)
    return found.returncode == 0


def build_model(folder: Path, gguf: bool) -> None:
    progress(f"saving the random Llama ({MODEL_SHAPE}) to {folder}")
    build = [sys.executable, str(BENCH_DIR / "raw_generate.py"), str(folder), "--build"]
    subprocess.run(build, env=server_env(), check=True, timeout=300)
    if gguf:
        progress(f"saving the same shape as a GGUF file, {gguf_path(folder).name}")
        subprocess.run(
            [*build[:-1], "--build-gguf", str(gguf_path(folder))], env=server_env(), check=True, timeout=300
        )


def run(args: argparse.Namespace, folder: Path, report: dict[str, Any]) -> Plan:
    tokenizer = load_tokenizer(folder)
    found = contenders(args.contenders, folder, args.berth_python, args.serve_python, args.max_sequences)
    raw = None
    with contextlib.ExitStack() as stack:
        if "raw" in args.contenders:
            wait_for_quiet("raw", report)
            raw = RawBaseline("raw_generate.py", (str(folder),), log_name="raw-generate")
            stack.callback(raw.close)
            report["raw_about"] = {**raw.about, "prompt_tokens": raw.hello["prompt_tokens"]}
        procs = {}
        for contender in found:  # one at a time: start-up is CPU-bound
            name = f"generate-{contender.name}"
            server = running_server(
                name, contender.cmd, contender.ready_path, contender.port, contender.extra_env
            )
            try:
                proc = stack.enter_context(server)
            except RuntimeError as exc:  # reported as failed; the others are still measured
                contender.failure = f"did not start: {exc}"
                progress(f"{contender.name}: FAILED: {contender.failure}")
                continue
            contender.pid, procs[contender.name] = proc.pid, proc
            contender.peak_rss_mb = tree_rss_mb(proc.pid)
            freeze(contender)
        plan = Plan(
            seconds=args.seconds,
            rounds=max(1, args.rounds),
            warmup=args.warmup,
            raw_seconds=args.raw_seconds,
            concurrency=args.concurrency,
            workloads=args.workloads,
            contenders=found,
            procs=procs,
            raw=raw,
            tokenizer=tokenizer,
            uniform=uniform_prompts(tokenizer),
            pool=mixed_pool(tokenizer),
        )
        wait_for_quiet("servers", report)
        measure_all(plan)
        solo = solo_outputs(plan)
        if raw is not None:
            report["raw_peak_rss_mb"] = tree_rss_mb(raw.proc.pid)
            report["greedy"] = greedy_report(plan, solo, raw.hello["references"])
        else:
            report["greedy"] = greedy_report(plan, solo, [])
    return plan


def greedy_report(plan: Plan, solo: dict[tuple[str, str, int], str], references: list[str]) -> dict[str, Any]:
    compared, mismatched, keys = greedy_mismatches((r for _, _, r in plan.berth_records), solo)
    by_cell: dict[str, list[int]] = {}
    for workload, clients, record in plan.berth_records:
        c, m, _ = greedy_mismatches([record], solo)
        counts = by_cell.setdefault(f"{workload}@{clients}", [0, 0])
        counts[0] += c
        counts[1] += m
    raw_equal = sum(
        1
        for prompt, text in zip(plan.uniform, references, strict=False)
        if solo.get(("completion", prompt, UNIFORM_MAX_TOKENS)) == text
    )
    raw_compared = sum(
        1 for prompt in plan.uniform[: len(references)] if ("completion", prompt, UNIFORM_MAX_TOKENS) in solo
    )
    return {
        "compared": compared,
        "mismatched": mismatched,
        "mismatched_requests": [list(k) for k in keys[:10]],
        "by_cell": by_cell,
        "raw_compared": raw_compared,
        "raw_equal": raw_equal,
    }


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the servers, as Ctrl-C does
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"nice": renice(args.nice), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    report["model"] = MODEL_SHAPE
    report["serve_kv_tokens"] = kv_tokens()
    report["args"] = {k: v for k, v in vars(args).items() if k not in ("json",)}
    with tempfile.TemporaryDirectory(prefix="berth-bench-llama-") as tmp:
        folder = Path(tmp) / "llama"
        build_model(folder, "gguf" in args.contenders)
        plan = run(args, folder, report)
    report["servers"] = {
        c.name: {"peak_rss_mb": c.peak_rss_mb, "failure": c.failure, "cmd": c.cmd} for c in plan.contenders
    }
    report["cells"] = [asdict(c) for c in plan.cells]
    report["raw"] = {str(k): v for k, v in plan.raw_cells.items()}
    markdown = render(report, plan.cells, plan.raw_cells)
    markdown_path, json_path = ARTIFACTS / f"{REPORT}.md", ARTIFACTS / f"{REPORT}.json"
    markdown_path.write_text(markdown)
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str) if args.json else markdown)
    progress(f"written: {markdown_path.relative_to(ROOT)} and {json_path.name}")
    return 1 if any(c.failure for c in plan.contenders) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped by the `finally` blocks on the way out
        progress("interrupted")
        sys.exit(130)
