"""The generation benchmark's report: a Markdown table per workload, the ratio lines of the targets
(PASS / FAIL, or SKIP when a run left the cell out), the greedy check and each server's peak RSS.
Targets are reported, never asserted.
"""

from __future__ import annotations

import math
from typing import Any

from generate_corpus import UNIFORM_MAX_TOKENS, UNIFORM_PROMPT_TOKENS
from serving.generate_stats import Cell

NOISE_CORES = 0.2  # other processes' CPU during a slice above which the run is marked noisy
WORKLOADS = {
    "uniform": f"/v1/completions, {UNIFORM_PROMPT_TOKENS}-token prompts, max_tokens {UNIFORM_MAX_TOKENS}, "
    "greedy, non-streaming",
    "mixed": "completions and chat, prompts of 8-96 tokens, max_tokens 16-128 (seeded), even-numbered "
    "clients streaming, greedy",
}


def find(cells: list[Cell], contender: str, workload: str, clients: int) -> Cell | None:
    return next(
        (c for c in cells if (c.contender, c.workload, c.clients) == (contender, workload, clients)), None
    )


def ratio(a: float | None, b: float | None) -> float:
    return a / b if a is not None and b else math.nan


def _x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def targets(cells: list[Cell], raws: dict[int, dict[str, float]], greedy: dict[str, Any]) -> list[str]:
    """One line per target: PASS, FAIL, or SKIP (what was not measured in this run)."""
    lines: list[str] = []

    def judge(label: str, value: float, bound: float, above: bool, what: str) -> None:
        if math.isnan(value):
            lines.append(f"SKIP: {label}: not measured in this run")
            return
        ok = value >= bound if above else value <= bound
        sign = ">=" if above else "<="
        lines.append(f"{'PASS' if ok else 'FAIL'}: {label}: {value:.2f}x {what} (target {sign} {bound}x)")

    def tokens(contender: str, workload: str, clients: int) -> float | None:
        cell = find(cells, contender, workload, clients)
        return cell.tokens_per_s if cell else None

    def ttft(contender: str, workload: str, clients: int) -> float | None:
        cell = find(cells, contender, workload, clients)
        return cell.ttft_p50_ms if cell else None

    raw16, raw1 = raws.get(16, {}), raws.get(1, {})
    judge(
        "mixed@16 tokens/s",
        ratio(tokens("berth", "mixed", 16), tokens("serve", "mixed", 16)),
        1.0,
        True,
        "transformers serve",
    )
    judge(
        "mixed@16 tokens/s",
        ratio(tokens("berth", "mixed", 16), tokens("berth-prev", "mixed", 16)),
        3.0,
        True,
        "berth previous",
    )
    judge(
        "mixed@16 TTFT p50",
        ratio(ttft("berth", "mixed", 16), ttft("serve", "mixed", 16)),
        1.2,
        False,
        "transformers serve's",
    )
    judge(
        "uniform@16 tokens/s",
        ratio(tokens("berth", "uniform", 16), raw16.get("tokens_per_s")),
        0.9,
        True,
        "raw static batch of 16",
    )
    judge(
        "uniform@1 tokens/s",
        ratio(tokens("berth", "uniform", 1), raw1.get("tokens_per_s")),
        0.95,
        True,
        "raw batch 1",
    )
    judge(
        "uniform@1 TTFT p50 (= latency, non-streaming)",
        ratio(ttft("berth", "uniform", 1), raw1.get("p50_ms")),
        1.1,
        False,
        "raw batch-1 call",
    )
    if greedy.get("compared"):
        verdict = "PASS" if greedy["mismatched"] == 0 else "FAIL"
        lines.append(
            f"{verdict}: greedy: {greedy['mismatched']} of {greedy['compared']} berth outputs differ "
            "from the same request's solo output (target 0)"
        )
    else:
        lines.append("SKIP: greedy: no berth output to compare")
    errors = sum(c.errors + c.cut for c in cells if c.contender == "berth")
    lines.append(f"{'PASS' if errors == 0 else 'FAIL'}: berth errors: {errors} (target 0)")
    return lines


def table(
    cells: list[Cell], raws: dict[int, dict[str, float]], workload: str, concurrency: list[int]
) -> list[str]:
    lines = [
        f"## {workload}: {WORKLOADS[workload]}",
        "",
        "| clients | contender | tokens/s | req/s | p50 ms | TTFT p50 ms | TTFT p99 ms | errors "
        "| slices tok/s | berth / it |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in concurrency:
        berth = find(cells, "berth", workload, clients)
        for cell in (c for c in cells if c.workload == workload and c.clients == clients):
            spread = ", ".join(f"{t:.0f}" for t in cell.slice_tokens_per_s)
            versus = (
                ""
                if cell.contender == "berth"
                else _x(ratio(berth.tokens_per_s if berth else None, cell.tokens_per_s))
            )
            lines.append(
                f"| {clients} | {cell.contender} | {cell.tokens_per_s:.0f} | {cell.requests_per_s:.2f} "
                f"| {_ms(cell.latency_p50_ms)} | {_ms(cell.ttft_p50_ms)} | {_ms(cell.ttft_p99_ms)} "
                f"| {cell.errors + cell.cut} | {spread} | {versus} |"
            )
        raw = raws.get(clients) if workload == "uniform" else None
        if raw:
            versus = _x(ratio(berth.tokens_per_s if berth else None, raw["tokens_per_s"]))
            first = f" (first token {raw['first_token_ms']:.0f} ms)" if "first_token_ms" in raw else ""
            lines.append(
                f"| {clients} | raw generate, static batch {clients}{first} | {raw['tokens_per_s']:.0f} "
                f"| {raw['rps']:.2f} | {raw['p50_ms']:.0f} | {raw['p50_ms']:.0f} | - | - | - | {versus} |"
            )
    return [*lines, ""]


def render(report: dict[str, Any], cells: list[Cell], raws: dict[int, dict[str, float]]) -> str:
    args = report["args"]
    about = report.get("raw_about") or {}
    lines = [
        "# Generation serving benchmark",
        "",
        f"{report['started']}, a random Llama {report['model']}, torch {about.get('torch', '?')} "
        f"({about.get('torch_threads', '?')} threads); {args['rounds']} rounds of {args['seconds']:g} s "
        f"slices (+{args['warmup']:g} s warm-up each) per cell, contenders rotating; "
        f"transformers serve's KV cache capped at {report['serve_kv_tokens']} tokens",
        "",
    ]
    for workload in args["workloads"]:
        lines += table(cells, raws, workload, args["concurrency"])
    lines += ["## Targets", "", *targets(cells, raws, report["greedy"]), ""]
    greedy = report["greedy"]
    if greedy.get("raw_compared"):
        lines.append(
            f"INFO: berth's solo output equals raw `generate`'s for {greedy['raw_equal']} of "
            f"{greedy['raw_compared']} uniform prompts"
        )
    lines += ["", "## Memory and noise", ""]
    for name, server in report["servers"].items():
        state = f", FAILED: {server['failure']}" if server.get("failure") else ""
        lines.append(f"- {name}: peak RSS {server['peak_rss_mb']:.0f} MB{state}")
    if report.get("raw_peak_rss_mb"):
        lines.append(f"- raw process: RSS {report['raw_peak_rss_mb']:.0f} MB after its largest batch")
    noisy = max((c.other_cpu for c in cells), default=0.0)
    if noisy > NOISE_CORES:
        lines.append(
            f"WARN: other processes took up to {noisy:.2f} cores during a slice: rerun on an idle machine"
        )
    return "\n".join(lines) + "\n"
