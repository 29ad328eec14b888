"""Serving benchmark: berth's worker and LitServe against the raw in-process limit, in one run.

    .venv/bin/python benchmarks/serve.py [--duration 5] [--rounds 3] [--concurrency 1,8,32,64]
                                         [--skip-litserve] [--json]

Order, one thing at a time so that nothing shares the two cores with what is being measured:
  1. raw: SentenceTransformer.encode on batches of 1..64 in a process of its own that stays up for the
     whole run (benchmarks/raw_encode.py --serve);
  2. berth: `python -m berth.worker SPEC --port P`, then wrk at each concurrency (warm-up pass first);
  3. LitServe: benchmarks/litserve_server.py from .venv-bench (made by scripts/bench-env.sh), same load.
Each concurrency is measured in rounds that alternate with the raw baseline: raw (batch 1 and the
large batches, the server frozen with SIGSTOP), a wrk slice, raw, a wrk slice, ..., raw. A pass is
judged against the raw measurements of its own rounds: these machines drift by 10-25 % within
minutes, so a baseline from the start of the run misjudged later passes by that much, and one slice
between two raw measurements still moved its ratio by ±0.06 from run to run.
Raw is also measured as berth's worker runs the model under load, two single-threaded batches at
once (`raw_encode.py`, "lanes"): about 1.15x the best single call here. The target compares berth
with the single call; the report gives both.
Prints a Markdown table of ratios and PASS/FAIL target lines (targets are reported, never asserted), and
writes both to artifacts/bench/serve-latest.{md,json}. Servers live on 127.0.0.1 on free ports and are
stopped by process group on exit, Ctrl-C included. About 6 minutes with the defaults (up to 7 when
it has to wait for other processes to finish).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import asdict, fields

# NOTE: run as a script, this file's folder is sys.path[0]: `serving` (the benchmark's parts) and
# `corpus` import from here, with no install step.
from serving.cpu import renice, wait_for_quiet
from serving.env import ARTIFACTS, ROOT, progress
from serving.options import parse_args
from serving.processes import RawBaseline
from serving.report import render, targets
from serving.rounds import measure_all
from serving.stats import noise


def main() -> int:
    args = parse_args(__doc__ or "")
    # SIGTERM → SystemExit, so that `finally` blocks stop the servers exactly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = args.report
    report["nice"] = renice(args.nice)
    report.update(started=time.strftime("%Y-%m-%d %H:%M:%S"), args=None)
    wait_for_quiet("raw", report)
    progress("raw in-process baseline (batches 1, 8, 16, 32, 64)")
    args.raw = RawBaseline()
    try:
        report["raw_about"] = args.raw.about
        report["raw"] = args.raw.measure([1, 8, 16, 32, 64], args.raw_seconds, lanes=(args.max_batch_size,))
        runs = measure_all(args)
    finally:
        args.raw.close()
    by_name = {r.name: r for r in runs}
    report["targets"] = targets(by_name.get("berth"), report["raw"], noise(runs, report))
    report["args"] = {f.name: getattr(args, f.name) for f in fields(args) if f.name not in ("raw", "report")}
    report["servers"] = [{**asdict(r), "passes": [asdict(p) for p in r.passes]} for r in runs]
    markdown = render(report, runs, args)
    (ARTIFACTS / "serve-latest.md").write_text(markdown)
    (ARTIFACTS / "serve-latest.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2) if args.json else markdown)
    progress(f"written: {(ARTIFACTS / 'serve-latest.md').relative_to(ROOT)} and serve-latest.json")
    return 1 if any(r.failure for r in runs) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped by the `finally` blocks on the way out
        progress("interrupted")
        sys.exit(130)
