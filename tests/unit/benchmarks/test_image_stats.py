"""The image benchmark's pure parts: the one-client floor (batch 1 plus decode), the decoded-only raw
rate, the top-5 comparison, the raw sizes between slices, the target lines and the smoke preset,
each checked against values worked out by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from serving.image_options import parse_args
from serving.image_report import targets
from serving.image_rounds import ImageRun, paired_batches, wrk_bodies
from serving.image_stats import decode_ms, decoded_only, decoded_rps, image_pooled, top5_diff, with_decode
from serving.results import Pass

ERROR_KEYS = ("connect", "read", "write", "status", "timeout")


def raw(rates: dict[int, tuple[float, float]], batch1_ms: float, decode: float) -> dict[str, Any]:
    """One raw_vit.py answer: per batch size (pipeline rate, rate without decoding)."""
    return {
        "batches": [{"batch": b, "rps": r, "model_rps": m} for b, (r, m) in rates.items()],
        "batch1_p50_ms": batch1_ms,
        "decode_p50_ms": decode,
        "other_cpu": 0.0,
    }


def slice_(clients: int, rps: float, p50_ms: float, requests: int | None = None) -> Pass:
    return Pass(
        server="berth",
        clients=clients,
        seconds=2.0,
        rps=rps,
        p50_ms=p50_ms,
        p99_ms=p50_ms * 2,
        requests=round(rps * 2) if requests is None else requests,
        errors=dict.fromkeys(ERROR_KEYS, 0),
        wrk_cpu=0.01,
        server_cpu=1.9,
        other_cpu=0.0,
        rss_start_mb=500.0,
        rss_end_mb=500.0,
    )


def test_one_client_is_judged_against_batch_one_plus_decode() -> None:
    raws = [raw({1: (20.0, 21.0)}, 40.0, 3.0), raw({1: (20.0, 21.0)}, 42.0, 4.0)]
    result = image_pooled([slice_(1, 20.0, 50.0)], raws)
    # the floor on either side is 43 and 46 ms: their median 44.5, the slice 5.5 ms over it
    assert result.raw_p50_ms == pytest.approx(44.5)
    assert result.over_raw_ms == pytest.approx(5.5)
    assert result.round_over_ms == pytest.approx([5.5])
    assert decode_ms(raws) == pytest.approx(3.5)


def test_many_clients_are_judged_against_the_pipeline_decode_included() -> None:
    raws = [raw({8: (16.0, 20.0), 16: (15.0, 19.0)}, 40.0, 3.0) for _ in range(2)]
    result = image_pooled([slice_(32, 14.0, 900.0)], raws)
    assert result.raw_rps == pytest.approx(16.0)  # not 20: decoding is part of the raw pipeline's work
    assert result.raw_ratio == pytest.approx(14.0 / 16.0)
    assert result.raw_p50_ms == pytest.approx(40.0)  # no decode added away from one client
    assert decoded_rps(raws) == pytest.approx(20.0)


def test_the_raw_records_are_not_changed_in_place() -> None:
    one = raw({1: (20.0, 21.0), 8: (16.0, 20.0)}, 40.0, 3.0)
    with_decode([one])
    decoded_only([one])
    assert one["batch1_p50_ms"] == 40.0
    assert [b["rps"] for b in one["batches"]] == [20.0, 16.0]


def test_top5_diff() -> None:
    want = [{"label": "a", "score": 0.5}, {"label": "b", "score": 0.25}]
    assert top5_diff([{"label": "a", "score": 0.5}, {"label": "b", "score": 0.2501}], want) == pytest.approx(
        1e-4
    )
    assert math.isinf(top5_diff([want[1], want[0]], want))


def test_paired_batches_are_the_largest_two_and_the_best() -> None:
    assert paired_batches([1, 4, 8, 16], 4) == [4, 8, 16]
    assert paired_batches([1, 4, 8, 16], 16) == [8, 16]
    assert paired_batches([1, 4], 1) == [4]


def test_wrk_bodies_name_the_files_and_their_type(tmp_path: Any) -> None:
    files = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    assert wrk_bodies(files) == ["content-type=image/jpeg", f"@{files[0]}", f"@{files[1]}"]


def run_with(*passes: Pass, decoded: float = 0.0, diff: float | None = 0.0) -> ImageRun:
    run = ImageRun("berth", passes=list(passes), top5_max_diff=diff)
    run.decoded_rps = {p.clients: decoded for p in passes if p.clients > 1}
    run.decode_ms = {1: 3.0}
    return run


def verdicts(lines: list[tuple[str, str]]) -> list[str]:
    return [status for status, _ in lines]


def test_targets_pass_and_fail_at_their_thresholds() -> None:
    one = slice_(1, 20.0, 47.0)
    one.raw_p50_ms = 44.0  # 3.0 ms over: exactly the target
    many = slice_(32, 8.5, 900.0)
    many.raw_rps = 10.0  # 0.85x: exactly the target
    assert verdicts(targets(run_with(one, many, decoded=12.0), 0.0)) == [
        "PASS",
        "INFO",
        "PASS",
        "PASS",
        "PASS",
    ]
    one.p50_ms, many.rps = 47.1, 8.4
    assert verdicts(targets(run_with(one, many, decoded=12.0), 0.0)) == [
        "FAIL",
        "INFO",
        "FAIL",
        "PASS",
        "PASS",
    ]


def test_a_one_client_pass_with_no_answer_fails_rather_than_passing_on_a_zero_p50() -> None:
    empty = slice_(1, 0.0, 0.0, requests=0)
    empty.raw_p50_ms = 44.0
    lines = targets(run_with(empty), 0.0)
    assert ("FAIL", "berth at 1 client: no request completed within a slice; lengthen --duration") in lines


def test_targets_report_a_wrong_answer_and_a_noisy_machine() -> None:
    lines = targets(run_with(slice_(1, 20.0, 45.0), diff=math.inf), 0.5)
    assert lines[0][0] == "WARN"
    assert ("FAIL", "berth returns the raw pipeline's top 5: labels differ") in lines


def test_smoke_preset_shrinks_every_phase() -> None:
    args = parse_args("", ["--smoke"])
    assert (args.duration, args.rounds, args.raw_batches, args.concurrency) == (2, 1, [1, 4], [1, 8])
    full = parse_args("", [])
    assert (full.duration, full.rounds, full.raw_batches, full.concurrency) == (
        5,
        3,
        [1, 4, 8, 16],
        [1, 8, 32],
    )
