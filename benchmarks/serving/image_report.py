"""The image benchmark's report: the raw pipeline's table, berth over HTTP against it, the CPU, and
the PASS/FAIL lines for the image targets, which are reported, never asserted.
"""

from __future__ import annotations

import math
import os
from typing import Any

from image_corpus import JPEG_COUNT, JPEG_QUALITY, JPEG_SIZE, describe_model
from serving.image_options import ImageArgs
from serving.image_rounds import ImageRun
from serving.options import half
from serving.report import NOISE_LIMIT_CORES, cpu_section, fmt, verdict
from serving.results import pass_at

TARGET_THROUGHPUT_RATIO = 0.85  # berth at the highest concurrency vs the raw pipeline's best batch
TARGET_THROUGHPUT_CLIENTS = 32
TARGET_LATENCY_OVERHEAD_MS = 3.0  # berth p50 at 1 client minus (raw batch-1 p50 + decode p50)
TOP5_TOLERANCE = 1e-4  # berth must answer what the raw pipeline answers, not merely something fast


def targets(
    berth: ImageRun, other_cpu: float, clients: int = TARGET_THROUGHPUT_CLIENTS
) -> list[tuple[str, str]]:
    """(PASS|FAIL|SKIP|WARN|INFO, sentence) for each target (throughput judged at `clients`), after a
    word on the run's noise."""
    out: list[tuple[str, str]] = []
    if other_cpu > NOISE_LIMIT_CORES:
        out.append(
            ("WARN", f"other processes took up to {other_cpu:.2f} cores while measuring: rerun when idle")
        )
    if not berth.passes:
        why = berth.failure.splitlines()[0] if berth.failure else "skipped"
        return [*out, ("SKIP", f"berth targets: berth was not measured ({why})")]
    top, p1 = pass_at(berth, clients), pass_at(berth, 1)
    if top:
        out.append(
            (
                verdict(top.raw_ratio >= TARGET_THROUGHPUT_RATIO),
                f"berth at {top.clients} clients ≥ {TARGET_THROUGHPUT_RATIO}x the raw pipeline's best "
                f"batch (decode + processor + model): {top.raw_ratio:.2f}x "
                f"({top.rps:.1f} vs {top.raw_rps:.1f} req/s)",
            )
        )
        decoded = berth.decoded_rps.get(top.clients, 0.0)
        if decoded:
            out.append(
                (
                    "INFO",
                    f"berth at {top.clients} clients vs the raw model on images already decoded: "
                    f"{top.rps / decoded:.2f}x ({top.rps:.1f} vs {decoded:.1f} req/s)",
                )
            )
    else:
        out.append(("SKIP", f"berth throughput: {clients} not in --concurrency"))
    if p1 and not p1.requests:
        out.append(("FAIL", "berth at 1 client: no request completed within a slice; lengthen --duration"))
    elif p1:
        out.append(
            (
                verdict(p1.over_raw_ms <= TARGET_LATENCY_OVERHEAD_MS),
                f"berth p50 at 1 client within {TARGET_LATENCY_OVERHEAD_MS:g} ms of raw batch-1 + decode: "
                f"{p1.over_raw_ms:+.2f} ms ({p1.p50_ms:.2f} vs {p1.raw_p50_ms:.2f} ms, of which decode "
                f"{berth.decode_ms.get(1, math.nan):.2f} ms)",
            )
        )
    else:
        out.append(("SKIP", "berth 1-client latency: 1 not in --concurrency"))
    errors = sum(p.error_count for p in berth.passes)
    out.append((verdict(errors == 0), f"berth: zero errors over all passes: {errors}"))
    diff = berth.top5_max_diff
    if diff is not None:
        same = diff <= TOP5_TOLERANCE
        shown = "labels differ" if math.isinf(diff) else f"max |Δ score| {diff:.1e}"
        out.append((verdict(same), f"berth returns the raw pipeline's top 5: {shown}"))
    return out


def raw_section(raw: dict[str, Any], about: dict[str, Any]) -> list[str]:
    lines = [
        "| batch | req/s (decode + model) | req/s (model only) | p50 ms | model p50 ms "
        "| CPU (cores) | RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in raw["batches"]:
        lines.append(
            f"| {r['batch']} | {r['rps']:.1f} | {r['model_rps']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['model_p50_ms']:.1f} | {r['cores']:.2f} | {r['rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"Raw best batch: **{raw['best_batch']}**, {raw['best_rps']:.1f} req/s at the start; batch-1 p50 "
        f"(processor + model) {fmt(raw['batch1_p50_ms'], '.2f')} ms; one JPEG's decode p50 "
        f"{raw['decode_p50_ms']:.2f} ms (torch {about['torch']}, {about['torch_threads']} threads).",
    ]
    return lines


def load_section(berth: ImageRun, clients: list[int]) -> list[str]:
    lines = [
        "| clients | berth req/s | p50 ms | p99 ms | errors | raw req/s | berth / raw "
        "| raw on decoded images | berth / that |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in clients:
        p = pass_at(berth, c)
        if p is None:
            continue
        cells = [str(c), fmt(p.rps), fmt(p.p50_ms), fmt(p.p99_ms), str(p.error_count)]
        decoded = berth.decoded_rps.get(c, 0.0)
        if not p.raw_rps:  # one client: compared on latency, below
            cells += ["—"] * 4
        else:
            spread = p.round_ratios
            rounds = f" ({min(spread):.2f}-{max(spread):.2f})" if len(spread) > 1 else ""
            cells += [fmt(p.raw_rps), f"{p.raw_ratio:.2f}x{rounds}", fmt(decoded), f"{p.rps / decoded:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(report: dict[str, Any], berth: ImageRun, args: ImageArgs) -> str:
    width, height = JPEG_SIZE
    detection = report.get("task") == "object-detection"
    raw_pipeline = "transformers' object-detection pipeline" if detection else "ViTImageProcessor, the model"
    lines = [
        "# berth image serving benchmark",
        "",
        f"{report.get('model') or describe_model()}, on CPU ({os.cpu_count()} cores), served by berth's "
        f"worker (`{report['predictor']}`, max_batch_size {args.max_batch_size}). Load: {JPEG_COUNT} "
        f"distinct {width}x{height} JPEGs (quality {JPEG_QUALITY}, {report['jpeg_kb']} KB) POSTed as raw "
        f"`Content-Type: image/jpeg` bodies to `/predict`; wrk -t1, {args.rounds} slices of "
        f"{args.duration:g} s per concurrency ({2 * args.rounds} of {half(args.duration)} s at one "
        f"client) after a {args.warmup:g} s warm-up, raw measured before each slice and after the last; "
        f"niceness {report['nice']}; {report['started']}.",
        "",
        f"## Raw in-process pipeline (Pillow decode, {raw_pipeline}; one thread)",
        "",
        *raw_section(report["raw"], report["raw_about"]),
        "",
        "## berth over HTTP",
        "",
        "Each row pools its slices against the raw pipeline's best batch measured between them (decode "
        "included; in brackets the lowest and highest slice against the raw on either side), and against "
        "the same calls without their decoding. One client is compared on latency, below.",
        "",
        *load_section(berth, args.concurrency),
        "",
    ]
    p1 = pass_at(berth, 1)
    if p1:
        lines += [
            f"At 1 client: berth p50 {p1.p50_ms:.2f} ms, raw batch-1 + decode between its slices "
            f"{p1.raw_p50_ms:.2f} ms (decode {berth.decode_ms.get(1, math.nan):.2f} ms): "
            f"**{p1.over_raw_ms:+.2f} ms**; each slice against the raw on either side of it: "
            f"{', '.join(f'{d:+.2f}' for d in p1.round_over_ms)} ms.",
            "",
        ]
    if berth.rss_ready_mb and berth.passes:
        series = ", ".join(f"c={p.clients} {p.rss_end_mb:.0f}" for p in berth.passes)
        lines.append(f"- berth: RSS MB (process tree): ready {berth.rss_ready_mb:.0f}, after {series}")
    if berth.failure:
        lines += ["- berth: **failed**:", "", "```", berth.failure, "```", ""]
    busy = ", ".join(f"{k} {v:.0f}%" for k, v in report.get("busy_before", {}).items())
    lines += [
        "",
        "## CPU",
        "",
        *cpu_section([berth], report),
        "",
        f"Machine CPU busy before each phase: {busy}.",
    ]
    lines += [
        "",
        "## Targets",
        "",
        "```",
        *(f"{status}  {text}" for status, text in report["targets"]),
        "```",
    ]
    return "\n".join([*lines, ""])
