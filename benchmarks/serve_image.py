"""Image serving benchmark: berth's worker serving a ViT classifier against the raw in-process
pipeline, JPEG uploads at 1, 8 and 32 clients, in one run.

    .venv/bin/python benchmarks/serve_image.py [--duration 5] [--rounds 3] [--concurrency 1,8,32]
                                               [--raw-batches 1,4,8,16] [--max-batch-size N]
                                               [--smoke] [--json]

Order, one thing at a time so that nothing shares the two cores with what is being measured:
  0. a child process saves a random-weight ViT (image_corpus.py: its shape and why) with its
     processor to a temp folder, and writes the JPEGs beside it;
  1. raw: Pillow decode + ViTImageProcessor + the model on batches of 1, 4, 8 and 16, in a process of
     its own up for the whole run (benchmarks/raw_vit.py --serve), timing the decode apart;
  2. berth: `python -m berth.worker SPEC --port P` serving benchmarks/vit_predictor.py:ViTClassifier,
     then wrk POSTing the JPEGs as `Content-Type: image/jpeg` bodies at each concurrency.
Each concurrency is measured in rounds that alternate with raw (the worker frozen with SIGSTOP), as in
serve.py, whose parts (benchmarks/serving/) this reuses. Targets: at 32 clients berth ≥ 0.85x the raw
pipeline's best batch, decode included (decoding must not starve the model); at 1 client berth's p50
within 3 ms of raw batch 1 plus one JPEG's decode. Prints a Markdown report with PASS/FAIL lines
(reported, never asserted) and writes it to artifacts/bench/image-latest.{md,json}. About 3-4
minutes with the defaults here; `--smoke` runs every phase for a second or so (under a minute).

`--task object-detection` (make bench-detection) measures object detection the same way: a random DETR
(detr_model.py: its shape and why) served by berth's own transformers runtime from its folder, against
transformers' `pipeline("object-detection")` on the same folder at its best batch size, at 1 and 16
clients (the target: ≥ 0.85x raw at 16), into artifacts/bench/detection-latest.{md,json}.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

import detr_model
from image_corpus import describe_model

# NOTE: run as a script, this file's folder is sys.path[0]: `serving` and `image_corpus` import from here.
from serving.cpu import renice, wait_for_quiet
from serving.env import ARTIFACTS, BENCH_DIR, ROOT, progress
from serving.image_options import parse_args
from serving.image_report import TARGET_THROUGHPUT_CLIENTS, render, targets
from serving.image_rounds import PAIRED_MIN_CALLS, PREDICTOR, ImageRun, measure_berth, write_spec
from serving.processes import RawBaseline, free_port, server_env
from serving.stats import noise

# artifacts/bench/<name>-latest.{md,json}, git-ignored like every report there
REPORTS = {"image-classification": "image-latest", "object-detection": "detection-latest"}
DETECTION = "object-detection"


def prepare(folder: Path, task: str) -> tuple[Path, list[Path]]:
    """The saved model folder and the JPEGs, made by a child process (this one never imports torch)."""
    script, model = ("detr_model.py", "detr") if task == DETECTION else ("image_corpus.py", "vit")
    cmd = [sys.executable, str(BENCH_DIR / script), str(folder)]
    subprocess.run(cmd, env=server_env(), check=True, timeout=300, capture_output=True)
    return folder / model, sorted(folder.glob("image-*.jpg"))


def main() -> int:
    args = parse_args(__doc__ or "")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the servers, as Ctrl-C does
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = args.report
    report["nice"] = renice(args.nice)
    detection = args.task == DETECTION
    served = "berth's transformers runtime (object-detection)" if detection else PREDICTOR
    report.update(started=time.strftime("%Y-%m-%d %H:%M:%S"), args=None, predictor=served, task=args.task)
    report["model"] = detr_model.describe_model() if detection else describe_model()
    run = ImageRun("berth")
    with tempfile.TemporaryDirectory(prefix="berth-bench-vit-") as tmp:
        progress(f"saving the random-weight {'DETR' if detection else 'ViT'} and writing the JPEGs")
        vit, jpegs = prepare(Path(tmp), args.task)
        sizes = sorted(round(p.stat().st_size / 1024) for p in jpegs)
        report["jpeg_kb"] = f"{sizes[0]}-{sizes[-1]}"
        wait_for_quiet("raw", report)
        progress(f"raw in-process pipeline (batches {', '.join(map(str, args.raw_batches))})")
        raw_args = (str(vit), *map(str, jpegs), "--task", args.task)
        args.raw = RawBaseline("raw_vit.py", raw_args, log_name="raw-detr" if detection else "raw-vit")
        try:
            report["raw_about"] = args.raw.about
            report["raw"] = args.raw.measure(args.raw_batches, args.raw_seconds, PAIRED_MIN_CALLS)
            port = free_port()
            spec = write_spec(ARTIFACTS / f"{vit.name}.yaml", vit, args.max_batch_size, args.task)
            cmd = [args.berth_python, "-m", "berth.worker", str(spec), "--port", str(port)]
            try:
                measure_berth(run, cmd, port, jpegs, args)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                run.failure = str(exc)
                progress(f"berth: FAILED: {exc}")
        finally:
            args.raw.close()
    judged_at = 16 if detection else TARGET_THROUGHPUT_CLIENTS
    report["targets"] = targets(run, noise([run], report), judged_at)
    report["args"] = {f.name: getattr(args, f.name) for f in fields(args) if f.name not in ("raw", "report")}
    report["servers"] = [{**asdict(run), "passes": [asdict(p) for p in run.passes]}]
    markdown = render(report, run, args)
    name = REPORTS[args.task]
    markdown_path, json_path = ARTIFACTS / f"{name}.md", ARTIFACTS / f"{name}.json"
    markdown_path.write_text(markdown)
    json_path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2) if args.json else markdown)
    progress(f"written: {markdown_path.relative_to(ROOT)} and {json_path.name}")
    return 1 if run.failure else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped by the `finally` blocks on the way out
        progress("interrupted")
        sys.exit(130)
