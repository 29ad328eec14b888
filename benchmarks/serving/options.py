"""The serving benchmark's command line and the parameters every phase reads (`Args`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from serving.env import ROOT

if TYPE_CHECKING:
    from serving.processes import RawBaseline


@dataclass
class Args:
    duration: int  # wrk takes whole seconds
    rounds: int
    warmup: float
    raw_seconds: float
    concurrency: list[int]
    max_batch_size: int
    skip_litserve: bool
    nice: int
    json: bool
    berth_python: str
    litserve_python: str
    raw: RawBaseline | None = None  # started by main, used by every server pass
    report: dict[str, Any] = field(default_factory=dict)  # shared with main, for busy_before


def half(seconds: int) -> int:
    """The length of a one-client slice: that pass runs twice the rounds of half the duration."""
    return max(1, seconds // 2)


def parse_args(description: str) -> Args:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured wrk slice (5)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="wrk slices per concurrency, each followed by raw (3)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of wrk warm-up before each pass (2)"
    )
    parser.add_argument("--raw-seconds", type=float, default=3.0, help="seconds per raw batch size (3)")
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma-separated client counts")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=32,
        help="batch cap for berth and LitServe alike (32, the spec default)",
    )
    parser.add_argument("--skip-litserve", action="store_true", help="measure raw and berth only")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of Markdown")
    parser.add_argument(
        "--nice",
        type=int,
        default=-10,
        help="niceness for the benchmark and everything it starts (-10; 0 leaves it; < 0 needs root)",
    )
    parser.add_argument("--berth-python", default=sys.executable, help="python that runs berth.worker")
    parser.add_argument(
        "--litserve-python", default=str(ROOT / ".venv-bench" / "bin" / "python"), help="python with litserve"
    )
    ns = parser.parse_args()
    return Args(
        duration=ns.duration,
        rounds=max(1, ns.rounds),
        warmup=ns.warmup,
        raw_seconds=ns.raw_seconds,
        concurrency=[int(c) for c in ns.concurrency.split(",") if c.strip()],
        max_batch_size=ns.max_batch_size,
        skip_litserve=ns.skip_litserve,
        nice=ns.nice,
        json=ns.json,
        berth_python=ns.berth_python,
        litserve_python=ns.litserve_python,
    )
