"""Prometheus metrics of one worker, in a registry of its own (so tests can build many apps)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
