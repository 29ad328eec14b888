"""The worker's generation metrics, read back from the Prometheus text a scrape gets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from berth.worker.metrics import WorkerMetrics


@dataclass
class Numbers:
    running: int
    waiting: int
    kv_tokens: int
    kv_budget_tokens: int
    max_sequences: int = 8  # the engine reports more than the gauges show


def samples(metrics: WorkerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_tokens_count_and_each_token_gets_its_share_of_the_wait() -> None:
    metrics = WorkerMetrics("chat", lambda: 0)
    metrics.observe_first_token(0.2, 1)  # the first token counts too
    metrics.observe_tokens(1, 0.004)
    metrics.observe_tokens(3, 0.03)  # three tokens released together after 30 ms: 10 ms each
    metrics.observe_tokens(0, 0.5)  # nothing released: no token, no latency
    assert value(metrics, "berth_generation_tokens_total") == 5
    assert value(metrics, "berth_time_to_first_token_seconds_count") == 1
    assert value(metrics, "berth_time_to_first_token_seconds_bucket", le="0.25") == 1
    assert value(metrics, "berth_time_to_first_token_seconds_bucket", le="0.1") == 0
    assert value(metrics, "berth_inter_token_latency_seconds_count") == 4
    assert value(metrics, "berth_inter_token_latency_seconds_sum") == pytest.approx(0.034)
    assert value(metrics, "berth_inter_token_latency_seconds_bucket", le="0.005") == 1
    assert value(metrics, "berth_inter_token_latency_seconds_bucket", le="0.01") == 4


def test_engine_gauges_are_read_at_each_scrape() -> None:
    metrics = WorkerMetrics("chat", lambda: 0)
    assert ("berth_sequences_running", ()) not in samples(metrics)  # no engine: no engine gauges
    current: list[Numbers | None] = [Numbers(running=3, waiting=2, kv_tokens=1500, kv_budget_tokens=4096)]
    metrics.watch_engine(lambda: current[0])
    assert value(metrics, "berth_sequences_running") == 3
    assert value(metrics, "berth_sequences_waiting") == 2
    assert value(metrics, "berth_kv_cache_tokens") == 1500
    assert value(metrics, "berth_kv_cache_budget_tokens") == 4096
    current[0] = Numbers(running=1, waiting=0, kv_tokens=40, kv_budget_tokens=4096)
    assert value(metrics, "berth_sequences_running") == 1
    assert value(metrics, "berth_kv_cache_tokens") == 40
    current[0] = None  # the engine not started yet (or stopped)
    assert value(metrics, "berth_sequences_waiting") == 0
    metrics.watch_engine(lambda: Numbers(running=5, waiting=0, kv_tokens=0, kv_budget_tokens=1))
    assert value(metrics, "berth_sequences_running") == 5  # watching again replaces the source
