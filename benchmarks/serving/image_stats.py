"""Statistics of the image benchmark, on top of the text benchmark's (`serving.stats`): the floor one
request must cost (raw batch-1 plus one JPEG's decode), the raw rate on images already decoded, and
whether berth answers what the raw pipeline answers.

Pure functions of the records that `raw_vit.py` answers (no processes, no clock), checked against
known values in `tests/unit/benchmarks/`.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from serving.results import Pass
from serving.stats import best_mean_rps, pooled


def with_decode(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw measurements with `batch1_p50_ms` raised by that measurement's decode p50.

    One request to a server costs at least one decode and one batch-1 call, so that sum is what a
    one-client p50 is judged against; `pooled` then pairs each slice with the sums on either side.
    """
    return [{**r, "batch1_p50_ms": r["batch1_p50_ms"] + r["decode_p50_ms"]} for r in raws]


def decoded_only(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw measurements with each batch's rate taken without its decoding (`model_rps`)."""
    return [{**r, "batches": [{**b, "rps": b["model_rps"]} for b in r["batches"]]} for r in raws]


def image_pooled(slices: list[Pass], raws: list[dict[str, Any]]) -> Pass:
    """A concurrency's slices against the raw pipeline between them; at one client, against raw
    batch 1 plus decode."""
    one = slices[0].clients == 1
    return pooled(slices, with_decode(raws) if one else raws)


def decoded_rps(raws: list[dict[str, Any]]) -> float:
    """The raw best-batch rate over the window on images already decoded (0 at one client)."""
    return best_mean_rps(decoded_only(raws))


def decode_ms(raws: list[dict[str, Any]]) -> float:
    return statistics.median(float(r["decode_p50_ms"]) for r in raws)


def top5_diff(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> float:
    """The largest score difference between two top-5 lists (or two images' detections, 0 when both
    found none); infinite when their labels differ."""
    if [g["label"] for g in got] != [w["label"] for w in want]:
        return math.inf
    return max(
        (abs(float(g["score"]) - float(w["score"])) for g, w in zip(got, want, strict=True)), default=0.0
    )
