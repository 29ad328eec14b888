"""Prometheus metrics of one worker, in a registry of its own (so tests can build many apps).

Requests and batches are measured for every task; text generation adds tokens, time to first token,
inter-token latency and the engine's sequences and KV cache, the last read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# One decode step of a small model on a CPU is a few milliseconds, of a large one on a GPU tens.
TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1)


class EngineNumbers(Protocol):
    """What the gauges read from the generation engine's stats (`EngineStats` has these and more)."""

    @property
    def running(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def kv_tokens(self) -> int: ...
    @property
    def kv_budget_tokens(self) -> int: ...


class WorkerMetrics:
    def __init__(self, deployment: str, queue_depth: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        labels = {"deployment": deployment}
        self.requests = Counter(
            "berth_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "berth_request_duration_seconds",
            "Time from request received to response ready, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "berth_batch_size", "Inputs per model call.", buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.batch_seconds = Histogram(
            "berth_batch_duration_seconds",
            "Time the model spends on one batch.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge("berth_queue_depth", "Inputs waiting for a batch.", registry=self.registry)
        self.queue_depth.set_function(lambda: float(queue_depth()))
        info = Gauge(
            "berth_worker_info", "The deployment this worker serves.", list(labels), registry=self.registry
        )
        info.labels(**labels).set(1)
        self._children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self.generated_tokens = Counter(
            "berth_generation_tokens", "Tokens generated and returned.", registry=self.registry
        )
        self.first_token = Histogram(
            "berth_time_to_first_token_seconds",
            "Time from a generation request queued to its first token.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inter_token = Histogram(
            "berth_inter_token_latency_seconds",
            "Time between two tokens of one sequence.",
            buckets=TOKEN_BUCKETS,
            registry=self.registry,
        )
        self._engine: EngineCollector | None = None

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        # NOTE: `labels()` validates and locks on every call; the children never change, so keep them.
        key = (route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, str(status)),
                self.latency.labels(route),
            )
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def observe_first_token(self, seconds: float, count: int) -> None:
        """A sequence's first `count` tokens (its first delta) arrived `seconds` after its request."""
        self.first_token.observe(seconds)
        if count > 0:
            self.generated_tokens.inc(count)

    def observe_tokens(self, count: int, seconds_since_previous: float) -> None:
        """`count` tokens of one sequence arrived `seconds_since_previous` after its previous ones."""
        if count <= 0:
            return
        self.generated_tokens.inc(count)
        # NOTE: tokens released together (text held back at a possible stop string) shared the wait:
        # each counts once at its share, so the histogram stays per token.
        share = seconds_since_previous / count
        for _ in range(count):
            self.inter_token.observe(share)

    def watch_engine(self, stats: Callable[[], EngineNumbers | None]) -> None:
        """Report the engine's sequences and KV cache, read from `stats` at each scrape (once)."""
        if self._engine is None:
            self._engine = EngineCollector(stats)
            self.registry.register(self._engine)
        else:
            self._engine.stats = stats

    def render(self) -> bytes:
        return generate_latest(self.registry)


class EngineCollector(Collector):
    """The engine's gauges, from one read of its stats per scrape (so they agree with each other)."""

    def __init__(self, stats: Callable[[], EngineNumbers | None]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        numbers = self.stats()
        for name, text, attribute in (
            ("berth_sequences_running", "Sequences the engine is generating.", "running"),
            ("berth_sequences_waiting", "Sequences waiting for room in the engine.", "waiting"),
            ("berth_kv_cache_tokens", "Tokens held in the KV cache.", "kv_tokens"),
            ("berth_kv_cache_budget_tokens", "Tokens the KV cache may hold.", "kv_budget_tokens"),
        ):
            value = 0.0 if numbers is None else float(getattr(numbers, attribute))
            yield GaugeMetricFamily(name, text, value=value)
