"""Puts benchmarks/ on sys.path, as running `python benchmarks/serve.py` does, so that the tests import
the benchmark's modules (`serving.stats`, `corpus`) by the same names the scripts use.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
