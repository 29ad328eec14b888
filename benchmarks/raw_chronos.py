"""The forecasting benchmark's raw limit: ChronosBoltPipeline.predict_quantiles on batches, no server.

`python benchmarks/raw_chronos.py FOLDER --build [--smoke]` saves a random-weight Chronos-Bolt there:
chronos-bolt-small's shape (d_model 512, 6 layers, context 2048, horizon 64) or, with --smoke, a tiny
one. `python benchmarks/raw_chronos.py FOLDER --serve` loads it once and speaks the protocol of
`raw_encode.py --serve` (one stdin line `{"batches": [...], "seconds": S, "min_calls": N}`, one JSON
line back), so `serving.processes.RawBaseline` drives it. Each call forecasts a batch of the series
berth is sent (serve_forecast.py writes the same ones), with the same params.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SEED = 0
SERIES_COUNT = 32
QUANTILE_LEVELS = [0.1, 0.5, 0.9]
SHAPES = {  # d_model, d_ff, heads, layers, context, horizon
    "small": (512, 2048, 8, 6, 2048, 64),  # amazon/chronos-bolt-small's
    "smoke": (32, 64, 4, 2, 128, 16),
}


def series(context_length: int) -> list[list[float]]:
    """The corpus: seasonal series with noise, of lengths between half and all of the context."""
    rng = np.random.default_rng(SEED)
    out = []
    for i in range(SERIES_COUNT):
        length = int(rng.integers(context_length // 2, context_length + 1))
        t = np.arange(length)
        values = 10 + 3 * np.sin(2 * np.pi * t / (12 + i % 12)) + rng.normal(0, 0.5, length)
        out.append([round(float(v), 4) for v in values])
    return out


def build(folder: Path, shape: str) -> dict[str, Any]:
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    size, ff, heads, layers, context, horizon = SHAPES[shape]
    torch.manual_seed(SEED)
    config = T5Config(
        d_model=size,
        d_ff=ff,
        d_kv=size // heads,
        num_heads=heads,
        num_layers=layers,
        num_decoder_layers=layers,
        dense_act_fn="relu",
        feed_forward_proj="relu",
        is_gated_act=False,
        vocab_size=2,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        chronos_pipeline_class="ChronosBoltPipeline",
        architectures=["ChronosBoltModelForForecasting"],
        chronos_config={
            "context_length": context,
            "prediction_length": horizon,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            "use_reg_token": True,
        },
    )
    ChronosBoltModelForForecasting(config).eval().save_pretrained(folder)
    return {"context_length": context, "prediction_length": horizon}


class Raw:
    """The pipeline, loaded and warmed on the one thread that calls it (as a server's model thread)."""

    def __init__(self, folder: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.pool.submit(self._load, folder).result()
        self.warm: set[int] = set()

    def _load(self, folder: str) -> None:
        import torch
        from chronos import BaseChronosPipeline

        self.torch = torch
        self.pipeline = BaseChronosPipeline.from_pretrained(folder, device_map="cpu", dtype=torch.float32)
        self.horizon = self.pipeline.model_prediction_length
        self.corpus = [torch.tensor(s) for s in series(self.pipeline.model_context_length)]
        self.forecast(self.batch(1, 0))

    def batch(self, size: int, start: int) -> list[Any]:
        return [self.corpus[(start + k) % len(self.corpus)] for k in range(size)]

    def forecast(self, batch: list[Any]) -> Any:
        with self.torch.inference_mode():
            return self.pipeline.predict_quantiles(
                batch, prediction_length=self.horizon, quantile_levels=QUANTILE_LEVELS
            )

    def measure_batch(self, size: int, seconds: float, min_calls: int) -> dict[str, Any]:
        for i in range(1 if size in self.warm else 2):  # oneDNN picks kernels per shape
            self.forecast(self.batch(size, i))
        self.warm.add(size)
        calls: list[float] = []
        started = time.perf_counter()
        while len(calls) < min_calls or time.perf_counter() - started < seconds:
            t0 = time.perf_counter()
            self.forecast(self.batch(size, len(calls) * size))
            calls.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        return {
            "batch": size,
            "calls": len(calls),
            "rps": size * len(calls) / elapsed,
            "p50_ms": statistics.median(calls) * 1000,
        }

    def measure(self, batches: list[int], seconds: float, min_calls: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            results = [self.measure_batch(size, seconds, min_calls) for size in batches]
            best = max(results, key=lambda r: r["rps"])
            batch1 = next((r for r in results if r["batch"] == 1), None)
            return {
                "batches": results,
                "best_batch": best["batch"],
                "best_rps": best["rps"],
                "batch1_p50_ms": batch1["p50_ms"] if batch1 else None,
            }

        return self.pool.submit(run).result()

    def reference(self) -> list[float]:
        """The raw median forecast of the corpus's first series, to compare berth's answer with."""
        quantiles, _ = self.pool.submit(self.forecast, self.batch(1, 0)).result()
        return [float(v) for v in quantiles[0, :, 1]]


def serve(raw: Raw) -> None:
    import torch

    hello = {"ready": True, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    print(json.dumps({**hello, "reference_median": raw.reference()}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        print(json.dumps(raw.measure(ask["batches"], ask["seconds"], ask["min_calls"])), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder")
    parser.add_argument("--build", action="store_true", help="save a random Chronos-Bolt in FOLDER and exit")
    parser.add_argument("--smoke", action="store_true", help="with --build: a tiny model")
    parser.add_argument("--serve", action="store_true", help="answer measurement requests on stdin")
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build(Path(args.folder), "smoke" if args.smoke else "small")))
        return
    raw = Raw(args.folder)
    try:
        if args.serve:
            serve(raw)
    finally:
        raw.pool.shutdown()


if __name__ == "__main__":
    main()
