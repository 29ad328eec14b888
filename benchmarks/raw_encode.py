"""The raw in-process limit: SentenceTransformer.encode on fixed batches, no server in the way.

Run by serve.py in a process of its own (so that no server shares its cores or its torch state);
prints one JSON object on stdout. Usable alone too: `python benchmarks/raw_encode.py --seconds 3`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
    }


def run(batches: list[int], seconds: float, min_calls: int) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path(), device="cpu")

    def on_model_thread() -> dict[str, Any]:
        # Warm-up and every measured call happen on this one thread, as in a server's model thread:
        # warming on one thread and calling from another doubled batch-1 latency (DESIGN.md).
        model.encode(list(SENTENCES), batch_size=len(SENTENCES))
        results = [measure_batch(model, size, seconds, min_calls) for size in batches]
        reference = model.encode([SENTENCES[0]], batch_size=1)[0]
        return {"batches": results, "reference_embedding": [float(x) for x in reference]}

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="model") as pool:
        out = pool.submit(on_model_thread).result()
    best = max(out["batches"], key=lambda r: r["rps"])
    batch1 = next((r for r in out["batches"] if r["batch"] == 1), None)
    return {
        **out,
        "best_batch": best["batch"],
        "best_rps": best["rps"],
        "batch1_p50_ms": batch1["p50_ms"] if batch1 else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per batch size")
    parser.add_argument("--min-calls", type=int, default=20, help="at least this many calls per batch size")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    print(json.dumps(run(batches, args.seconds, args.min_calls)))


if __name__ == "__main__":
    main()
