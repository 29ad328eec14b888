"""Where the serving benchmark lives and writes, and its one line of progress on stderr.

Every other module of the benchmark imports these, so that paths and the `[bench]` prefix are
written once.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH_DIR = ROOT / "benchmarks"
ARTIFACTS = ROOT / "artifacts" / "bench"
WRK_SCRIPT = BENCH_DIR / "wrk_post.lua"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
