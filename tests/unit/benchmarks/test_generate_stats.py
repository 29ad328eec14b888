"""The generation benchmark's statistics and target lines, checked against known values and numpy."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from generate_corpus import Request, client_requests
from serving.generate_load import Record, Slice
from serving.generate_report import targets
from serving.generate_stats import Cell, greedy_mismatches, percentile, pool_cell, raw_window, share

UNIFORM = Request("completion", "a prompt", 64, stream=False)
STREAMED = Request("chat", "a question", 32, stream=True)


def record(start: float, end: float, tokens: int, request: Request = UNIFORM, **extra: object) -> Record:
    values: dict[str, object] = {"client": 0, "request": request, "start": start, "first": start + 0.1}
    values.update(end=end, tokens=tokens, text=f"text {tokens}", **extra)
    return Record(**values)  # type: ignore[arg-type]


def cell(contender: str, workload: str, clients: int, tokens_per_s: float, ttft_ms: float = 100.0) -> Cell:
    return Cell(contender, workload, clients, 10.0, tokens_per_s, 1.0, 500.0, ttft_ms, ttft_ms * 2, 10, 0, 0)


def test_share_is_the_part_of_a_request_inside_the_window() -> None:
    assert share(0.0, 4.0, 2.0, 10.0) == pytest.approx(0.5)
    assert share(3.0, 5.0, 2.0, 10.0) == pytest.approx(1.0)
    assert share(9.0, 13.0, 2.0, 10.0) == pytest.approx(0.25)
    assert share(0.0, 20.0, 2.0, 10.0) == pytest.approx(0.4)
    assert share(11.0, 12.0, 2.0, 10.0) == 0.0


def test_bursts_of_answers_are_credited_by_their_share_not_by_whole_answers() -> None:
    # 16 clients answered together every 1.5 s, 64 tokens each: 682.7 tokens/s however the window falls.
    records = [record(k * 1.5, (k + 1) * 1.5, 64) for k in range(10) for _ in range(16)]
    piece = Slice(records, opened=2.0, closed=12.0, cut=0)
    pooled = pool_cell("berth", "uniform", 16, [piece])
    assert pooled.tokens_per_s == pytest.approx(16 * 64 / 1.5)
    assert pooled.requests_per_s == pytest.approx(16 / 1.5)
    # counting whole answers inside the window instead: 7 bursts in 10 s (3.0, 4.5, ..., 12.0), 717 tokens/s
    assert pooled.answered == 7 * 16  # the bursts overlapping the window: 1.5-3.0 to 10.5-12.0


def test_percentile_matches_numpy() -> None:
    rng = random.Random(7)
    values = [rng.uniform(0, 100) for _ in range(101)]
    for q in (0, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert math.isnan(percentile([], 50))


def test_ttft_counts_the_streamed_requests_where_a_cell_streams_some() -> None:
    records = [
        record(0.0, 2.0, 32, STREAMED),
        record(0.0, 2.5, 32, STREAMED, first=0.3),
        record(0.0, 3.0, 64),
    ]
    pooled = pool_cell("berth", "mixed", 2, [Slice(records, opened=0.0, closed=4.0, cut=0)])
    # the streams' first text came 0.1 and 0.3 s in; the plain request's answer (3 s) is no first token
    assert pooled.ttft_p50_ms == pytest.approx(200.0)
    assert pooled.ttft_p99_ms == pytest.approx(100.0 + 0.99 * 200.0)
    assert pooled.latency_p50_ms == pytest.approx(2500.0)


def test_ttft_is_the_latency_where_nothing_streams() -> None:
    records = [record(0.0, 2.0, 64), record(0.0, 3.0, 64)]
    pooled = pool_cell("berth", "uniform", 2, [Slice(records, opened=0.0, closed=4.0, cut=0)])
    assert pooled.ttft_p50_ms == pytest.approx(2500.0)


def test_a_window_shorter_than_a_request_still_has_percentiles() -> None:
    pooled = pool_cell("berth", "uniform", 1, [Slice([record(0.0, 5.0, 64)], 0.5, 2.5, cut=0)])
    assert pooled.latency_p50_ms == pytest.approx(5000.0)
    assert pooled.tokens_per_s == pytest.approx(64 * 0.4 / 2)


def test_errors_and_abandoned_requests_count_but_earn_no_tokens() -> None:
    records = [record(0.0, 1.0, 64), record(0.0, 1.0, 64, error="HTTP 503")]
    pooled = pool_cell("berth", "uniform", 2, [Slice(records, 0.0, 1.0, cut=1)])
    assert (pooled.errors, pooled.cut) == (1, 1)
    assert pooled.tokens_per_s == pytest.approx(64.0)


def test_slices_pool_over_their_total_window() -> None:
    slices = [
        Slice([record(0.0, 10.0, 1000)], 0.0, 10.0, cut=0),
        Slice([record(0.0, 5.0, 1000)], 0.0, 5.0, cut=0),
    ]
    pooled = pool_cell("serve", "uniform", 1, slices)
    assert pooled.tokens_per_s == pytest.approx(2000 / 15)
    assert pooled.slice_tokens_per_s == pytest.approx([100.0, 200.0])


def test_raw_window_averages_rates_and_takes_median_latencies() -> None:
    raws = [
        {
            "batches": [
                {"batch": 1, "tokens_per_s": 100.0, "rps": 1.5, "p50_ms": 600.0, "first_token_ms": 9.0}
            ]
        },
        {
            "batches": [
                {"batch": 1, "tokens_per_s": 120.0, "rps": 1.9, "p50_ms": 500.0, "first_token_ms": 8.0}
            ]
        },
        {
            "batches": [
                {"batch": 1, "tokens_per_s": 110.0, "rps": 1.7, "p50_ms": 550.0, "first_token_ms": 7.0}
            ]
        },
    ]
    window = raw_window(raws, 1)
    assert window == pytest.approx(
        {"tokens_per_s": 110.0, "rps": 1.7, "p50_ms": 550.0, "first_token_ms": 8.0}
    )
    assert raw_window(raws, 16) == {}


def test_greedy_mismatches_compare_each_output_with_the_solo_output_of_its_request() -> None:
    solo = {UNIFORM.key: "text 64"}
    records = [
        record(0, 1, 64),
        record(0, 1, 63),
        record(0, 1, 32, STREAMED),
        record(0, 1, 1, error="HTTP 500"),
    ]
    assert greedy_mismatches(records, solo) == (2, 1, [UNIFORM.key])


def test_targets_judge_the_ratios_and_skip_what_was_not_measured() -> None:
    cells = [
        cell("berth", "mixed", 16, 900.0, ttft_ms=110.0),
        cell("serve", "mixed", 16, 800.0, ttft_ms=100.0),
        cell("berth-prev", "mixed", 16, 400.0),
        cell("berth", "uniform", 16, 1000.0),
    ]
    lines = targets(cells, {16: {"tokens_per_s": 1200.0}}, {"compared": 10, "mismatched": 0})
    assert "PASS: mixed@16 tokens/s: 1.12x transformers serve (target >= 1.0x)" in lines
    assert "FAIL: mixed@16 tokens/s: 2.25x berth previous (target >= 3.0x)" in lines
    assert "PASS: mixed@16 TTFT p50: 1.10x transformers serve's (target <= 1.2x)" in lines
    assert "FAIL: uniform@16 tokens/s: 0.83x raw static batch of 16 (target >= 0.9x)" in lines
    assert "SKIP: uniform@1 tokens/s: not measured in this run" in lines
    assert any(line.startswith("PASS: greedy: 0 of 10") for line in lines)


def test_clients_start_at_their_own_offsets_and_even_ones_stream() -> None:
    uniform = [f"u{i}" for i in range(16)]
    pool = [("chat" if i % 2 else "completion", f"m{i}", 16 + i) for i in range(32)]
    plans = [client_requests("mixed", i, 4, uniform, pool) for i in range(4)]  # type: ignore[arg-type]
    assert [p[0].prompt for p in plans] == ["m0", "m8", "m16", "m24"]
    assert [p[0].stream for p in plans] == [True, False, True, False]
    assert {len(p) for p in plans} == {32}
    first = client_requests("uniform", 1, 16, uniform, pool)  # type: ignore[arg-type]
    assert first[0] == Request("completion", "u1", 64, stream=False)
