"""Load generation for the serving benchmark: wrk passes against a server's `/predict` (with
`benchmarks/wrk_post.lua`, which cycles through the corpus and prints a JSON summary), and the one
plain request that checks a server returns the raw model's embedding.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from typing import Any

from corpus import EMBEDDING_DIM, SENTENCES
from serving.cpu import CpuWatch, tree_cpu_s, tree_rss_mb
from serving.env import WRK_SCRIPT
from serving.results import Pass


def request_bodies() -> list[str]:
    return [json.dumps({"text": s}) for s in SENTENCES]


def run_wrk(
    url: str, clients: int, seconds: float, bodies: list[str] | None = None
) -> tuple[dict[str, Any], CpuWatch]:
    """One wrk pass: its JSON summary (see wrk_post.lua) and the CPU that wrk and the machine used.

    `bodies` are wrk_post.lua's arguments (`content-type=image/jpeg`, `@file.jpg`, ...); by default the
    corpus's JSON bodies.
    """
    # One wrk thread, whatever the concurrency: a single epoll thread drives 64 connections at these
    # rates (a few hundred req/s) using a few percent of a core, while every extra runnable thread
    # on a 2-core machine competes with torch's two compute threads in the server.
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(WRK_SCRIPT), url]
    cmd += ["--", *(request_bodies() if bodies is None else bodies)]
    with CpuWatch() as watch:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    match = re.search(r"^WRK_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed (rc {out.returncode}):\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
    return json.loads(match.group(1)), watch


def measure_pass(
    name: str,
    url: str,
    pid: int,
    clients: int,
    seconds: float,
    warmup: float,
    bodies: list[str] | None = None,
) -> Pass:
    if warmup > 0:  # fills the batcher's and the allocator's steady state at this concurrency
        run_wrk(url, clients, warmup, bodies)
    rss_start, cpu_before = tree_rss_mb(pid), tree_cpu_s(pid)
    summary, watch = run_wrk(url, clients, seconds, bodies)
    server_cpu = (tree_cpu_s(pid) - cpu_before) / watch.wall
    errors = {k: int(summary[k]) for k in ("connect", "read", "write", "status", "timeout")}
    ok = summary["requests"] - errors["status"]
    seconds = summary["duration_us"] / 1e6
    return Pass(
        server=name,
        clients=clients,
        seconds=seconds,
        rps=ok / seconds,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        requests=int(summary["requests"]),
        errors=errors,
        wrk_cpu=watch.children,
        server_cpu=server_cpu,
        other_cpu=max(0.0, watch.machine - watch.children - server_cpu),
        rss_start_mb=rss_start,
        rss_end_mb=tree_rss_mb(pid),
    )


def post_json(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def embedding_of(server: str, payload: Any) -> list[float]:
    """The one embedding in a /predict response; raises if the shape is not the documented one."""
    if server == "berth":
        if not (isinstance(payload, dict) and payload.get("status") == "success"):
            raise RuntimeError(f"unexpected berth response: {str(payload)[:300]}")
        payload = payload["result"]
        if isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], list):
            payload = payload[0]  # berth's /predict shape: one row per input, [[...384 floats]]
    if not (isinstance(payload, list) and len(payload) == EMBEDDING_DIM):
        raise RuntimeError(f"unexpected {server} embedding: {str(payload)[:300]}")
    return [float(x) for x in payload]
