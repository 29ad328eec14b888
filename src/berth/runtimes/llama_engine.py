"""Continuous batching on llama.cpp: parallel slots decoded in one `llama_batch` per step, as
llama.cpp's own server does it.

The context has `n_seq_max` = `max_sequences` slots over one unified KV cache of `max_batch_tokens`
cells, so any slot may hold up to `max_context` tokens. Each sequence takes a free slot (its seq_id)
and its own sampler chain. The loop, on the engine's thread ("berth-llama"):

1. drop cancelled sequences: their cells leave the cache (`llama_memory_seq_rm`), their slot is free;
2. admit waiting sequences, first come first served, while a slot is free and the cells every admitted
   sequence may still need (prompt + its token allowance) fit the cache, so `llama_decode` never runs
   out of cells;
3. one `llama_decode` over a single batch: the next token of every decoding sequence, then the prompts
   being prefilled, a chunk at a time within `n_batch` tokens (a long prompt spans steps);
4. sample each sequence whose last token was in the batch with its own chain (repetition penalty,
   temperature, top-k, top-p, then a seeded `dist`; greedy without sampling), release its text, and
   finish it on an end-of-generation token, a stop token id, a stop string, its allowance or the
   context's end.

Text is released as whole UTF-8 characters: a token's bytes (`llama_token_to_piece`) join an
incremental UTF-8 decoder, which holds back an incomplete character; a tail that may begin a stop
string is held back as in `berth.runtimes.engine`.

Greedy output does not depend on the company a sequence keeps: every token attends only to its own
sequence's cells (the others are masked out), so the batch changes nothing but float rounding.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from berth.errors import BerthError, InvalidInput, ModelError, NotReady
from berth.runtimes.engine import (
    ARRIVAL_GAP_S,
    EngineLimits,
    EngineStats,
    GeneratedText,
    SequenceQueue,
    Sink,
    new_tokens_allowed,
)
from berth.runtimes.generation import GenerationParams

log = logging.getLogger("berth.worker")

LLAMA_MAX_SEQUENCES = 256  # llama.cpp's LLAMA_MAX_SEQ: slots one context can hold
MAX_BATCH = 2048  # tokens per llama_decode (llama.cpp's default n_batch)
_PIECE_BYTES = 256


class Vocabulary:
    """A model's vocabulary as the worker reads it; `decode` is one token's text (for logprobs).

    Safe from any thread: llama.cpp's vocabulary is read-only once the model is loaded.
    """

    def __init__(self, vocab: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self.vocab = vocab
        self.size = int(llama_cpp.llama_vocab_n_tokens(vocab))

    def piece(self, token: int, special: bool = False) -> bytes:
        """A token's bytes (a control token's are empty unless `special`)."""
        buffer = ctypes.create_string_buffer(_PIECE_BYTES)
        size = self._lib.llama_token_to_piece(self.vocab, token, buffer, _PIECE_BYTES, 0, special)
        if size < 0:
            buffer = ctypes.create_string_buffer(-size)
            size = self._lib.llama_token_to_piece(self.vocab, token, buffer, -size, 0, special)
        return buffer.raw[:size]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return b"".join(self.piece(i, not skip_special_tokens) for i in ids).decode("utf-8", "replace")

    def is_end(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self.vocab, token))


class LlamaSequence(GeneratedText):
    """One request in the llama.cpp engine: its text, its slot and its sampler chain."""

    def __init__(
        self, prompt_ids: list[int], params: GenerationParams, max_new: int, sink: Sink, stream: bool = True
    ) -> None:
        super().__init__(prompt_ids, params, max_new, sink, stream)
        self.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.slot = -1  # its seq_id once admitted
        self.sampler: Any = None
        self.length = 0  # tokens in the cache: the next position
        self.last = 0  # the token to feed at the next step

    @property
    def prefilling(self) -> bool:
        return self.length < len(self.prompt_ids)

    @property
    def reserved(self) -> int:
        """The cache cells this sequence may hold before it finishes."""
        return len(self.prompt_ids) + self.max_new


@dataclass
class _Output:
    sequence: LlamaSequence
    index: int  # the batch position whose logits it samples from


class LlamaCppEngine(SequenceQueue[LlamaSequence]):
    """A loaded llama.cpp model behind one decoding thread, with `limits.max_sequences` slots.

    >>> engine = LlamaCppEngine(model, limits, threads=4)   # model: a llama_model pointer
    >>> engine.start()
    >>> engine.generate(runtime.encode_prompt("the quick"), GenerationParams(max_new_tokens=8))
    """

    def __init__(self, model: Any, limits: EngineLimits, threads: int, batch_tokens: int = MAX_BATCH) -> None:
        import llama_cpp

        if limits.max_sequences > LLAMA_MAX_SEQUENCES:
            raise InvalidInput(
                f"generation.max_concurrent_sequences is {limits.max_sequences} but llama.cpp decodes "
                f"at most {LLAMA_MAX_SEQUENCES} sequences at once; lower it to {LLAMA_MAX_SEQUENCES}"
            )
        super().__init__(limits, "berth-llama")
        self._lib = llama_cpp
        self.tokenizer = Vocabulary(llama_cpp.llama_model_get_vocab(model))
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = limits.max_batch_tokens
        params.n_seq_max = limits.max_sequences
        # NOTE: one cache shared by all slots, so a single sequence may use all of max_context;
        # split caches would give each slot n_ctx / n_seq_max cells only.
        params.kv_unified = True
        self.n_batch = min(batch_tokens, limits.max_batch_tokens)
        params.n_batch = self.n_batch
        params.n_ubatch = min(512, self.n_batch)
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        context = llama_cpp.llama_init_from_model(model, params)
        if not context:
            raise ModelError(
                f"llama.cpp could not create a context of {limits.max_batch_tokens} tokens for "
                f"{limits.max_sequences} sequences; lower generation.max_batch_tokens or "
                "max_concurrent_sequences (the worker log has llama.cpp's reason)"
            )
        self._context = context
        self._memory = llama_cpp.llama_get_memory(context)
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._free = list(range(limits.max_sequences - 1, -1, -1))  # free seq_ids, lowest last

    # -- any thread ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the thread (waiting and running sequences fail with 503) and free the context."""
        self._stop_thread()
        if self._thread.is_alive():
            log.error("the llama.cpp engine thread did not stop; its context is left allocated")
            return
        if self._context is not None:
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self._context)
            self._context = None

    def stats(self) -> EngineStats:
        rows = list(self._rows)
        return EngineStats(
            running=len(rows),
            waiting=len(self._waiting),
            kv_tokens=sum(s.length for s in rows),
            kv_budget_tokens=self.limits.max_batch_tokens,
            max_sequences=self.limits.max_sequences,
            generated_tokens=self._generated,
        )

    def submit(
        self, prompt_ids: list[int], params: GenerationParams, sink: Sink, *, stream: bool = True
    ) -> LlamaSequence:
        """Queue one sequence; `sink` gets its deltas (then nothing after the last) or one exception.

        With `stream=False` it gets one delta, the whole generation, when the sequence finishes.
        """
        if not prompt_ids:
            raise InvalidInput("the prompt must not be empty")
        size = self.tokenizer.size
        if any(not 0 <= t < size for t in params.stop_token_ids):
            raise InvalidInput(f"stop_token_ids must be token ids below the vocabulary size {size}")
        max_new = new_tokens_allowed(len(prompt_ids), params, self.limits.max_context)
        return self._enqueue(LlamaSequence(list(prompt_ids), params, max_new, sink, stream))

    # -- the engine thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._drop_cancelled_locked()
                if not self._rows and not self._gather_locked():
                    break  # closed
                self._admit_locked()
            try:
                self._step()
            except Exception as exc:
                self._fail_running(exc)
            self._flush()
        self._fail_everything(NotReady("the worker is shutting down; retry on another replica"))

    def _drop_cancelled_locked(self) -> None:
        if any(s.cancelled for s in self._waiting):
            self._waiting = deque(s for s in self._waiting if not s.cancelled)
        for sequence in [s for s in self._rows if s.cancelled]:
            self._release(sequence)

    def _gather_locked(self) -> bool:
        """With nothing running: wait for work, then briefly for requests arriving with it."""
        while not self._waiting and not self._closed:
            self._cond.wait()
            self._drop_cancelled_locked()
        started = time.perf_counter()
        while not self._closed and len(self._waiting) < self.limits.max_sequences:
            remaining = self.limits.gather_s - (time.perf_counter() - started)
            if remaining <= 0:
                break
            before = len(self._waiting)
            self._cond.wait(timeout=min(ARRIVAL_GAP_S, remaining))
            if len(self._waiting) == before:
                break
        return not self._closed

    def _admit_locked(self) -> None:
        reserved = sum(s.reserved for s in self._rows)
        while self._waiting and self._free:
            candidate = self._waiting[0]
            if reserved + candidate.reserved > self.limits.max_batch_tokens:
                break  # first come, first served: nobody overtakes the head of the queue
            self._waiting.popleft()
            candidate.slot = self._free.pop()
            candidate.sampler = self._sampler(candidate)
            self._rows.append(candidate)
            reserved += candidate.reserved

    def _sampler(self, sequence: LlamaSequence) -> Any:
        """The sequence's chain, in transformers' order: penalty, temperature, top-k, top-p, draw."""
        lib = self._lib
        params = sequence.params
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        penalty = params.repetition_penalty
        if penalty is not None and penalty != 1.0:
            window = self.limits.max_context  # NOTE: every token so far, prompt included, as transformers
            penalties = lib.llama_sampler_init_penalties(self.tokenizer.size, window, penalty, 0.0, 0.0)
            lib.llama_sampler_chain_add(chain, penalties)
            for token in sequence.prompt_ids:
                lib.llama_sampler_accept(chain, token)
        if not params.do_sample:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        if params.temperature:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(params.temperature))
        if params.top_k:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(params.top_k))
        if params.top_p is not None and params.top_p < 1:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(params.top_p, 1))
        # NOTE: llama.cpp seeds are 32-bit and 0xFFFFFFFF means "draw a random seed"
        seed = lib.LLAMA_DEFAULT_SEED if params.seed is None else params.seed % 0xFFFFFFFF
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain

    def _step(self) -> None:
        """One llama_decode: every decoding sequence's next token, then prefill chunks, in one batch."""
        if not self._rows:
            return
        lib, batch = self._lib, self._batch
        outputs: list[_Output] = []
        count = 0

        def add(token: int, sequence: LlamaSequence, logits: bool) -> None:
            nonlocal count
            batch.token[count] = token
            batch.pos[count] = sequence.length
            batch.n_seq_id[count] = 1
            batch.seq_id[count][0] = sequence.slot
            batch.logits[count] = logits
            if logits:
                outputs.append(_Output(sequence, count))
            sequence.length += 1
            count += 1

        for sequence in self._rows:
            if not sequence.prefilling:
                add(sequence.last, sequence, True)
        for sequence in self._rows:
            if count >= self.n_batch:
                break
            if sequence.prefilling:
                chunk = sequence.prompt_ids[sequence.length : sequence.length + self.n_batch - count]
                ends = sequence.length + len(chunk) == len(sequence.prompt_ids)
                for offset, token in enumerate(chunk):
                    add(token, sequence, logits=ends and offset == len(chunk) - 1)
        batch.n_tokens = count
        code = lib.llama_decode(self._context, batch)
        if code != 0:
            raise ModelError(
                f"llama.cpp could not decode a batch of {count} tokens (llama_decode returned {code})"
            )
        for output in outputs:
            self._advance(output)
        for sequence in [s for s in self._rows if s.finished]:
            self._release(sequence)

    def _advance(self, output: _Output) -> None:
        sequence = output.sequence
        token = int(self._lib.llama_sampler_sample(sequence.sampler, self._context, output.index))
        logprob = self._logprob(output.index, token) if sequence.params.logprobs else None
        sequence.last = token
        self._generated += 1
        text, reason = sequence.accept(
            token,
            self.tokenizer.is_end(token),
            lambda: sequence.utf8.decode(self.tokenizer.piece(token)),
            logprob,
        )
        if text or reason is not None:
            self._emit(sequence, text, reason)

    def _logprob(self, index: int, token: int) -> float:
        """The model's log-probability of `token` at batch position `index` (log-softmax of its logits)."""
        import numpy as np

        pointer = self._lib.llama_get_logits_ith(self._context, index)
        logits = np.ctypeslib.as_array(pointer, shape=(self.tokenizer.size,)).astype(np.float64)
        top = logits.max()
        return float(logits[token] - top - np.log(np.exp(logits - top).sum()))

    def _release(self, sequence: LlamaSequence) -> None:
        """Take a sequence out of the batch: its cells leave the cache, its slot and sampler are freed."""
        self._rows.remove(sequence)
        self._lib.llama_memory_seq_rm(self._memory, sequence.slot, -1, -1)
        if sequence.sampler is not None:
            self._lib.llama_sampler_free(sequence.sampler)
            sequence.sampler = None
        self._free.append(sequence.slot)
        self._free.sort(reverse=True)
        sequence.length = 0

    def _fail_running(self, exc: Exception) -> None:
        if isinstance(exc, BerthError):
            failure: BerthError = exc
        else:
            log.error("text generation failed on a batch of %d", len(self._rows), exc_info=exc)
            failure = ModelError("text generation failed; the worker log has the details")
        for sequence in list(self._rows):
            if not sequence.finished:
                sequence.finished = True
                self._outbox.append((sequence, failure))
            self._release(sequence)

    def _fail_everything(self, failure: BerthError) -> None:
        rows = list(self._rows)
        for sequence in rows:
            self._release(sequence)
        self._fail_waiting_and(rows, failure)
