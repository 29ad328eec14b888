"""The records a serving benchmark run produces: one `Pass` per server and concurrency, one `ServerRun`
per server. Plain dataclasses, so that the report's JSON is `asdict` of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Pass:
    """A server at one concurrency: one wrk slice, or a concurrency's slices pooled (`pooled`)."""

    server: str
    clients: int
    seconds: float  # measured wrk time
    rps: float  # successful (status < 400) responses per second
    p50_ms: float
    p99_ms: float
    requests: int
    errors: dict[str, int]
    wrk_cpu: float  # cores the load generator used (of 2): its share is taken from the server
    server_cpu: float  # cores the server's process tree used
    other_cpu: float  # cores used by anything else on the machine: noise, should be ~0
    rss_start_mb: float  # server process tree RSS after the warm-up pass, and after the measured pass
    rss_end_mb: float
    raw_rps: float = 0.0  # raw best-batch req/s over the window of the slices (0: one client)
    raw_p50_ms: float = 0.0  # raw batch-1 p50, median over the same window (one client only)
    round_ratios: list[float] = field(default_factory=list)  # each slice against the raw on both sides
    round_over_ms: list[float] = field(default_factory=list)  # one client: each slice's p50 over raw
    raw_lanes_rps: float = 0.0  # raw as two single-threaded batches at once, mean over the window

    @property
    def raw_ratio(self) -> float:
        return self.rps / self.raw_rps if self.raw_rps else float("nan")

    @property
    def lanes_ratio(self) -> float:
        return self.rps / self.raw_lanes_rps if self.raw_lanes_rps else float("nan")

    @property
    def over_raw_ms(self) -> float:
        return self.p50_ms - self.raw_p50_ms

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class ServerRun:
    name: str
    passes: list[Pass] = field(default_factory=list)
    rss_ready_mb: float | None = None
    embedding_max_diff: float | None = None  # vs the raw reference embedding of SENTENCES[0]
    failure: str | None = None


def pass_at(run: ServerRun | None, clients: int) -> Pass | None:
    return next((p for p in run.passes if p.clients == clients), None) if run else None
