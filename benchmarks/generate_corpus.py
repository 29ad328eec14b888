"""The generation benchmark's model shape and requests, shared by the load side and the raw process.

The model is `tests.tiny_models.build_llama` at the benchmarks' size (hidden 256, 4 layers, a 32,000
token vocabulary: ~19 M parameters). The requests are seeded, so every contender gets the same ones:

- uniform: 16 distinct completion prompts of exactly `UNIFORM_PROMPT_TOKENS` tokens, 64 new tokens
  each, so that a static batch of them needs no padding (the raw ceiling runs exactly that batch);
- mixed: a pool of 32 requests, chat or completion, prompts of 8 to 96 tokens, `max_tokens` from 16
  to 128. Each client walks the pool from its own offset; even-numbered clients stream.

Only the `tokenizers` library is imported here (the load side never loads torch).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SEED = 0
MODEL_SHAPE = {"hidden": 256, "layers": 4, "vocab": 32_000}
UNIFORM_PROMPT_TOKENS = 32
UNIFORM_COUNT = 16
UNIFORM_MAX_TOKENS = 64
MIXED_COUNT = 32
MIXED_PROMPT_TOKENS = (8, 96)
MIXED_MAX_TOKENS = (16, 128)
WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "hello", "world", "how"),
    *("are", "you", "today", "i", "am", "fine", "thank", "you", "berth", "serves", "machine"),
    *("learning", "models", "over", "http", "with", "batching", "and", "metrics"),
]
MAX_ATTEMPTS = 100_000

Kind = Literal["completion", "chat"]


@dataclass(frozen=True)
class Request:
    """One request as a client sends it; `key` is what its greedy output depends on."""

    kind: Kind
    prompt: str  # the completion prompt, or the one user message of a chat
    max_tokens: int
    stream: bool

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.prompt, self.max_tokens)


def load_tokenizer(folder: Path) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(folder / "tokenizer.json"))


def count_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def _words_up_to(tokenizer: Any, rng: random.Random, tokens: int) -> tuple[str, int]:
    words: list[str] = []
    while True:
        words.append(rng.choice(WORDS))
        text = " ".join(words)
        count = count_tokens(tokenizer, text)
        if count >= tokens:
            return text, count


def uniform_prompts(tokenizer: Any) -> list[str]:
    """`UNIFORM_COUNT` distinct prompts of exactly `UNIFORM_PROMPT_TOKENS` tokens."""
    rng = random.Random(SEED)
    prompts: list[str] = []
    for _ in range(MAX_ATTEMPTS):
        text, count = _words_up_to(tokenizer, rng, UNIFORM_PROMPT_TOKENS)
        if count == UNIFORM_PROMPT_TOKENS and text not in prompts:
            prompts.append(text)
            if len(prompts) == UNIFORM_COUNT:
                return prompts
    raise RuntimeError(
        f"found only {len(prompts)} prompts of {UNIFORM_PROMPT_TOKENS} tokens; check the tokenizer"
    )


def mixed_pool(tokenizer: Any) -> list[tuple[Kind, str, int]]:
    """The mixed workload's requests: (kind, prompt, max_tokens), streaming decided per client."""
    rng = random.Random(SEED + 1)
    pool: list[tuple[Kind, str, int]] = []
    for _ in range(MIXED_COUNT):
        kind: Kind = "chat" if rng.random() < 0.5 else "completion"
        text, _ = _words_up_to(tokenizer, rng, rng.randint(*MIXED_PROMPT_TOKENS))
        pool.append((kind, text, rng.randint(*MIXED_MAX_TOKENS)))
    return pool


def client_requests(
    workload: str, client: int, clients: int, uniform: list[str], pool: list[tuple[Kind, str, int]]
) -> list[Request]:
    """The cycle of requests one closed-loop client sends, from its own offset."""
    if workload == "uniform":
        start = client * len(uniform) // clients
        order = uniform[start:] + uniform[:start]
        return [Request("completion", p, UNIFORM_MAX_TOKENS, stream=False) for p in order]
    start = client * len(pool) // clients
    stream = client % 2 == 0
    return [Request(kind, p, n, stream) for kind, p, n in pool[start:] + pool[:start]]
