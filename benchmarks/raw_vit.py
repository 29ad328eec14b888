"""The image benchmark's raw in-process limit: decode the JPEG with Pillow, run the processor and the
model on a batch, no server in the way.

Alone, `python benchmarks/raw_vit.py FOLDER JPEG... --seconds 3` measures every batch size once and
prints one JSON object. serve_image.py runs it with `--serve`, in a process of its own, for the whole
run, speaking the protocol of `raw_encode.py --serve` (one stdin line `{"batches": [...], "seconds": S,
"min_calls": N}`, one JSON line back), so `serving.processes.RawBaseline` drives both.

Each call is timed in two parts, decoding the batch's JPEGs and then `Classifier` (processor, model,
top 5) on the decoded images. A batch size's `rps` is the whole pipeline's; `model_rps` is the same
calls without the decoding (the model on images already decoded); `batch1_p50_ms` is the
processor-and-model p50 at batch 1 and `decode_p50_ms` one JPEG's decode p50, the two parts of what
one request to a server has to cost at least.

With `--task object-detection` the model is `detr_model.Detector` (transformers' object-detection
pipeline on the saved DETR folder) instead of the ViT `Classifier`; everything else is the same.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from detr_model import Detector
from image_corpus import decode, offline
from vit_predictor import Classifier

DEFAULT_BATCHES = (1, 4, 8, 16)


class Raw:
    """The pipeline, loaded and warmed on the one thread that calls it (as a server's model thread)."""

    def __init__(self, folder: str, jpegs: list[bytes], task: str = "image-classification") -> None:
        self.jpegs = jpegs
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.classify: Callable[[list[Any]], list[Any]] = self.pool.submit(self._load, folder, task).result()
        self.warm: set[int] = set()

    def _load(self, folder: str, task: str) -> Callable[[list[Any]], list[Any]]:
        classify = Detector(folder) if task == "object-detection" else Classifier(folder)
        classify([decode(j) for j in self.jpegs])
        return classify

    def batch(self, size: int, start: int) -> list[bytes]:
        return [self.jpegs[(start + k) % len(self.jpegs)] for k in range(size)]

    def measure_batch(
        self, size: int, seconds: float, min_calls: int, decodes: list[float]
    ) -> dict[str, Any]:
        # oneDNN picks kernels per shape: the first calls at a new size are kept out
        for i in range(1 if size in self.warm else 2):
            self.classify([decode(j) for j in self.batch(size, i)])
        self.warm.add(size)
        calls: list[float] = []
        model: list[float] = []
        cpu_started, started = time.process_time(), time.perf_counter()
        while len(calls) < min_calls or time.perf_counter() - started < seconds:
            t0 = time.perf_counter()
            images = []
            for data in self.batch(size, len(calls) * size):
                t = time.perf_counter()
                images.append(decode(data))
                decodes.append(time.perf_counter() - t)
            t1 = time.perf_counter()
            self.classify(images)
            t2 = time.perf_counter()
            calls.append(t2 - t0)
            model.append(t2 - t1)
        elapsed = time.perf_counter() - started
        return {
            "batch": size,
            "calls": len(calls),
            "rps": size * len(calls) / elapsed,
            "model_rps": size * len(model) / sum(model),
            "p50_ms": statistics.median(calls) * 1000,
            "model_p50_ms": statistics.median(model) * 1000,
            "cores": (time.process_time() - cpu_started) / elapsed,  # torch's threads included
            "rss_mb": psutil.Process().memory_info().rss / 2**20,
        }

    def measure(self, batches: list[int], seconds: float, min_calls: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            decodes: list[float] = []
            results = [self.measure_batch(size, seconds, min_calls, decodes) for size in batches]
            best = max(results, key=lambda r: r["rps"])
            batch1 = next((r for r in results if r["batch"] == 1), None)
            return {
                "batches": results,
                "best_batch": best["batch"],
                "best_rps": best["rps"],
                "batch1_p50_ms": batch1["model_p50_ms"] if batch1 else None,
                "decode_p50_ms": statistics.median(decodes) * 1000,
            }

        return self.pool.submit(run).result()

    def describe(self) -> dict[str, Any]:
        import torch

        reference = self.pool.submit(lambda: self.classify([decode(self.jpegs[0])])[0]).result()
        return {
            "reference_top5": reference,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        }


def serve(raw: Raw) -> None:
    """One measurement per stdin line, one JSON answer per stdout line, until stdin closes."""
    print(json.dumps({"ready": True, **raw.describe()}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        print(json.dumps(raw.measure(ask["batches"], ask["seconds"], ask["min_calls"])), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", help="the saved ViT folder (image_corpus.save_vit)")
    parser.add_argument("jpegs", nargs="+", help="JPEG files, cycled through")
    parser.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per batch size")
    parser.add_argument("--min-calls", type=int, default=3, help="at least this many calls per batch size")
    parser.add_argument("--serve", action="store_true", help="answer measurement requests on stdin")
    parser.add_argument(
        "--task", default="image-classification", choices=("image-classification", "object-detection")
    )
    args = parser.parse_args()
    offline()
    raw = Raw(args.folder, [Path(p).read_bytes() for p in args.jpegs], args.task)
    try:
        if args.serve:
            serve(raw)
            return
        batches = [int(b) for b in args.batches.split(",")]
        print(json.dumps({**raw.measure(batches, args.seconds, args.min_calls), **raw.describe()}))
    finally:
        raw.pool.shutdown()


if __name__ == "__main__":
    main()
