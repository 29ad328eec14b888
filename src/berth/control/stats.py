"""Recent traffic per deployment, for the dashboard and charts: sampled from the workers' /metrics.

Every `INTERVAL_S` the control plane scrapes each ready replica's Prometheus text, sums the replicas,
and turns the change since the last sample into one `StatsPoint` (rates, and latency quantiles from
the histogram's bucket deltas, as PromQL's histogram_quantile does). A text-generation worker adds
tokens per second, the time to first token and its engine's running and waiting sequences. Samples
live in memory only: they describe the last minutes, which a restart of the control plane may forget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from berth.api.types import DeploymentStats, StatsPoint
from berth.control.supervisor import Supervisor

log = logging.getLogger("berth.stats")

INTERVAL_S = 5.0
HISTORY = 120  # ten minutes at the default interval
INFERENCE_ROUTES = frozenset(
    {
        "predict",
        "v2_infer",
        "openai_embeddings",
        "openai_completions",
        "openai_chat",
        "ollama_generate",
        "ollama_chat",
        "ollama_embed",
        "ollama_embeddings",
    }
)


@dataclass
class Totals:
    """Cumulative counters summed over a deployment's replicas at one moment."""

    ts: float
    requests: float = 0.0
    errors: float = 0.0
    latency_buckets: dict[float, float] = field(default_factory=dict)  # upper bound (s) → cumulative count
    batch_sum: float = 0.0
    batch_count: float = 0.0
    generation: bool = False  # a replica reported engine gauges: it generates text
    tokens: float = 0.0
    first_token_buckets: dict[float, float] = field(default_factory=dict)
    running: float = 0.0  # gauges: the sum over replicas now, not a change
    waiting: float = 0.0

    def add(self, text: str) -> None:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if sample.name == "berth_requests_total" and labels.get("route") in INFERENCE_ROUTES:
                    self.requests += sample.value
                    if labels.get("status", "").startswith("5"):
                        self.errors += sample.value
                elif (
                    sample.name == "berth_request_duration_seconds_bucket"
                    and labels.get("route") in INFERENCE_ROUTES
                ):
                    bound = float(labels["le"])
                    self.latency_buckets[bound] = self.latency_buckets.get(bound, 0.0) + sample.value
                elif sample.name == "berth_batch_size_sum":
                    self.batch_sum += sample.value
                elif sample.name == "berth_batch_size_count":
                    self.batch_count += sample.value
                elif sample.name == "berth_generation_tokens_total":
                    self.tokens += sample.value
                elif sample.name == "berth_time_to_first_token_seconds_bucket":
                    bound = float(labels["le"])
                    self.first_token_buckets[bound] = self.first_token_buckets.get(bound, 0.0) + sample.value
                elif sample.name == "berth_sequences_running":
                    self.generation = True
                    self.running += sample.value
                elif sample.name == "berth_sequences_waiting":
                    self.waiting += sample.value


class StatsCollector:
    def __init__(self, supervisor: Supervisor, api_key: str | None, interval_s: float = INTERVAL_S) -> None:
        self.supervisor, self.interval_s = supervisor, interval_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._last: dict[str, Totals] = {}
        self._points: dict[str, deque[StatsPoint]] = {}
        self._task: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(timeout=2, trust_env=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="berth-stats")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()

    def stats(self, name: str) -> DeploymentStats:
        last = self._last.get(name)
        return DeploymentStats(
            name=name,
            interval_s=self.interval_s,
            requests_total=int(last.requests) if last else 0,
            uptime_s=self.supervisor.uptime_s(name),
            points=list(self._points.get(name, ())),
        )

    async def _run(self) -> None:
        while True:
            names = self.supervisor.running()
            for gone in set(self._last) - set(names):
                self._last.pop(gone, None)
                self._points.pop(gone, None)
            await asyncio.gather(*(self._sample(name) for name in names))
            await asyncio.sleep(self.interval_s)

    async def _sample(self, name: str) -> None:
        totals = Totals(ts=time.time())
        host = self.supervisor.connect_host
        for port in self.supervisor.ready_ports(name):
            try:
                response = await self._http.get(f"http://{host}:{port}/metrics", headers=self._headers)
                totals.add(response.text)
            except (httpx.HTTPError, ValueError) as exc:
                log.debug("could not scrape %s on port %d: %s", name, port, exc)
        previous = self._last.get(name)
        self._last[name] = totals
        if previous is not None and totals.requests >= previous.requests:  # a restart resets counters
            self._points.setdefault(name, deque(maxlen=HISTORY)).append(point(previous, totals))


def point(before: Totals, after: Totals) -> StatsPoint:
    seconds = max(after.ts - before.ts, 1e-9)
    deltas = _bucket_deltas(before.latency_buckets, after.latency_buckets)
    batches = after.batch_count - before.batch_count
    generation = after.generation
    first_tokens = _bucket_deltas(before.first_token_buckets, after.first_token_buckets)
    return StatsPoint(
        ts=after.ts,
        requests_per_s=round((after.requests - before.requests) / seconds, 3),
        errors_per_s=round((after.errors - before.errors) / seconds, 3),
        p50_ms=quantile_ms(deltas, 0.50),
        p95_ms=quantile_ms(deltas, 0.95),
        batch_size=round((after.batch_sum - before.batch_sum) / batches, 2) if batches > 0 else None,
        tokens_per_s=round(max(after.tokens - before.tokens, 0.0) / seconds, 3) if generation else None,
        ttft_p50_ms=quantile_ms(first_tokens, 0.50) if generation else None,
        sequences_running=int(after.running) if generation else None,
        sequences_waiting=int(after.waiting) if generation else None,
    )


def _bucket_deltas(before: dict[float, float], after: dict[float, float]) -> list[tuple[float, float]]:
    """A cumulative histogram's counts over the interval, by upper bound, in order."""
    return sorted((bound, after.get(bound, 0.0) - before.get(bound, 0.0)) for bound in after)


def quantile_ms(cumulative: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a cumulative histogram, interpolated within its bucket (histogram_quantile)."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return round(lower_bound * 1000, 3)
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return round((lower_bound + (bound - lower_bound) * share) * 1000, 3)
        lower_bound, lower_count = bound, count
    return None
