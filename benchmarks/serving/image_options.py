"""The image benchmark's command line (`benchmarks/serve_image.py`) and the parameters every phase reads."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serving.processes import RawBaseline

# --smoke: every phase once, a second or so each, to prove the benchmark works (its figures mean nothing)
SMOKE = {
    "duration": 2,
    "rounds": 1,
    "warmup": 1.0,
    "raw_seconds": 0.5,
    "concurrency": "1,8",
    "raw_batches": "1,4",
}
TASKS = ("image-classification", "object-detection")
# the client counts each task is judged at by default: the ViT at 32, detection at 16
DEFAULT_MAX_BATCH = {"image-classification": 16, "object-detection": 4}
DEFAULT_CONCURRENCY = {"image-classification": "1,8,32", "object-detection": "1,16"}


@dataclass
class ImageArgs:
    duration: int  # wrk takes whole seconds
    rounds: int
    warmup: float
    raw_seconds: float
    concurrency: list[int]
    raw_batches: list[int]
    max_batch_size: int
    nice: int
    json: bool
    berth_python: str
    task: str = "image-classification"
    raw: RawBaseline | None = None  # started by main, used by every pass
    report: dict[str, Any] = field(default_factory=dict)  # shared with main, for busy_before


def parse_args(description: str, argv: list[str] | None = None) -> ImageArgs:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured wrk slice (5)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk slices per concurrency (3)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of wrk warm-up before each pass (2)"
    )
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="seconds per raw batch size (3)")
    parser.add_argument(
        "--concurrency", default=None, help="comma-separated client counts (1,8,32; detection 1,16)"
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="image-classification",
        help="a ViT predictor (image-classification), or a DETR on berth's own runtime (object-detection)",
    )
    parser.add_argument(
        "--raw-batches",
        default="1,4,8,16",
        help="raw batch sizes at the start; the largest two between slices",
    )
    parser.add_argument(
        "--max-batch-size", type=int, default=None, help="berth's batch cap (16; 4 for object-detection)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, seconds per phase: proves it runs, measures nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of Markdown")
    parser.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="niceness for the benchmark and what it starts (-10; < 0 needs root)",
    )
    parser.add_argument("--berth-python", default=sys.executable, help="python that runs berth.worker")
    ns = parser.parse_args(argv)
    if ns.concurrency is None:
        ns.concurrency = DEFAULT_CONCURRENCY[ns.task]
    if ns.max_batch_size is None:
        # NOTE: the DETR's throughput here peaks at batch 4 and falls beyond it (4.9 images/s at 4, 3.9 at
        # 16, raw); a deployment caps its batch at its model's best, as this one does.
        ns.max_batch_size = DEFAULT_MAX_BATCH[ns.task]
    if ns.smoke:
        for key, value in SMOKE.items():
            setattr(ns, key, value)
    return ImageArgs(
        duration=ns.duration,
        rounds=max(1, ns.rounds),
        warmup=ns.warmup,
        raw_seconds=ns.raw_seconds,
        concurrency=[int(c) for c in ns.concurrency.split(",") if c.strip()],
        raw_batches=sorted({int(b) for b in ns.raw_batches.split(",") if b.strip()}),
        max_batch_size=ns.max_batch_size,
        nice=ns.nice,
        json=ns.json,
        berth_python=ns.berth_python,
        task=ns.task,
    )
