"""Traffic statistics from the workers' Prometheus text: rates, histogram quantiles, batch sizes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from berth.control.stats import Totals, point, quantile_ms

WORKER_METRICS = """\
# TYPE berth_requests_total counter
berth_requests_total{{route="predict",status="200"}} {ok}
berth_requests_total{{route="predict",status="500"}} {errors}
berth_requests_total{{route="ready",status="200"}} 999
# TYPE berth_request_duration_seconds histogram
berth_request_duration_seconds_bucket{{route="predict",le="0.005"}} {fast}
berth_request_duration_seconds_bucket{{route="predict",le="0.01"}} {medium}
berth_request_duration_seconds_bucket{{route="predict",le="+Inf"}} {total}
berth_request_duration_seconds_count{{route="predict"}} {total}
berth_request_duration_seconds_sum{{route="predict"}} 1.0
berth_request_duration_seconds_bucket{{route="ready",le="0.005"}} 999
berth_request_duration_seconds_bucket{{route="ready",le="0.01"}} 999
berth_request_duration_seconds_bucket{{route="ready",le="+Inf"}} 999
# TYPE berth_batch_size histogram
berth_batch_size_sum {batch_sum}
berth_batch_size_count {batches}
"""


def totals(ts: float, *replicas: dict[str, float]) -> Totals:
    collected = Totals(ts=ts)
    for values in replicas:
        collected.add(WORKER_METRICS.format(**values))
    return collected


def test_a_point_sums_replicas_and_ignores_health_routes() -> None:
    zero = {"ok": 0, "errors": 0, "fast": 0, "medium": 0, "total": 0, "batch_sum": 0, "batches": 0}
    busy = {"ok": 90, "errors": 10, "fast": 50, "medium": 90, "total": 100, "batch_sum": 100, "batches": 25}
    before = totals(100.0, zero, zero)
    after = totals(110.0, busy, busy)
    sample = point(before, after)
    assert sample.requests_per_s == 20.0  # 2 replicas x 100 requests over 10 s; 999 probes ignored
    assert sample.errors_per_s == 2.0
    assert sample.batch_size == 4.0
    assert sample.p50_ms == pytest.approx(5.0)  # half the requests are under 5 ms
    assert sample.p95_ms == pytest.approx(10.0)  # beyond the last finite bound: its lower edge


def test_quantiles_interpolate_within_a_bucket_and_need_traffic() -> None:
    buckets = [(0.01, 0.0), (0.02, 100.0), (float("inf"), 100.0)]
    assert quantile_ms(buckets, 0.5) == pytest.approx(15.0)
    assert quantile_ms([(0.01, 0.0), (float("inf"), 0.0)], 0.5) is None
    assert quantile_ms([], 0.5) is None


def test_generation_numbers_come_from_the_workers_own_metrics() -> None:
    from berth.worker.metrics import WorkerMetrics

    @dataclass
    class Engine:
        running: int
        waiting: int
        kv_tokens: int = 0
        kv_budget_tokens: int = 1024

    replicas = [WorkerMetrics("chat", lambda: 0) for _ in range(2)]
    for replica in replicas:
        replica.watch_engine(lambda: Engine(running=3, waiting=1))

    def scrape(ts: float) -> Totals:
        collected = Totals(ts=ts)
        for replica in replicas:
            collected.add(replica.render().decode())
        return collected

    before = scrape(100.0)
    for replica in replicas:
        for _ in range(4):
            replica.observe_first_token(0.03, 1)  # between the 25 and 50 ms bounds; a token each
        replica.observe_tokens(46, 1.0)
    sample = point(before, scrape(110.0))
    assert sample.tokens_per_s == 10.0  # 2 replicas x 50 tokens over 10 s
    assert sample.ttft_p50_ms is not None
    assert 25.0 < sample.ttft_p50_ms <= 50.0
    assert (sample.sequences_running, sample.sequences_waiting) == (6, 2)


def test_other_tasks_report_no_generation_numbers() -> None:
    from berth.worker.metrics import WorkerMetrics

    replica = WorkerMetrics("minilm", lambda: 0)
    before, after = Totals(ts=0.0), Totals(ts=5.0)
    before.add(replica.render().decode())
    after.add(replica.render().decode())
    sample = point(before, after)
    assert (sample.tokens_per_s, sample.ttft_p50_ms, sample.sequences_running) == (None, None, None)
