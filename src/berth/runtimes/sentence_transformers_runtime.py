"""The sentence-transformers runtime: a folder with modules.json, served as sentence embeddings.

The model's own modules (pooling, normalisation, dense layers) run as its authors configured them,
so the vectors equal what `SentenceTransformer.encode` gives anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.errors import UnsupportedModel
from berth.runtimes import layout
from berth.runtimes.base import Params, Runtime, Signature
from berth.runtimes.device import free_device_memory, resolve_dtype
from berth.runtimes.outputs import check_params, require_text, text_signature, token_counter
from berth.sources.tasks import RUNTIME_TASKS, model_folder, read_config
from berth.spec import RuntimeName

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_WARMUP_TEXT = "berth warms the model up with this sentence."


class SentenceTransformersRuntime(Runtime):
    """A sentence-transformers model: one float32 vector per input text.

    >>> runtime = SentenceTransformersRuntime(model, spec, device="cpu", task=Task.FEATURE_EXTRACTION)
    >>> runtime.load()
    >>> runtime.predict(["a sentence", "another"], {})[0].shape
    (384,)
    """

    name = "sentence-transformers"
    tasks = RUNTIME_TASKS[RuntimeName.SENTENCE_TRANSFORMERS]

    _encoder: SentenceTransformer | None = None
    _threads = 1  # torch's intra-op threads on the loading thread: the cores the lanes share

    def load(self) -> None:
        folder = model_folder(self.model)
        config = read_config(folder)
        layout.check_remote_code(folder, config, self.spec.trust_remote_code)
        layout.check_pickle_policy(folder, self.spec.allow_pickle)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # NOTE: tqdm progress bars would flood the worker's log file.
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        model_kwargs = {} if self.spec.allow_pickle else {"use_safetensors": True}
        try:
            encoder = SentenceTransformer(
                str(folder),  # NOTE: a Path is not accepted as a model name
                device=self.device,
                trust_remote_code=self.spec.trust_remote_code,
                local_files_only=True,
                model_kwargs=model_kwargs,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, SafetensorError, ...)
            raise UnsupportedModel(f"the sentence-transformers runtime cannot load {folder}: {exc}") from exc
        dtype = resolve_dtype(self.spec.dtype, self.device, layout.config_dtype(config))
        if dtype != "float32":
            encoder.to(getattr(torch, dtype))
        encoder.eval()
        self._encoder = encoder
        self._threads = torch.get_num_threads()
        self._counter = token_counter(getattr(encoder, "tokenizer", None))

    def validate_input(self, item: Any) -> Any:
        return require_text(item)

    def validate_params(self, params: Params) -> Params:
        check_params(params, (), self.task)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        encoder = self._loaded()
        self.validate_params(params)
        import torch

        with torch.inference_mode():
            vectors = encoder.encode(
                inputs, batch_size=len(inputs), convert_to_numpy=True, show_progress_bar=False
            )
        return list(vectors.astype("float32", copy=False))

    def lanes(self) -> int:
        """Two lanes on a CPU with two cores or more (measured on 2 cores; see berth.worker.batcher).

        `encode` is safe on two threads at once: torch modules in inference mode share weights
        read-only, and every call tokenizes with the same padding and truncation, so transformers
        never reconfigures the shared Rust tokenizer (it only does when they change), and
        concurrent encodes only borrow it to read.
        """
        return min(2, self._threads) if self.device == "cpu" else 1

    def set_concurrency(self, sharing: int) -> None:
        import torch

        # NOTE: torch's thread count is per calling thread (OpenMP's and MKL's are), so each lane
        # sets its own and a lane running alone still uses every core.
        threads = max(1, self._threads // sharing)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def signature(self) -> Signature:
        dim = self._encoder.get_embedding_dimension() if self._encoder is not None else None
        return text_signature(self.task, dim)

    def warmup_input(self) -> Any | None:
        return _WARMUP_TEXT

    def count_tokens(self, text: str) -> int:
        self._loaded()
        if self._counter is None:
            return super().count_tokens(text)
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def close(self) -> None:
        self._encoder = None
        free_device_memory(self.device)

    def _loaded(self) -> SentenceTransformer:
        if self._encoder is None:
            raise UnsupportedModel("the sentence-transformers runtime is not loaded; call load() first")
        return self._encoder
