"""The llama.cpp runtime: a GGUF causal LM served through llama-cpp-python's low-level API.

`load` finds the GGUF file (`berth.sources.tasks.gguf_file`: the file, or the one `model.file` picks
in a folder), loads it with llama.cpp's log routed to Python logging (never to the
worker's stdout, which carries its event lines), and starts `LlamaCppEngine`, the continuous-batching
engine that decodes every sequence. The request side stays off the engine's thread: prompts are
tokenized by llama.cpp's read-only vocabulary, and a chat template (the GGUF's
`tokenizer.chat_template`) is rendered by Jinja's sandbox as transformers renders one.

llama-cpp-python is an optional dependency (`modelberth[llama-cpp]`), imported only in `load`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
from collections import deque
from datetime import datetime
from typing import Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes.base import Params, Runtime, Signature
from berth.runtimes.engine import EngineLimits, gather_s, result_of
from berth.runtimes.generation import GenerationParams, render_messages
from berth.runtimes.llama_engine import LlamaCppEngine, Vocabulary
from berth.runtimes.outputs import require_text, text_signature
from berth.sources import tasks
from berth.spec import Task

log = logging.getLogger("berth.llama_cpp")

_WARMUP_TEXT = "berth warms the model up with this sentence."
_errors: deque[str] = deque(maxlen=4)  # llama.cpp's latest error lines, for a failed load's message
_log_callback: Any = None  # NOTE: kept referenced: llama.cpp calls it for the life of the process


class LlamaCppRuntime(Runtime):
    """A GGUF file (or a folder holding one) decoded by llama.cpp, for text-generation.

    >>> runtime = LlamaCppRuntime(model, spec, device="cpu", task=Task.TEXT_GENERATION)
    >>> runtime.load()
    >>> runtime.predict(["the quick brown"], {"max_new_tokens": 8})
    [{'generated_text': ' fox jumps', 'finish_reason': 'length', ...}]
    """

    name = "llama-cpp"
    tasks = frozenset({Task.TEXT_GENERATION})

    _model: Any = None
    _engine: LlamaCppEngine | None = None
    _vocabulary: Vocabulary | None = None
    _template: Any = None

    def load(self) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise UnsupportedModel(
                "the llama-cpp runtime needs llama-cpp-python: pip install 'modelberth[llama-cpp]'"
            ) from None
        route_log(llama_cpp)
        path = tasks.gguf_file(tasks.model_path(self.model), self.spec)  # model.file chooses in a folder
        if path is None:
            raise UnsupportedModel(
                f"the llama-cpp runtime serves GGUF files, and {self.model.path} is none and holds none"
            )
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = _gpu_layers(llama_cpp, self.device, str(self.spec.device))
        if self.device.startswith("cuda:"):
            params.main_gpu = int(self.device.partition(":")[2])
        _errors.clear()
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not model:
            reason = f": {_errors[0]}" if _errors else ""  # the first error line says why
            raise UnsupportedModel(f"llama.cpp cannot load {path}{reason}")
        self._model = model
        vocabulary = Vocabulary(llama_cpp.llama_model_get_vocab(model))
        self._vocabulary = vocabulary
        self._bos = int(llama_cpp.llama_vocab_bos(vocabulary.vocab))
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocabulary.vocab)) and self._bos >= 0
        self._bos_text = _token_text(vocabulary, self._bos)
        self._eos_text = _token_text(vocabulary, int(llama_cpp.llama_vocab_eos(vocabulary.vocab)))
        self._template = _compile_template(_meta(llama_cpp, model, "tokenizer.chat_template"))
        limits = self._limits(int(llama_cpp.llama_model_n_ctx_train(model)))
        self._engine = LlamaCppEngine(model, limits, threads=_usable_cores())
        self._engine.start()
        log.info(
            "loaded %s: %d tokens of context, %d slots", path.name, limits.max_context, limits.max_sequences
        )

    def validate_input(self, item: Any) -> Any:
        text = require_text(item)
        if not text:
            raise InvalidInput("the prompt must not be empty")
        return text

    def validate_params(self, params: Params) -> Params:
        GenerationParams.parse(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        engine = self._loaded()
        parsed = GenerationParams.parse(params)  # warm-up and direct calls; the worker submits itself
        return [result_of(engine.generate(self.encode_prompt(p), parsed)) for p in inputs]

    def generation_engine(self) -> LlamaCppEngine | None:
        return self._engine

    def chat_prompt(self, messages: list[dict[str, Any]]) -> str:
        self._loaded()
        template = self._template
        if template is None:
            return render_messages(messages, None)
        return render_messages(
            messages,
            lambda checked: template.render(
                messages=checked,
                add_generation_prompt=True,
                bos_token=self._bos_text,
                eos_token=self._eos_text,
            ),
        )

    def encode_prompt(self, prompt: str) -> list[int]:
        # NOTE: a chat template usually writes the BOS token itself; adding another shifts the model
        # off its training distribution, so BOS is added only when the prompt lacks it.
        add_bos = self._add_bos and not (self._bos_text and prompt.startswith(self._bos_text))
        return self._tokenize(prompt, add_bos)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text, False))

    def signature(self) -> Signature:
        return text_signature(Task.TEXT_GENERATION)

    def warmup_input(self) -> Any | None:
        return _WARMUP_TEXT

    def warmup_params(self) -> Params:
        return {"max_new_tokens": 4}  # NOTE: enough to run prefill and decode once; a CPU is slow at 256

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        if self._model is not None:
            import llama_cpp

            llama_cpp.llama_model_free(self._model)
        self._engine = self._model = self._vocabulary = self._template = None

    def _limits(self, own: int) -> EngineLimits:
        """The engine's bounds from the spec's `generation` block, as the transformers runtime sets them."""
        generation = self.spec.generation
        own_context = own if own > 0 else None
        context = generation.max_context or min(
            own_context or generation.max_batch_tokens, generation.max_batch_tokens
        )
        if own_context is not None and context > own_context:
            raise UnsupportedModel(
                f"generation.max_context is {context} but the model takes {own_context} positions; "
                f"lower it to {own_context}"
            )
        return EngineLimits(
            max_sequences=generation.max_concurrent_sequences,
            max_batch_tokens=generation.max_batch_tokens,
            max_context=context,
            max_queue=self.spec.limits.max_queue,
            gather_s=gather_s(self.spec.batching.max_latency_ms),
        )

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        import llama_cpp

        vocabulary = self._loaded_vocabulary()
        data = text.encode("utf-8")
        room = len(data) + 2
        while True:
            tokens = (llama_cpp.llama_token * room)()
            count = llama_cpp.llama_tokenize(vocabulary.vocab, data, len(data), tokens, room, add_bos, True)
            if count >= 0:
                return list(tokens[:count])
            room = -count

    def _loaded(self) -> LlamaCppEngine:
        if self._engine is None:
            raise UnsupportedModel("the llama-cpp runtime is not loaded; call load() first")
        return self._engine

    def _loaded_vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            raise UnsupportedModel("the llama-cpp runtime is not loaded; call load() first")
        return self._vocabulary


def route_log(llama_cpp: Any) -> None:
    """Send llama.cpp's (and ggml's) log to Python logging: debug lines, its warnings as info, its
    errors as warnings."""
    global _log_callback
    if _log_callback is not None:
        return

    def forward(level: int, text: bytes, _user: Any) -> None:
        line = text.decode("utf-8", "replace").rstrip()
        if not line:
            return
        if level == 4:  # GGML_LOG_LEVEL_ERROR (ggml.h: NONE, DEBUG, INFO, WARN, ERROR, CONT)
            _errors.append(line)
            log.warning("llama.cpp: %s", line)
        elif level == 3:  # WARN
            log.info("llama.cpp: %s", line)
        else:
            log.debug("llama.cpp: %s", line)

    _log_callback = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


def _gpu_layers(llama_cpp: Any, device: str, asked: str) -> int:
    """Layers to offload: all of them on a GPU. `asked` is the spec's device: a GPU asked for by name
    that this build cannot use is an error; `auto` that found a GPU falls back to the CPU."""
    if not device.startswith("cuda"):
        return 0
    if not llama_cpp.llama_supports_gpu_offload():
        if asked.startswith("cuda"):
            raise UnsupportedModel(
                f"device is {asked} but this llama-cpp-python build has no GPU support; reinstall it "
                'with CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
                "llama-cpp-python, or set device: cpu"
            )
        log.warning("this llama-cpp-python build has no GPU support; the model runs on the CPU")
        return 0
    return -1  # every layer on the GPU


def _usable_cores() -> int:
    """The cores this process may run on (its affinity, which a container or taskset narrows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _meta(llama_cpp: Any, model: Any, key: str) -> str | None:
    size = 4096
    while True:
        buffer = ctypes.create_string_buffer(size)
        length = int(llama_cpp.llama_model_meta_val_str(model, key.encode(), buffer, size))
        if length < 0:
            return None
        if length < size:
            return buffer.value.decode("utf-8", "replace")
        size = length + 1


def _token_text(vocabulary: Vocabulary, token: int) -> str:
    return "" if token < 0 else vocabulary.piece(token, special=True).decode("utf-8", "replace")


def _compile_template(source: str | None) -> Any:
    """A chat template compiled as transformers compiles one: a sandbox, its helpers and whitespace rules."""
    if not source:
        return None
    from jinja2.exceptions import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, **_: Any) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)

    def strftime_now(pattern: str) -> str:
        return datetime.now().strftime(pattern)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = strftime_now
    try:
        return environment.from_string(source)
    except TemplateError as exc:
        raise UnsupportedModel(
            f"the model's chat template (tokenizer.chat_template) does not compile: {exc}"
        ) from exc
