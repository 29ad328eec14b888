"""Continuous batching for a causal LM: one model thread; sequences join and leave the running batch
at step boundaries, each with its own parameters.

The running batch is what `model.generate` itself runs on, a left-padded `DynamicCache` and its
attention mask, and everything new happens between two decoding steps. The loop, on the engine's
thread:

1. drop cancelled sequences (a client that went away is gone at the next step);
2. admit waiting sequences, first come first served, while they fit `max_sequences` and the token
   budget: prefill them together (left-padded, one forward pass), sample each one's first token, and
   merge their cache into the running one, padding the shorter of the two on the left;
3. one decoding step for every running sequence, each sampled with its own temperature, top-k,
   top-p, repetition penalty and `torch.Generator` (never the process-wide seed);
4. release each sequence's new text (`tokenizers.decoders.DecodeStream`: whole UTF-8 characters only,
   and any tail that may begin a stop string is held back), finish those that produced an end-of-
   sequence token, a stop string, their `max_new_tokens` or the context's end, cut them out of the
   cache, and drop the cache columns no remaining row uses.

When nothing runs, a request that arrives waits a moment (up to `gather_s`) for the others arriving
with it, as `berth.worker.batcher` collects a batch, so that uniform traffic prefills as one batch
and then decodes exactly as a static batch would: the strength of static batching is kept, and only
mixed traffic (different lengths, parameters, streams) changes the batch between steps.

Greedy output is the same alone or beside others, up to float rounding in the matmuls: padded
positions are masked out, and each row's position ids count its own tokens only.

Memory: the cache holds rows x columns tokens. A sequence is admitted only while rows x (columns +
the longest remaining generation) stays within `max_batch_tokens`, the budget that the spec's
`generation` block sets and preflight prices, so the cache never outgrows it.

Why not transformers' own continuous batching (`generate_batch`, `ContinuousBatchingManager`, what
`transformers serve --continuous-batching` runs): on these 2 CPU cores with a 19 M-parameter Llama, a
static batch of 16 equal requests decoded 1,160 tokens/s and the manager 736 in-process; its paged
cache re-gathers keys through block tables every step, which costs more than padding on CPU at
these sizes; and its default cache takes 60 % of free memory (13.6 GB RSS for that model). The
benchmark in benchmarks/generate.py measures both.

Models whose cache layers slide (a sliding attention window) keep correct but static batches: their
layers crop keys to the window, so padding a running cache would shift it; they admit new sequences
only when the batch is empty.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from berth.errors import BerthError, InvalidInput, ModelError, NotReady, QueueFull
from berth.runtimes.generation import GenerationParams

log = logging.getLogger("berth.worker")

# NOTE: 2 ms without an arrival means the clients answered last have all come back (they resend
# within about a millisecond of their answer on loopback); longer only delays the first of them.
ARRIVAL_GAP_S = 0.002
# NOTE: the longest an idle engine gathers (while arrivals keep coming within ARRIVAL_GAP_S), unless
# `batching.max_latency_ms` asks for more: 16 clients answered together come back over 8-16 ms on
# 2 cores (one event loop parses their requests), so the batcher's 5 ms split them into a batch and
# late joiners, 0.88x a static batch of 16 in benchmarks/generate.py; 50 ms: 0.97x. A lone request
# still waits only the 2 ms gap.
GATHER_CAP_S = 0.05


def gather_s(max_latency_ms: float) -> float:
    """How long an idle engine may wait for requests arriving together (EngineLimits.gather_s)."""
    return max(max_latency_ms / 1000, GATHER_CAP_S)


DEFAULT_MAX_NEW_TOKENS = 256


@dataclass(frozen=True)
class EngineLimits:
    max_sequences: int  # rows decoding at once
    max_batch_tokens: int  # the KV cache's budget, in tokens (rows x columns)
    max_context: int  # prompt + generated tokens of one sequence
    max_queue: int  # sequences waiting to be admitted
    gather_s: float  # how long an idle engine waits for requests arriving together


@dataclass(frozen=True)
class Delta:
    """What one sequence produced since its previous delta; the last one has a finish_reason."""

    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...] | None  # of token_ids, when the request asked for them
    finish_reason: str | None  # "stop" | "length" on the last delta, else None
    prompt_tokens: int
    completion_tokens: int  # so far; on the last delta, the tokens whose text was returned
    # when the first token was chosen (time.perf_counter); set on the one delta of `stream=False`
    first_token_at: float | None = None


@dataclass(frozen=True)
class EngineStats:
    running: int
    waiting: int
    kv_tokens: int  # rows x columns of the cache now
    kv_budget_tokens: int
    max_sequences: int
    generated_tokens: int  # since the engine started


Sink = Callable[[Delta | BaseException], object]  # called on the engine thread; must not block


class Submitted(Protocol):
    def cancel(self) -> None: ...


class TextEngine(Protocol):
    """What the worker needs of a generation engine: this module's `Engine` (transformers) and
    `berth.runtimes.llama_engine.LlamaCppEngine` (llama.cpp) both are one."""

    tokenizer: Any  # `decode(ids, skip_special_tokens=True)`: one token's text, for logprobs

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, sink: Sink, *, stream: bool = True
    ) -> Submitted: ...

    def generate(self, prompt_ids: list[int], params: GenerationParams) -> list[Delta]: ...

    def stats(self) -> EngineStats: ...

    def close(self) -> None: ...


def new_tokens_allowed(prompt_tokens: int, params: GenerationParams, context: int) -> int:
    """The tokens a prompt may generate within `context`, or `InvalidInput` when it cannot fit."""
    if prompt_tokens >= context:
        raise InvalidInput(
            f"the prompt is {prompt_tokens} tokens and this deployment's context is {context}: "
            "shorten the prompt (or raise generation.max_context, up to the model's own context)"
        )
    if params.max_new_tokens is None:
        return min(DEFAULT_MAX_NEW_TOKENS, context - prompt_tokens)
    if prompt_tokens + params.max_new_tokens > context:
        raise InvalidInput(
            f"the prompt ({prompt_tokens} tokens) plus max tokens ({params.max_new_tokens}) exceeds "
            f"this deployment's context of {context} tokens; shorten the prompt or lower max tokens"
        )
    return params.max_new_tokens


class GeneratedText:
    """What both engines keep of one sequence's output: its tokens, the text released and held back
    (a tail that may begin a stop string), and the deltas it makes. Only the engine thread touches
    it after `submit`, except `cancel`."""

    def __init__(
        self, prompt_ids: list[int], params: GenerationParams, max_new: int, sink: Sink, stream: bool = True
    ) -> None:
        self.prompt_ids = prompt_ids
        self.params = params
        self.max_new = max_new
        self.sink = sink
        self.stops = tuple(s for s in params.stop if s)
        self.stop_ids = frozenset(params.stop_token_ids)
        self.generated: list[int] = []
        self.starts: list[int] = []  # the text offset each generated token's text begins at
        self.released = 0  # characters of text sent
        self.held = ""  # text held back: it may begin a stop string
        self.pending_ids: list[int] = []
        self.pending_logprobs: list[float] = []
        self.stop_at: int | None = None  # where a stop string began in the text, once one did
        self.finished = False
        self.cancelled = False
        self.stream = stream  # False: one delta, at the end (nobody reads the text before it)
        self.unsent = ""  # released text not yet delivered (stream=False)
        self.first_at: float | None = None  # when the first token was chosen (time.perf_counter)

    def cancel(self) -> None:
        """Stop at the next step (from any thread); no further delta is sent."""
        self.cancelled = True

    def accept(
        self, token: int, end: bool, piece: Callable[[], str], logprob: float | None
    ) -> tuple[str, str | None]:
        """Record one token; returns the text to release now and the finish reason if it ends here.

        `end`: the token ends the generation (the model's end of sequence); `piece`: its text, asked
        only when it is not an end (after the token joined `generated`). The text joins the held text,
        and whatever cannot begin a stop string is released.
        """
        if not self.generated:
            self.first_at = time.perf_counter()
        self.generated.append(token)
        self.pending_ids.append(token)
        if logprob is not None:
            self.pending_logprobs.append(logprob)
        self.starts.append(self.released + len(self.held))
        if end or token in self.stop_ids:
            held, self.held = self.held, ""
            return held, "stop"
        text = self.held + piece()
        if self.stops:
            cut = min((i for stop in self.stops if (i := text.find(stop)) >= 0), default=-1)
            if cut >= 0:
                self.held = ""
                self.stop_at = self.released + cut
                return text[:cut], "stop"
            keep = _stop_prefix(text, self.stops)
            text, self.held = text[: len(text) - keep], text[len(text) - keep :]
        if len(self.generated) >= self.max_new:
            held, self.held = self.held, ""
            return text + held, "length"
        return text, None

    def delta(self, text: str, reason: str | None) -> Delta | None:
        """The delta releasing `text` (and finishing when `reason`); None while a whole answer
        (`stream=False`) is still being gathered."""
        self.released += len(text)
        if not self.stream:
            if reason is None:
                self.unsent += text
                return None
            text, self.unsent = self.unsent + text, ""
        completion = len(self.generated)
        if self.stop_at is not None:  # tokens wholly inside the stop string were not returned
            completion = sum(1 for start in self.starts if start < self.stop_at)
        delta = Delta(
            text=text,
            token_ids=tuple(self.pending_ids),
            logprobs=tuple(self.pending_logprobs) if self.params.logprobs else None,
            finish_reason=reason,
            prompt_tokens=len(self.prompt_ids),
            completion_tokens=completion,
            first_token_at=None if self.stream else self.first_at,
        )
        self.pending_ids, self.pending_logprobs = [], []
        self.finished = reason is not None
        return delta


class Sequence(GeneratedText):
    """One request in the transformers engine: its text, and its row's place in the batch."""

    def __init__(
        self,
        prompt_ids: list[int],
        params: GenerationParams,
        max_new: int,
        sink: Sink,
        decoder: Any,
        stream: bool = True,
    ) -> None:
        super().__init__(prompt_ids, params, max_new, sink, stream)
        self.decoder = decoder
        self.length = len(prompt_ids)  # real tokens in the cache: the next position id
        self.last = 0  # the token to feed at the next step
        self.generator: Any = None


S = TypeVar("S", bound=GeneratedText)


class SequenceQueue(Generic[S]):
    """What both engines share around their model step: the queue of waiting sequences with its
    bound, the engine thread, the blocking `generate`, and delivery of deltas to the sinks."""

    def __init__(self, limits: EngineLimits, thread_name: str) -> None:
        self.limits = limits
        self._cond = threading.Condition()
        self._waiting: deque[S] = deque()
        self._rows: list[S] = []
        self._closed = False
        self._generated = 0
        self._outbox: list[tuple[S, Delta | BaseException]] = []
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _stop_thread(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        raise NotImplementedError

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, sink: Sink, *, stream: bool = True
    ) -> S:
        raise NotImplementedError

    def _enqueue(self, sequence: S) -> S:
        """Queue a checked sequence, or refuse it: the worker is closing (503) or the queue is full (503)."""
        with self._cond:
            if self._closed:
                raise NotReady("the worker is shutting down; retry on another replica")
            if len(self._waiting) >= self.limits.max_queue:
                raise QueueFull(
                    f"{len(self._waiting)} sequences are already waiting (limits.max_queue); retry "
                    "later, or raise generation.max_concurrent_sequences, limits.max_queue or replicas"
                )
            self._waiting.append(sequence)
            self._cond.notify()
        return sequence

    def generate(self, prompt_ids: list[int], params: GenerationParams) -> list[Delta]:
        """Submit one sequence and block until it finishes (warm-up, tests); not on the engine thread."""
        done = threading.Event()
        deltas: list[Delta] = []
        failure: list[BaseException] = []

        def sink(item: Delta | BaseException) -> None:
            if isinstance(item, BaseException):
                failure.append(item)
                done.set()
                return
            deltas.append(item)
            if item.finish_reason is not None:
                done.set()

        self.submit(prompt_ids, params, sink)
        done.wait()
        if failure:
            raise failure[0]
        return deltas

    def _emit(self, sequence: S, text: str, reason: str | None) -> None:
        if (delta := sequence.delta(text, reason)) is not None:
            self._outbox.append((sequence, delta))

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        for sequence, item in outbox:
            if sequence.cancelled:
                continue
            try:
                sequence.sink(item)
            except Exception:  # a sink must not stop the engine
                log.exception("delivering a generated delta failed")

    def _fail_waiting_and(self, rows: list[S], failure: BerthError) -> None:
        """Fail `rows` and every waiting sequence with `failure`, and deliver it (at shutdown)."""
        with self._cond:
            waiting, self._waiting = list(self._waiting), deque()
        for sequence in [*rows, *waiting]:
            if not sequence.finished:
                self._outbox.append((sequence, failure))
        self._flush()


class Engine(SequenceQueue[Sequence]):
    """A causal LM and its tokenizer behind one decoding thread.

    >>> engine = Engine(model, tokenizer, "cpu", limits, eos_ids={0})
    >>> engine.start()
    >>> sequence = engine.submit([464, 2068], GenerationParams(max_new_tokens=8), print)
    """

    def __init__(
        self, model: Any, tokenizer: Any, device: str, limits: EngineLimits, eos_ids: set[int]
    ) -> None:
        super().__init__(limits, "berth-engine")
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.eos_ids = frozenset(eos_ids)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self._backend = getattr(tokenizer, "backend_tokenizer", None)  # the engine thread's own use only
        self._keep_arg = "logits_to_keep" in inspect.signature(model.forward).parameters
        self._cache: Any = None
        self._mask: Any = None
        self._joinable = True  # False once a sliding cache layer is seen (see the top)
        self._peak = 1  # the most rows since the engine last ran dry: how many to gather

    # -- any thread ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._stop_thread()

    def stats(self) -> EngineStats:
        rows = len(self._rows)
        columns = 0 if self._mask is None else int(self._mask.shape[1])
        return EngineStats(
            running=rows,
            waiting=len(self._waiting),
            kv_tokens=rows * columns,
            kv_budget_tokens=self.limits.max_batch_tokens,
            max_sequences=self.limits.max_sequences,
            generated_tokens=self._generated,
        )

    def max_new_tokens(self, prompt_tokens: int, params: GenerationParams) -> int:
        """The tokens this prompt may generate, or `InvalidInput` when it cannot fit the context."""
        return new_tokens_allowed(prompt_tokens, params, self.limits.max_context)

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, sink: Sink, *, stream: bool = True
    ) -> Sequence:
        """Queue one sequence; `sink` gets its deltas (then nothing after the last) or one exception.

        With `stream=False` it gets one delta, the whole generation, when the sequence finishes: a
        non-streamed answer costs one hand-over to the event loop instead of one per token.
        """
        if not prompt_ids:
            raise InvalidInput("the prompt must not be empty")
        vocabulary = self._vocabulary()
        if any(not 0 <= t < vocabulary for t in params.stop_token_ids):
            raise InvalidInput(f"stop_token_ids must be token ids below the vocabulary size {vocabulary}")
        max_new = self.max_new_tokens(len(prompt_ids), params)
        decoder = None
        if self._backend is not None:
            from tokenizers.decoders import DecodeStream

            decoder = DecodeStream(skip_special_tokens=True)
        return self._enqueue(Sequence(list(prompt_ids), params, max_new, sink, decoder, stream))

    # -- the engine thread --------------------------------------------------------------------------

    def _run(self) -> None:
        import torch

        with torch.inference_mode():
            while True:
                with self._cond:
                    self._drop_cancelled_locked()
                    if not self._rows and not self._gather_locked():
                        break  # closed
                    admitted = self._admit_locked()
                try:
                    if admitted:
                        self._prefill(admitted)
                        self._flush()  # the first tokens go out before the next step: time to first token
                    if self._rows:
                        self._decode()
                except Exception as exc:
                    self._fail_running(admitted, exc)
                self._flush()
        self._fail_everything(NotReady("the worker is shutting down; retry on another replica"))

    def _drop_cancelled_locked(self) -> None:
        if any(s.cancelled for s in self._waiting):
            self._waiting = deque(s for s in self._waiting if not s.cancelled)
        if any(s.cancelled for s in self._rows):
            self._keep([i for i, s in enumerate(self._rows) if not s.cancelled])

    def _gather_locked(self) -> bool:
        """With nothing running: wait for work, then briefly for requests arriving with it."""
        while not self._waiting and not self._closed:
            self._cond.wait()
            self._drop_cancelled_locked()
        if self._closed:
            return False
        started = time.perf_counter()
        target = min(self._peak, self.limits.max_sequences)
        while len(self._waiting) < target:
            remaining = self.limits.gather_s - (time.perf_counter() - started)
            if remaining <= 0:
                break
            before = len(self._waiting)
            self._cond.wait(timeout=min(ARRIVAL_GAP_S, remaining))
            if len(self._waiting) == before or self._closed:
                break
        self._peak = 1
        return not self._closed

    def _admit_locked(self) -> list[Sequence]:
        if self._rows and not self._joinable:
            return []
        rows = len(self._rows)
        columns = 0 if self._mask is None else int(self._mask.shape[1])
        longest = max((s.max_new - len(s.generated) for s in self._rows), default=0)
        admitted: list[Sequence] = []
        while self._waiting:
            candidate = self._waiting[0]
            if candidate.cancelled:
                self._waiting.popleft()
                continue
            new_rows = rows + len(admitted) + 1
            new_columns = max(columns, len(candidate.prompt_ids))
            new_longest = max(longest, candidate.max_new)
            if new_rows > self.limits.max_sequences or (
                new_rows * (new_columns + new_longest) > self.limits.max_batch_tokens and new_rows > 1
            ):
                break  # first come, first served: nobody overtakes the head of the queue
            admitted.append(self._waiting.popleft())
            columns, longest = new_columns, new_longest
        return admitted

    def _prefill(self, admitted: list[Sequence]) -> None:
        import torch
        from transformers import DynamicCache

        width = max(len(s.prompt_ids) for s in admitted)
        ids = torch.full((len(admitted), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(admitted), width), dtype=torch.long)
        for row, sequence in enumerate(admitted):
            ids[row, width - len(sequence.prompt_ids) :] = torch.tensor(sequence.prompt_ids)
            mask[row, width - len(sequence.prompt_ids) :] = 1
            if sequence.params.do_sample:
                seed = sequence.params.seed
                sequence.generator = torch.Generator(self.device).manual_seed(
                    seed if seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
                )
        mask = mask.to(self.device)
        cache = DynamicCache(config=self.model.config)
        extra = {"logits_to_keep": 1} if self._keep_arg else {}
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            past_key_values=cache,
            use_cache=True,
            **extra,
        )
        self._merge(out.past_key_values, mask, admitted)
        self._advance(out.logits[:, -1, :], admitted)

    def _decode(self) -> None:
        import torch

        rows = self._rows
        ids = torch.tensor([[s.last] for s in rows], dtype=torch.long, device=self.device)
        positions = torch.tensor([[s.length] for s in rows], dtype=torch.long, device=self.device)
        mask = torch.cat([self._mask, self._mask.new_ones((len(rows), 1))], dim=1)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=self._cache,
            use_cache=True,
        )
        self._cache, self._mask = out.past_key_values, mask
        for sequence in rows:
            sequence.length += 1
        self._advance(out.logits[:, -1, :], rows)

    def _merge(self, cache: Any, mask: Any, admitted: list[Sequence]) -> None:
        """Append prefilled rows to the running batch, left-padding the shorter cache."""
        import torch
        import torch.nn.functional as F

        if any(getattr(layer, "is_sliding", False) for layer in cache.layers):
            self._joinable = False
        if self._cache is None:
            self._cache, self._mask, self._rows = cache, mask, list(admitted)
        else:
            old, new = int(self._mask.shape[1]), int(mask.shape[1])
            width = max(old, new)
            for running, joining in zip(self._cache.layers, cache.layers, strict=True):
                running.keys = torch.cat(
                    [F.pad(running.keys, (0, 0, width - old, 0)), F.pad(joining.keys, (0, 0, width - new, 0))]
                )
                running.values = torch.cat(
                    [
                        F.pad(running.values, (0, 0, width - old, 0)),
                        F.pad(joining.values, (0, 0, width - new, 0)),
                    ]
                )
            self._mask = torch.cat([F.pad(self._mask, (width - old, 0)), F.pad(mask, (width - new, 0))])
            self._rows.extend(admitted)
        self._peak = max(self._peak, len(self._rows))

    def _advance(self, logits: Any, rows: list[Sequence]) -> None:
        """Sample one token for each of `rows` (the batch's last rows), emit their text, finish rows."""
        tokens, logprobs = self._choose(logits, rows)
        for index, (sequence, token) in enumerate(zip(rows, tokens, strict=True)):
            sequence.last = token
            self._generated += 1
            text, reason = sequence.accept(
                token,
                token in self.eos_ids,
                lambda: self._piece(sequence, token),  # noqa: B023 - called before the loop moves on
                None if logprobs is None else logprobs[index],
            )
            if text or reason is not None:
                self._emit(sequence, text, reason)
        if any(s.finished for s in self._rows):
            self._keep([i for i, s in enumerate(self._rows) if not s.finished])

    def _choose(self, logits: Any, rows: list[Sequence]) -> tuple[list[int], list[float] | None]:
        """Each row's next token under its own parameters; greedy rows share one argmax."""
        import torch

        logits = logits.float()
        tokens: list[int] = logits.argmax(dim=-1).tolist()
        for row, sequence in enumerate(rows):
            params = sequence.params
            penalty = params.repetition_penalty
            if penalty is not None and penalty != 1.0:
                seen = torch.tensor(sorted({*sequence.prompt_ids, *sequence.generated}), device=logits.device)
                values = logits[row, seen]
                logits[row, seen] = torch.where(values > 0, values / penalty, values * penalty)
                tokens[row] = int(logits[row].argmax())
            if params.do_sample:
                tokens[row] = _sample(logits[row], params, sequence.generator)
        if not any(s.params.logprobs for s in rows):
            return tokens, None
        chosen = torch.tensor(tokens, device=logits.device).unsqueeze(1)
        return tokens, torch.log_softmax(logits, dim=-1).gather(1, chosen).squeeze(1).tolist()

    def _piece(self, sequence: Sequence, token: int) -> str:
        if sequence.decoder is not None:
            return str(sequence.decoder.step(self._backend, token) or "")
        # NOTE: a slow (Python) tokenizer has no DecodeStream: decode everything, send what is new
        text = str(self.tokenizer.decode(sequence.generated, skip_special_tokens=True))
        return "" if text.endswith("\ufffd") else text[sequence.released + len(sequence.held) :]

    def _keep(self, keep: list[int]) -> None:
        """Keep only these rows of the batch, and drop the cache columns none of them uses."""
        import torch

        if not keep:
            self._cache = self._mask = None
            self._rows = []
            return
        index = torch.tensor(keep, device=self.device)
        self._cache.batch_select_indices(index)
        self._mask = self._mask[index]
        self._rows = [self._rows[i] for i in keep]
        first = int(self._mask.any(dim=0).int().argmax())
        if first > 0 and self._joinable:
            for layer in self._cache.layers:
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]
            self._mask = self._mask[:, first:]

    def _fail_running(self, admitted: list[Sequence], exc: Exception) -> None:
        if isinstance(exc, BerthError):
            failure: BerthError = exc
        else:
            log.error(
                "text generation failed on a batch of %d", len(self._rows) + len(admitted), exc_info=exc
            )
            failure = ModelError("text generation failed; the worker log has the details")
        for sequence in {*self._rows, *admitted}:
            if not sequence.finished:
                sequence.finished = True
                self._outbox.append((sequence, failure))
        self._cache = self._mask = None
        self._rows = []

    def _fail_everything(self, failure: BerthError) -> None:
        rows, self._rows = self._rows, []
        self._fail_waiting_and(rows, failure)

    def _vocabulary(self) -> int:
        size = getattr(self.model.config, "vocab_size", None)
        return int(size) if isinstance(size, int) and size > 0 else len(self.tokenizer)


def _sample(logits: Any, params: GenerationParams, generator: Any) -> int:
    """One token from one row's logits: temperature, then top-k, then top-p, as transformers orders them."""
    import torch

    if params.temperature:
        logits = logits / params.temperature
    if params.top_k:
        kth = torch.topk(logits, min(params.top_k, logits.shape[-1])).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p is not None and params.top_p < 1:
        ordered, order = torch.sort(logits, descending=True)
        probabilities = ordered.softmax(dim=-1)
        beyond = (probabilities.cumsum(dim=-1) - probabilities) > params.top_p  # the first always stays
        ordered = ordered.masked_fill(beyond, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(0, order, ordered)
    return int(torch.multinomial(logits.softmax(dim=-1), 1, generator=generator))


def _stop_prefix(text: str, stops: tuple[str, ...]) -> int:
    """The length of the longest tail of `text` that begins some stop string (and may complete it)."""
    best = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:size]):
                best = size
                break
    return best


def result_of(deltas: list[Delta]) -> dict[str, Any]:
    """A finished sequence's deltas as one answer: /predict's text-generation output."""
    last = deltas[-1]
    result: dict[str, Any] = {
        "generated_text": "".join(d.text for d in deltas),
        "finish_reason": last.finish_reason,
        "prompt_tokens": last.prompt_tokens,
        "completion_tokens": last.completion_tokens,
    }
    if last.logprobs is not None:
        result["logprobs"] = [p for d in deltas for p in d.logprobs or ()]
        result["token_ids"] = [t for d in deltas for t in d.token_ids]
    return result
