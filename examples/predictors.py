"""Example predictor classes for berth's python runtime (no ML libraries needed).

Serve one from the repository root, where `examples` is importable:

    berth deploy examples.predictors:WordCounter

A predictor is built with no arguments; `setup()` runs once before serving, `predict(batch)` gets a
list of inputs and returns one output per input, in order. `validate(item)` is optional and runs per
input before it is queued (raise ValueError or TypeError to reject it).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any


class WordCounter:
    """Counts the words of each text and names its most frequent one.

    >>> counter = WordCounter()
    >>> counter.setup()
    >>> counter.predict(["the cat and the hat"])
    [{'words': 5, 'characters': 19, 'top_word': 'the'}]
    """

    def setup(self) -> None:
        self.word = re.compile(r"[\w']+")

    def validate(self, item: Any) -> str:
        if not isinstance(item, str):
            raise TypeError(f"must be a string, got {type(item).__name__}")
        return item

    def predict(self, batch: list[str]) -> list[dict[str, Any]]:
        results = []
        for text in batch:
            words = [w.lower() for w in self.word.findall(text)]
            top = Counter(words).most_common(1)
            results.append(
                {"words": len(words), "characters": len(text), "top_word": top[0][0] if top else None}
            )
        return results


class TextReverser:
    """Reverses each text; params {"words": true} reverses the word order instead of the characters.

    >>> TextReverser().predict(["abc", "one two"], {"words": True})
    ['abc', 'two one']
    """

    def predict(self, batch: list[str], params: dict[str, Any]) -> list[str]:
        if params.get("words"):
            return [" ".join(reversed(text.split())) for text in batch]
        return [text[::-1] for text in batch]
