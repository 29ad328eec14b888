"""`berth top | bench`: live CPU/RAM/GPU per replica, and a quick latency/throughput run."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

import typer

from berth.cli.common import client, parse_input, print_json

REFRESH_S = 1.0


def top(
    once: Annotated[bool, typer.Option("--once", help="Print one table and exit.")] = False,
) -> None:
    """Live CPU %, RSS and GPU memory of every replica, refreshed each second (like `docker stats`)."""
    from rich.live import Live

    from berth.cli.render import console, processes_table

    with client() as berth:
        if once:
            console.print(processes_table(berth.system()))
            return
        try:
            with Live(processes_table(berth.system()), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(REFRESH_S)
                    live.update(processes_table(berth.system()), refresh=True)
        except KeyboardInterrupt:  # Ctrl-C is how one leaves `top`
            return


def bench(
    name: Annotated[str, typer.Argument(help="The deployment's name.", show_default=False)],
    requests: Annotated[int, typer.Option("--requests", "-n", help="Requests to send.", min=1)] = 200,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="In flight at once.", min=1)] = 8,
    text: Annotated[
        str, typer.Option("--input", metavar="INPUT", help="As for `berth predict`.")
    ] = "I love this product!",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Send N requests through the control plane's proxy; print p50/p99 latency and requests/s."""
    from concurrent.futures import ThreadPoolExecutor

    body = parse_input(text)
    with client() as berth:
        berth.predict(name, body)  # a warm-up call, which also fails fast on a wrong name

        def timed(_: int) -> float:
            started = time.perf_counter()
            berth.predict(name, body)
            return time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            latencies = sorted(pool.map(timed, range(requests)))
        wall = time.perf_counter() - started
    result = summary(latencies, wall, concurrency)
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"{name}: {requests} requests, concurrency {concurrency}: "
        f"p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"{result['requests_per_s']:.1f} req/s"
    )


def summary(latencies: list[float], wall_s: float, concurrency: int) -> dict[str, Any]:
    """Nearest-rank percentiles (in ms) of sorted latencies, and throughput."""

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, max(0, math.ceil(q * len(latencies)) - 1))] * 1000

    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "mean_ms": sum(latencies) / len(latencies) * 1000,
        "requests_per_s": len(latencies) / wall_s,
    }
