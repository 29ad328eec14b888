"""The raw in-process limit: SentenceTransformer.encode on fixed batches, no server in the way.

Alone, `python benchmarks/raw_encode.py --seconds 3` measures every batch size once and prints one
JSON object. serve.py runs it with `--serve` for the whole benchmark, in a process of its own (no
server shares its torch state): the model loads once, and each stdin line `{"batches": [...],
"seconds": S, "min_calls": N}` is answered by one JSON line measured then, so that every server pass
gets a baseline taken seconds before and after it rather than minutes away.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from corpus import SENTENCES, batch_of, minilm_path

DEFAULT_BATCHES = (1, 8, 16, 32, 64)


def measure_batch(model: Any, size: int, seconds: float, min_calls: int) -> dict[str, float]:
    """Calls encode on batches of `size` for about `seconds`; throughput in items (requests) per second."""
    for i in range(3):  # oneDNN picks kernels per shape: keep the first calls at a new size out
        model.encode(batch_of(size, i * size), batch_size=size)
    latencies: list[float] = []
    cpu_started, started = time.process_time(), time.perf_counter()
    while len(latencies) < min_calls or time.perf_counter() - started < seconds:
        batch = batch_of(size, len(latencies) * size)
        t0 = time.perf_counter()
        # batch_size=size: encode's default of 32 would silently split a batch of 64 in two.
        model.encode(batch, batch_size=size, show_progress_bar=False)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    cores = (time.process_time() - cpu_started) / elapsed  # torch's threads included
    return {
        "batch": size,
        "calls": len(latencies),
        "rps": size * len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "cores": cores,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,  # after this size's largest activations
    }


def load() -> tuple[Any, ThreadPoolExecutor]:
    """The model, loaded and warmed on the one thread that will call it, as in a server's model thread.

    Warming on one thread and calling from another doubled batch-1 latency (DESIGN.md).
    """
    from sentence_transformers import SentenceTransformer

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def on_model_thread() -> Any:
        model = SentenceTransformer(minilm_path(), device="cpu")
        model.encode(list(SENTENCES), batch_size=len(SENTENCES))
        return model

    return pool.submit(on_model_thread).result(), pool


def measure(
    model: Any, pool: ThreadPoolExecutor, batches: list[int], seconds: float, min_calls: int
) -> dict[str, Any]:
    results = pool.submit(
        lambda: [measure_batch(model, size, seconds, min_calls) for size in batches]
    ).result()
    best = max(results, key=lambda r: r["rps"])
    batch1 = next((r for r in results if r["batch"] == 1), None)
    return {
        "batches": results,
        "best_batch": best["batch"],
        "best_rps": best["rps"],
        "batch1_p50_ms": batch1["p50_ms"] if batch1 else None,
    }


def describe(model: Any, pool: ThreadPoolExecutor) -> dict[str, Any]:
    import torch

    reference = pool.submit(model.encode, [SENTENCES[0]], batch_size=1).result()[0]
    return {
        "reference_embedding": [float(x) for x in reference],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def serve(model: Any, pool: ThreadPoolExecutor) -> None:
    """One measurement per stdin line, one JSON answer per stdout line, until stdin closes."""
    print(json.dumps({"ready": True, **describe(model, pool)}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        print(json.dumps(measure(model, pool, ask["batches"], ask["seconds"], ask["min_calls"])), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per batch size")
    parser.add_argument("--min-calls", type=int, default=20, help="at least this many calls per batch size")
    parser.add_argument(
        "--serve", action="store_true", help="answer measurement requests on stdin (serve.py)"
    )
    args = parser.parse_args()
    model, pool = load()
    with pool:
        if args.serve:
            serve(model, pool)
            return
        batches = [int(b) for b in args.batches.split(",")]
        print(
            json.dumps(
                {**measure(model, pool, batches, args.seconds, args.min_calls), **describe(model, pool)}
            )
        )


if __name__ == "__main__":
    main()
