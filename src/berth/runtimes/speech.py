"""Speech in, text out: CTC models (Wav2Vec2) and speech seq2seq models (Whisper).

NOTE: a placeholder until this task family is built; it refuses to load.
"""

from __future__ import annotations

from typing import Any

from berth.errors import UnsupportedModel
from berth.runtimes.base import Params, Runtime, Signature
from berth.spec import Task


class SpeechRuntime(Runtime):
    name = "transformers"
    tasks = frozenset({Task.AUTOMATIC_SPEECH_RECOGNITION})

    def load(self) -> None:
        raise UnsupportedModel(f"berth cannot serve {self.task} yet")

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        raise UnsupportedModel(f"berth cannot serve {self.task} yet")

    def signature(self) -> Signature:
        return Signature(inputs=(), outputs=())
