"""Statistics of the generation benchmark: a cell's slices (one contender, workload and client count)
as rates and percentiles, the raw ceiling of the same window, and the greedy-consistency count.

Rates are pro-rated over the measured window: each request's tokens are spread evenly over its
life, from sent to answered, and the window is credited with the share that falls inside it. A
closed loop of equal requests answers in bursts (16 clients, one batch, 16 answers at once), so
counting whole answers inside a 10 s window would be off by up to a burst; the share is exact for
steady token output, and the requests still in flight at the window's end are counted for their
part in it. Latency and TTFT percentiles are over the requests that overlap the window (answered
inside it or in flight at either end): a slice shorter than one request still has them. TTFT is a
streamed request's time to its first text; where a cell streams nothing (the uniform workload), a
request's first text is its answer, so TTFT is its latency. A mixed cell's TTFT counts its streamed
requests only: mixing in the non-streamed half's whole latencies would put the median on the seam
between the two halves, where it measures neither.

Pure functions of the records (no processes, no clock), so that each rule can be checked.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from serving.generate_load import Record, Slice


@dataclass
class Cell:
    """One contender at one workload and client count, its slices pooled."""

    contender: str
    workload: str
    clients: int
    seconds: float  # measured window, all slices together
    tokens_per_s: float
    requests_per_s: float
    latency_p50_ms: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    answered: int  # successful requests that overlap the windows: the percentiles' sample
    errors: int
    cut: int  # requests abandoned after the drain limit
    slice_tokens_per_s: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # cores, mean over the slices
    client_cpu: float = 0.0  # cores the load generator (this process) used
    other_cpu: float = 0.0  # cores anything else took, worst slice: noise


def share(start: float, end: float, opened: float, closed: float) -> float:
    """The fraction of [start, end] inside [opened, closed] (a zero-length request: 1 or 0)."""
    if end <= start:
        return 1.0 if opened <= end <= closed else 0.0
    return max(0.0, min(end, closed) - max(start, opened)) / (end - start)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated as numpy's default; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def window_credit(piece: Slice) -> tuple[float, float]:
    """(tokens, requests) credited to a slice's window, successful requests only."""
    tokens = requests = 0.0
    for r in piece.records:
        if r.error is None:
            part = share(r.start, r.end, piece.opened, piece.closed)
            tokens += r.tokens * part
            requests += part
    return tokens, requests


def overlapping(piece: Slice) -> list[Record]:
    """The successful requests that ran during the window, for at least part of it."""
    return [
        r for r in piece.records if r.error is None and share(r.start, r.end, piece.opened, piece.closed) > 0
    ]


def ttft(record: Record) -> float:
    """Seconds to the first text: for a non-streaming request, its whole latency."""
    return (record.first if record.request.stream else record.end) - record.start


def ttft_records(records: list[Record]) -> list[Record]:
    """The requests TTFT is measured on: the streamed ones, or all where nothing streams."""
    streamed = [r for r in records if r.request.stream]
    return streamed or records


def pool_cell(contender: str, workload: str, clients: int, slices: list[Slice]) -> Cell:
    seconds = sum(s.closed - s.opened for s in slices)
    credits = [window_credit(s) for s in slices]
    answered = [r for s in slices for r in overlapping(s)]
    return Cell(
        contender=contender,
        workload=workload,
        clients=clients,
        seconds=seconds,
        tokens_per_s=sum(t for t, _ in credits) / seconds,
        requests_per_s=sum(n for _, n in credits) / seconds,
        latency_p50_ms=percentile((r.end - r.start for r in answered), 50) * 1000,
        ttft_p50_ms=percentile((ttft(r) for r in ttft_records(answered)), 50) * 1000,
        ttft_p99_ms=percentile((ttft(r) for r in ttft_records(answered)), 99) * 1000,
        answered=len(answered),
        errors=sum(1 for s in slices for r in s.records if r.error is not None),
        cut=sum(s.cut for s in slices),
        slice_tokens_per_s=[t / (s.closed - s.opened) for (t, _), s in zip(credits, slices, strict=True)],
    )


def raw_window(raws: list[dict[str, Any]], batch: int) -> dict[str, float]:
    """The raw ceiling at `batch` over a cell's window: mean tokens/s, median call and first-token p50."""
    rows = [b for r in raws for b in r["batches"] if b["batch"] == batch]
    if not rows:
        return {}
    window = {
        "tokens_per_s": statistics.fmean(b["tokens_per_s"] for b in rows),
        "rps": statistics.fmean(b["rps"] for b in rows),
        "p50_ms": statistics.median(b["p50_ms"] for b in rows),
    }
    firsts = [b["first_token_ms"] for b in rows if "first_token_ms" in b]
    if firsts:
        window["first_token_ms"] = statistics.median(firsts)
    return window


def greedy_mismatches(
    records: Iterable[Record], solo: dict[tuple[str, str, int], str]
) -> tuple[int, int, list[tuple[str, str, int]]]:
    """(compared, mismatched, the mismatched keys): successful outputs against the solo output of the
    same request (kind, prompt, max_tokens); requests with no solo output are not compared."""
    compared = mismatched = 0
    keys: list[tuple[str, str, int]] = []
    for r in records:
        want = solo.get(r.request.key)
        if r.error is None and want is not None:
            compared += 1
            if r.text != want:
                mismatched += 1
                if r.request.key not in keys:
                    keys.append(r.request.key)
    return compared, mismatched, keys
