"""Python predictors (`module:Class` sources) that the worker's integration tests serve."""

from __future__ import annotations

import time
from typing import Any


class SlowEcho:
    """Echoes each input upper-cased; `"sleep:S"` holds its batch S seconds, `"crash"` raises."""

    def setup(self) -> None:
        self.calls = 0

    def predict(self, batch: list[Any]) -> list[Any]:
        self.calls += 1
        for item in batch:
            if item == "crash":
                raise RuntimeError("predictor crashed on purpose")
            if isinstance(item, str) and item.startswith("sleep:"):
                time.sleep(float(item.split(":", 1)[1]))
        return [item.upper() if isinstance(item, str) else item for item in batch]


class BrokenAtLoad:
    """A predictor whose setup fails, as a model with missing files would."""

    def setup(self) -> None:
        raise RuntimeError("weights file missing")

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch
