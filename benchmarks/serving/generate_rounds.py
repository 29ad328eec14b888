"""The generation benchmark's plan: each cell (workload x client count) measured in rounds, every round
giving each running contender one slice, in an order that rotates from round to round and cell to
cell, so that no contender always runs first, right after raw, or last.

Everything is up at once and only the contender of the slice runs: the others are frozen, and for
the uniform workload raw `generate` on a static batch of the same size is measured before the first
round and after each one, all servers frozen. A cell is judged against raw of its own window, as
serve.py does: these machines drift by 10-25 % within minutes.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from generate_corpus import Kind, Request, client_requests
from serving.cpu import CpuWatch, tree_cpu_s, tree_rss_mb
from serving.env import progress
from serving.generate_load import Record, Slice, closed_loop, make_client, send
from serving.generate_servers import Contender, freeze, thaw
from serving.generate_stats import Cell, pool_cell, raw_window
from serving.processes import RawBaseline

RAW_MIN_CALLS = 2
WARM_SECONDS = 1.0  # a first slice right after start-up, never measured: lazy loads, kernel picks


@dataclass
class Plan:
    seconds: float
    rounds: int
    warmup: float
    raw_seconds: float
    concurrency: list[int]
    workloads: list[str]
    contenders: list[Contender]
    procs: dict[str, subprocess.Popen[bytes]]
    raw: RawBaseline | None
    tokenizer: Any
    uniform: list[str]
    pool: list[tuple[Kind, str, int]]
    cells: list[Cell] = field(default_factory=list)
    raw_cells: dict[int, dict[str, float]] = field(default_factory=dict)
    berth_records: list[tuple[str, int, Record]] = field(default_factory=list)

    def running(self) -> list[Contender]:
        return [c for c in self.contenders if c.failure is None]


class PeakRss(threading.Thread):
    """Samples a process tree's RSS every 0.2 s while a slice runs; `peak` is the highest seen."""

    def __init__(self, pid: int, peak: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, peak, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            try:
                self.peak = max(self.peak, tree_rss_mb(self.pid))
            except psutil.Error:
                return

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()


def plans_for(plan: Plan, workload: str, clients: int) -> list[list[Request]]:
    return [client_requests(workload, i, clients, plan.uniform, plan.pool) for i in range(clients)]


def run_slice(
    plan: Plan, contender: Contender, workload: str, clients: int, warmup: float, seconds: float
) -> tuple[Slice, dict[str, float]]:
    """One slice of `contender`, thawed for it and frozen again after; its CPU and RSS accounted."""
    thaw(contender)
    try:
        cpu_before, own_before = tree_cpu_s(contender.pid), time.process_time()
        with PeakRss(contender.pid, contender.peak_rss_mb) as rss, CpuWatch() as watch:
            piece = asyncio.run(
                closed_loop(
                    contender.base_url,
                    contender.model,
                    plans_for(plan, workload, clients),
                    warmup,
                    seconds,
                    plan.tokenizer,
                )
            )
        contender.peak_rss_mb = max(rss.peak, tree_rss_mb(contender.pid))
        server = (tree_cpu_s(contender.pid) - cpu_before) / watch.wall
        client = (time.process_time() - own_before) / watch.wall
    finally:
        freeze(contender)
    cpu = {"server": server, "client": client, "other": max(0.0, watch.machine - server - client)}
    return piece, cpu


def warm_all(plan: Plan) -> None:
    """One unmeasured mixed slice per contender: lazy initialisation (transformers serve's continuous
    batching manager starts on its first request) happens here, not in a measured slice."""
    for contender in plan.running():
        guarded(plan, contender, lambda c=contender: run_slice(plan, c, "mixed", 4, 0.0, WARM_SECONDS))


def guarded(plan: Plan, contender: Contender, body: Any) -> Any:
    """A contender that fails or dies is reported as failed and left out of the rest of the run."""
    try:
        result = body()
    except (RuntimeError, OSError, psutil.Error) as exc:
        contender.failure = str(exc)
        progress(f"{contender.name}: FAILED: {exc}")
        return None
    proc = plan.procs[contender.name]
    if proc.poll() is not None:
        contender.failure = f"exited with code {proc.returncode} during the run"
        progress(f"{contender.name}: FAILED: {contender.failure}")
        return None
    return result


def measure_raw(plan: Plan, clients: int, raws: list[dict[str, Any]]) -> None:
    if plan.raw is not None:
        raws.append(plan.raw.measure([clients], plan.raw_seconds, RAW_MIN_CALLS))


def measure_cell(plan: Plan, workload: str, clients: int, index: int) -> None:
    slices: dict[str, list[Slice]] = {c.name: [] for c in plan.running()}
    cpus: dict[str, list[dict[str, float]]] = {c.name: [] for c in plan.running()}
    raws: list[dict[str, Any]] = []
    uniform = workload == "uniform"
    if uniform:
        measure_raw(plan, clients, raws)
    for round_index in range(plan.rounds):
        order = plan.running()
        turn = (round_index + index) % max(1, len(order))
        for contender in order[turn:] + order[:turn]:
            warmup = plan.warmup

            def one(c: Contender = contender, w: float = warmup) -> tuple[Slice, dict[str, float]]:
                return run_slice(plan, c, workload, clients, w, plan.seconds)

            result = guarded(plan, contender, one)
            if result is not None:
                slices[contender.name].append(result[0])
                cpus[contender.name].append(result[1])
        if uniform:
            measure_raw(plan, clients, raws)
    for contender in plan.running():
        pieces = slices.get(contender.name) or []
        if not pieces:
            continue
        cell = pool_cell(contender.name, workload, clients, pieces)
        used = cpus[contender.name]
        cell.server_cpu = sum(u["server"] for u in used) / len(used)
        cell.client_cpu = sum(u["client"] for u in used) / len(used)
        cell.other_cpu = max(u["other"] for u in used)
        plan.cells.append(cell)
        if contender.name == "berth":
            plan.berth_records += [(workload, clients, r) for p in pieces for r in p.records]
        progress(
            f"{contender.name} {workload}@{clients}: {cell.tokens_per_s:.0f} tok/s, "
            f"{cell.requests_per_s:.2f} req/s, p50 {cell.latency_p50_ms:.0f} ms, "
            f"TTFT p50 {cell.ttft_p50_ms:.0f} ms, errors {cell.errors}, "
            f"server {cell.server_cpu:.2f} cores, client {cell.client_cpu:.2f}, other {cell.other_cpu:.2f}"
        )
    if raws:
        plan.raw_cells[clients] = raw_window(raws, clients)
        window = plan.raw_cells[clients]
        progress(
            f"raw batch {clients}: {window['tokens_per_s']:.0f} tok/s, call p50 {window['p50_ms']:.0f} ms"
        )


def measure_all(plan: Plan) -> None:
    warm_all(plan)
    index = 0
    for workload in plan.workloads:
        for clients in plan.concurrency:
            measure_cell(plan, workload, clients, index)
            index += 1


def solo_outputs(plan: Plan) -> dict[tuple[str, str, int], str]:
    """berth's output of each request alone: from its one-client slices, and for the requests only
    sent at higher concurrency, one request at a time now."""
    solo: dict[tuple[str, str, int], str] = {}
    for _, clients, record in plan.berth_records:
        if clients == 1 and record.error is None:
            solo.setdefault(record.request.key, record.text)
    missing = {r.request.key: r.request for _, _, r in plan.berth_records if r.request.key not in solo}
    berth = next((c for c in plan.running() if c.name == "berth"), None)
    if not missing or berth is None:
        return solo
    progress(f"berth: {len(missing)} requests alone, for the greedy check")

    async def alone() -> None:
        client = make_client(berth.base_url)
        try:
            for key, request in missing.items():
                one = Request(request.kind, request.prompt, request.max_tokens, stream=False)
                _, _, solo[key] = await send(client, berth.model, one, plan.tokenizer)
        finally:
            await client.close()

    thaw(berth)
    try:
        asyncio.run(alone())
    finally:
        freeze(berth)
    return solo
