"""Statistics of the serving benchmark: a concurrency's wrk slices pooled into one pass and paired with
the raw measurements taken between them, the raw best batch of a window, and the run's noise.

Pure functions of the records (no processes, no clock), so that each rule can be checked against
known values.
"""

from __future__ import annotations

import statistics
from typing import Any

from serving.results import Pass, ServerRun


def pooled(slices: list[Pass], raws: list[dict[str, Any]]) -> Pass:
    """A concurrency's slices as one pass, against the raw measured between them (`raws` brackets
    the slices: one more than they are). Throughput and CPU are time-weighted over the slices, p50 is
    their median and p99 their worst. The raw side comes from the same window, so a drift of the
    machine moves both sides alike: its best batch is the size with the highest mean rate over the
    window (the best of each short measurement would be biased upward: the largest of three noisy
    rates, +5-10 % here), and its batch-1 p50 is the median."""
    seconds = sum(s.seconds for s in slices)
    neighbours = list(zip(slices, raws, raws[1:], strict=False))
    batch1 = [r["batch1_p50_ms"] for r in raws if r["batch1_p50_ms"] is not None]
    raw_rps = best_mean_rps(raws)
    lanes = [r["lanes"][0]["rps"] for r in raws if r.get("lanes")]

    def weighted(value: str) -> float:
        return float(sum(getattr(s, value) * s.seconds for s in slices)) / seconds

    errors = {key: sum(s.errors[key] for s in slices) for key in slices[0].errors}
    return Pass(
        server=slices[0].server,
        clients=slices[0].clients,
        seconds=seconds,
        rps=weighted("rps"),
        p50_ms=statistics.median(s.p50_ms for s in slices),
        p99_ms=max(s.p99_ms for s in slices),
        requests=sum(s.requests for s in slices),
        errors=errors,
        wrk_cpu=weighted("wrk_cpu"),
        server_cpu=weighted("server_cpu"),
        other_cpu=max([s.other_cpu for s in slices] + [r["other_cpu"] for r in raws]),
        rss_start_mb=slices[0].rss_start_mb,
        rss_end_mb=slices[-1].rss_end_mb,
        raw_rps=raw_rps,
        raw_p50_ms=statistics.median(batch1) if batch1 else 0.0,
        round_ratios=[s.rps / best_mean_rps([a, b]) for s, a, b in neighbours] if raw_rps else [],
        round_over_ms=[s.p50_ms - (a["batch1_p50_ms"] + b["batch1_p50_ms"]) / 2 for s, a, b in neighbours]
        if batch1
        else [],
        raw_lanes_rps=statistics.fmean(lanes) if lanes else 0.0,
    )


def best_mean_rps(raws: list[dict[str, Any]]) -> float:
    """The highest, over batch sizes other than 1, of that size's mean rate across `raws` (0: none)."""
    rates: dict[int, list[float]] = {}
    for raw in raws:
        for result in raw["batches"]:
            if result["batch"] > 1:
                rates.setdefault(result["batch"], []).append(result["rps"])
    return max((statistics.fmean(r) for r in rates.values()), default=0.0)


def noise(runs: list[ServerRun], report: dict[str, Any]) -> float:
    """The most CPU that other processes took during any measured phase, in cores."""
    others = [p.other_cpu for r in runs for p in r.passes] + [report["raw"]["other_cpu"]]
    return max(others, default=0.0)
