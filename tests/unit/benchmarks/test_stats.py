"""The serving benchmark's statistics, checked against known values and against numpy."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from serving.results import Pass, ServerRun
from serving.stats import best_mean_rps, noise, pooled

ERROR_KEYS = ("connect", "read", "write", "status", "timeout")


def raw(rates: dict[int, float], batch1_p50_ms: float | None = None, **extra: Any) -> dict[str, Any]:
    """One raw measurement as raw_encode.py answers it: a rate per batch size."""
    return {
        "batches": [{"batch": b, "rps": r} for b, r in rates.items()],
        "batch1_p50_ms": batch1_p50_ms,
        "other_cpu": 0.0,
        **extra,
    }


def slice_(seconds: float, rps: float, p50_ms: float, **extra: Any) -> Pass:
    values: dict[str, Any] = {
        "server": "berth",
        "clients": 64,
        "seconds": seconds,
        "rps": rps,
        "p50_ms": p50_ms,
        "p99_ms": p50_ms * 2,
        "requests": round(rps * seconds),
        "errors": dict.fromkeys(ERROR_KEYS, 0),
        "wrk_cpu": 0.01,
        "server_cpu": 1.9,
        "other_cpu": 0.0,
        "rss_start_mb": 500.0,
        "rss_end_mb": 510.0,
    }
    return Pass(**{**values, **extra})


def test_best_mean_rps_is_the_best_mean_over_the_window_not_the_best_single_measurement() -> None:
    # Batch 16 has the single fastest measurement (400) but the lower mean (350 vs 360).
    raws = [raw({16: 400.0, 32: 360.0}), raw({16: 300.0, 32: 360.0})]
    assert best_mean_rps(raws) == pytest.approx(360.0)


def test_best_mean_rps_leaves_batch_one_out() -> None:
    assert best_mean_rps([raw({1: 1000.0, 64: 300.0}), raw({1: 1000.0, 64: 320.0})]) == pytest.approx(310.0)


def test_best_mean_rps_of_nothing_is_zero() -> None:
    assert best_mean_rps([]) == 0.0
    assert best_mean_rps([raw({1: 60.0})]) == 0.0


def test_pooled_matches_numpy_on_a_random_window() -> None:
    rng = random.Random(2026)
    slices = [
        slice_(
            rng.uniform(4.5, 5.5),
            rng.uniform(250, 450),
            rng.uniform(80, 200),
            p99_ms=rng.uniform(200, 400),
            wrk_cpu=rng.uniform(0.0, 0.05),
            server_cpu=rng.uniform(1.5, 2.0),
            other_cpu=rng.uniform(0.0, 0.1),
            errors={k: rng.randint(0, 3) for k in ERROR_KEYS},
            rss_start_mb=rng.uniform(480, 520),
            rss_end_mb=rng.uniform(480, 520),
        )
        for _ in range(4)
    ]
    sizes = (16, 32, 64)
    raws = [
        raw(
            {b: rng.uniform(300, 450) for b in sizes},
            other_cpu=rng.uniform(0.0, 0.3),
            lanes=[{"batch": 32, "rps": rng.uniform(400, 500)}],
        )
        for _ in range(5)
    ]

    result = pooled(slices, raws)

    seconds = np.array([s.seconds for s in slices])
    rates = np.array([[next(r["rps"] for r in w["batches"] if r["batch"] == b) for b in sizes] for w in raws])
    assert result.seconds == pytest.approx(seconds.sum())
    assert result.rps == pytest.approx(np.average([s.rps for s in slices], weights=seconds))
    assert result.wrk_cpu == pytest.approx(np.average([s.wrk_cpu for s in slices], weights=seconds))
    assert result.server_cpu == pytest.approx(np.average([s.server_cpu for s in slices], weights=seconds))
    assert result.p50_ms == pytest.approx(np.median([s.p50_ms for s in slices]))  # even count: a mean
    assert result.p99_ms == max(s.p99_ms for s in slices)
    assert result.requests == sum(s.requests for s in slices)
    assert result.errors == {k: sum(s.errors[k] for s in slices) for k in ERROR_KEYS}
    assert result.other_cpu == max([s.other_cpu for s in slices] + [w["other_cpu"] for w in raws])
    assert (result.rss_start_mb, result.rss_end_mb) == (slices[0].rss_start_mb, slices[-1].rss_end_mb)
    assert result.raw_rps == pytest.approx(rates.mean(axis=0).max())
    expected_rounds = [s.rps / rates[i : i + 2].mean(axis=0).max() for i, s in enumerate(slices)]
    assert result.round_ratios == pytest.approx(expected_rounds)
    assert result.raw_lanes_rps == pytest.approx(np.mean([w["lanes"][0]["rps"] for w in raws]))
    assert result.raw_ratio == pytest.approx(result.rps / result.raw_rps)
    assert result.round_over_ms == []  # no batch-1 latency in this window
    assert result.raw_p50_ms == 0.0


def test_pooled_one_client_window_compares_latency_with_batch_one() -> None:
    slices = [slice_(2.0, 60.0, p50, clients=1) for p50 in (16.0, 18.0, 17.0)]
    raws = [raw({1: 62.0}, batch1_p50_ms=p50) for p50 in (15.0, 14.0, 16.0, 15.5)]

    result = pooled(slices, raws)

    assert result.p50_ms == 17.0
    assert result.raw_p50_ms == pytest.approx(np.median([15.0, 14.0, 16.0, 15.5]))  # 15.25
    assert result.over_raw_ms == pytest.approx(17.0 - 15.25)
    # Each slice against the mean of the batch-1 p50s on either side of it.
    assert result.round_over_ms == pytest.approx([16.0 - 14.5, 18.0 - 15.0, 17.0 - 15.75])
    assert result.raw_rps == 0.0  # batch 1 is never a best batch
    assert result.round_ratios == []
    assert math.isnan(result.raw_ratio)
    assert result.raw_lanes_rps == 0.0
    assert math.isnan(result.lanes_ratio)


def test_pass_ratios_and_error_count() -> None:
    p = slice_(5.0, 340.0, 100.0, raw_rps=400.0, raw_lanes_rps=425.0, raw_p50_ms=98.5)
    p.errors["timeout"], p.errors["status"] = 2, 3
    assert p.raw_ratio == pytest.approx(0.85)
    assert p.lanes_ratio == pytest.approx(0.8)
    assert p.over_raw_ms == pytest.approx(1.5)
    assert p.error_count == 5


def test_noise_is_the_most_any_phase_took() -> None:
    runs = [
        ServerRun("berth", passes=[slice_(5, 1, 1, other_cpu=0.05), slice_(5, 1, 1, other_cpu=0.31)]),
        ServerRun("litserve", passes=[slice_(5, 1, 1, other_cpu=0.2)]),
    ]
    assert noise(runs, {"raw": {"other_cpu": 0.1}}) == 0.31
    assert noise([ServerRun("berth")], {"raw": {"other_cpu": 0.42}}) == 0.42
