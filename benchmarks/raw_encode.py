"""The raw in-process limit: SentenceTransformer.encode on fixed batches, no server in the way.

Alone, `python benchmarks/raw_encode.py --seconds 3` measures every batch size once and prints one
JSON object. serve.py runs it with `--serve` for the whole benchmark, in a process of its own (no
server shares its torch state): the model loads once, and each stdin line `{"batches": [...],
"seconds": S, "min_calls": N}` is answered by one JSON line measured then, so that every server pass
gets a baseline taken seconds before and after it rather than minutes away.

`"lanes": [32]` in a request also measures the model run the way berth's worker runs it under load
(berth.worker.batcher): two threads encoding batches of 32 at once, each on one torch thread. That
is a faster use of 2 cores than one call on two threads, so serve.py reports berth against it too.
As in berth, the second thread never runs on more than one torch thread: OpenMP stops spin-waiting
once it manages more threads than there are cores, and that would slow this process's other
measurements.
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


def measure_lanes(model: Any, pools: list[ThreadPoolExecutor], size: int, seconds: float) -> dict[str, float]:
    """Both pools' threads encode batches of `size` at once, each on one torch thread."""
    import torch

    threads = torch.get_num_threads()  # on the first pool's thread: every core

    def lane(index: int, start: float) -> int:
        torch.set_num_threads(1)
        try:
            for i in range(2):
                model.encode(batch_of(size, i * size), batch_size=size)
            while time.perf_counter() < start:  # both lanes begin together, warm
                time.sleep(0.001)
            items = 0
            while time.perf_counter() - start < seconds:
                model.encode(batch_of(size, items + index), batch_size=size, show_progress_bar=False)
                items += size
            return items
        finally:
            torch.set_num_threads(threads if index == 0 else 1)

    start = time.perf_counter() + 1.0
    futures = [pool.submit(lane, index, start) for index, pool in enumerate(pools)]
    items = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    return {"batch": size, "rps": items / elapsed}


def load() -> tuple[Any, list[ThreadPoolExecutor]]:
    """The model, loaded and warmed on the one thread that will call it, as in a server's model thread,
    and a second thread for `measure_lanes`.

    Warming on one thread and calling from another doubled batch-1 latency (16 → 29 ms on 2 cores).
    """
    from sentence_transformers import SentenceTransformer

    pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{i}") for i in range(2)]

    def on_model_thread() -> Any:
        model = SentenceTransformer(minilm_path(), device="cpu")
        model.encode(list(SENTENCES), batch_size=len(SENTENCES))
        return model

    return pools[0].submit(on_model_thread).result(), pools


def measure(
    model: Any,
    pools: list[ThreadPoolExecutor],
    batches: list[int],
    seconds: float,
    min_calls: int,
    lanes: tuple[int, ...] = (),
) -> dict[str, Any]:
    results = (
        pools[0].submit(lambda: [measure_batch(model, size, seconds, min_calls) for size in batches]).result()
    )
    best = max(results, key=lambda r: r["rps"])
    batch1 = next((r for r in results if r["batch"] == 1), None)
    return {
        "batches": results,
        "best_batch": best["batch"],
        "best_rps": best["rps"],
        "batch1_p50_ms": batch1["p50_ms"] if batch1 else None,
        "lanes": [measure_lanes(model, pools, size, seconds) for size in lanes],
    }


def describe(model: Any, pool: ThreadPoolExecutor) -> dict[str, Any]:
    import torch

    reference = pool.submit(model.encode, [SENTENCES[0]], batch_size=1).result()[0]
    return {
        "reference_embedding": [float(x) for x in reference],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def serve(model: Any, pools: list[ThreadPoolExecutor]) -> None:
    """One measurement per stdin line, one JSON answer per stdout line, until stdin closes."""
    print(json.dumps({"ready": True, **describe(model, pools[0])}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        lanes = tuple(ask.get("lanes", ()))
        result = measure(model, pools, ask["batches"], ask["seconds"], ask["min_calls"], lanes)
        print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default=",".join(map(str, DEFAULT_BATCHES)))
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per batch size")
    parser.add_argument("--min-calls", type=int, default=20, help="at least this many calls per batch size")
    parser.add_argument("--lanes", type=int, default=0, help="also two threads at once on this batch size")
    parser.add_argument(
        "--serve", action="store_true", help="answer measurement requests on stdin (serve.py)"
    )
    args = parser.parse_args()
    model, pools = load()
    try:
        if args.serve:
            serve(model, pools)
            return
        batches = [int(b) for b in args.batches.split(",")]
        lanes = (args.lanes,) if args.lanes else ()
        result = measure(model, pools, batches, args.seconds, args.min_calls, lanes)
        print(json.dumps({**result, **describe(model, pools[0])}))
    finally:
        for pool in pools:
            pool.shutdown()


if __name__ == "__main__":
    main()
