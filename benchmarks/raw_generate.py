"""The generation benchmark's raw ceiling: `model.generate` on static batches, in a process of its own.

`python benchmarks/raw_generate.py FOLDER --build` saves the benchmark's Llama there
(`tests.tiny_models.build_llama` at `generate_corpus.MODEL_SHAPE`). `python benchmarks/raw_generate.py
FOLDER --serve` loads it once and speaks the protocol of `raw_encode.py --serve` (one stdin line
`{"batches": [...], "seconds": S, "min_calls": N}`, one JSON line back), so
`serving.processes.RawBaseline` drives it while every server is frozen.

A batch of N is N of the uniform prompts (all exactly the same length: no padding), greedy, 64 new
tokens, on the one thread that loaded the model. Tokens are counted as a server counts them: each
row's generated tokens up to and including its first end-of-sequence token. A call's time is the
latency of every request in it; batch 1 also reports the first-token time (`max_new_tokens=1`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from generate_corpus import MODEL_SHAPE, UNIFORM_MAX_TOKENS, uniform_prompts

ROOT = Path(__file__).resolve().parent.parent
FIRST_TOKEN_CALLS = 5
REFERENCE_PROMPTS = 4


def build(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))  # NOTE: the model builder lives with the tests, as tests.tiny_models
    from tests.tiny_models import build_llama

    build_llama(folder, **MODEL_SHAPE)


def build_gguf(path: Path) -> None:
    """The same shape as a GGUF file (F16), for berth's llama-cpp runtime: random weights of its own."""
    sys.path.insert(0, str(ROOT))
    from tests.tiny_models import build_gguf as write

    write(path, file_type="F16", **MODEL_SHAPE)


class Raw:
    """The model, loaded and warmed on the one thread that calls it (as a server's model thread)."""

    def __init__(self, folder: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.pool.submit(self._load, folder).result()
        self.warm: set[int] = set()

    def _load(self, folder: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        # NOTE: from_pretrained returns the model in eval mode; Any, as nn.Module's __getattr__ hides
        # `generate` from mypy.
        self.model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        self.prompts = uniform_prompts(self.tokenizer.backend_tokenizer)
        self.eos = self.model.generation_config.eos_token_id
        self.generate(self.batch(1, 0), UNIFORM_MAX_TOKENS)

    def batch(self, size: int, start: int) -> Any:
        prompts = [self.prompts[(start + k) % len(self.prompts)] for k in range(size)]
        encoded = self.tokenizer(prompts, return_tensors="pt", add_special_tokens=False)
        return encoded

    def generate(self, encoded: Any, max_new_tokens: int) -> tuple[int, list[list[int]]]:
        """Generated tokens, counted per row up to and including the first end-of-sequence token."""
        with self.torch.inference_mode():
            out = self.model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        rows = out[:, encoded["input_ids"].shape[1] :].tolist()
        kept = [row[: row.index(self.eos) + 1] if self.eos in row else row for row in rows]
        return sum(len(row) for row in kept), kept

    def measure_batch(self, size: int, seconds: float, min_calls: int) -> dict[str, Any]:
        for i in range(1 if size in self.warm else 2):  # oneDNN picks kernels per shape
            self.generate(self.batch(size, i), UNIFORM_MAX_TOKENS)
        self.warm.add(size)
        calls: list[float] = []
        tokens = 0
        started = time.perf_counter()
        while len(calls) < min_calls or time.perf_counter() - started < seconds:
            encoded = self.batch(size, len(calls) * size)
            t0 = time.perf_counter()
            tokens += self.generate(encoded, UNIFORM_MAX_TOKENS)[0]
            calls.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        result = {
            "batch": size,
            "calls": len(calls),
            "tokens_per_s": tokens / elapsed,
            "rps": size * len(calls) / elapsed,
            "p50_ms": statistics.median(calls) * 1000,
        }
        if size == 1:
            firsts = []
            for k in range(FIRST_TOKEN_CALLS):
                encoded = self.batch(1, k)
                t0 = time.perf_counter()
                self.generate(encoded, 1)
                firsts.append(time.perf_counter() - t0)
            result["first_token_ms"] = statistics.median(firsts) * 1000
        return result

    def measure(self, batches: list[int], seconds: float, min_calls: int) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            return {"batches": [self.measure_batch(size, seconds, min_calls) for size in batches]}

        return self.pool.submit(run).result()

    def references(self) -> list[str]:
        """Greedy text of the first uniform prompts at batch 1, to compare a server's solo output with."""

        def run() -> list[str]:
            texts = []
            for k in range(REFERENCE_PROMPTS):
                [row] = self.generate(self.batch(1, k), UNIFORM_MAX_TOKENS)[1]
                texts.append(str(self.tokenizer.decode(row, skip_special_tokens=True)))
            return texts

        return self.pool.submit(run).result()


def serve(raw: Raw) -> None:
    import torch

    hello = {"ready": True, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    lengths = {int(raw.batch(1, k)["input_ids"].shape[1]) for k in range(len(raw.prompts))}
    hello.update(prompt_tokens=sorted(lengths), references=raw.references())
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        print(json.dumps(raw.measure(ask["batches"], ask["seconds"], ask["min_calls"])), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder")
    parser.add_argument("--build", action="store_true", help="save the benchmark's Llama in FOLDER and exit")
    parser.add_argument("--build-gguf", metavar="FILE", help="save the same shape as a GGUF FILE and exit")
    parser.add_argument("--serve", action="store_true", help="answer measurement requests on stdin")
    args = parser.parse_args()
    if args.build_gguf:
        build_gguf(Path(args.build_gguf))
        return
    if args.build:
        build(Path(args.folder))
        return
    raw = Raw(args.folder)
    try:
        if args.serve:
            serve(raw)
    finally:
        raw.pool.shutdown()


if __name__ == "__main__":
    main()
