"""Cross-encoder reranking (text-ranking): a query and documents in, a relevance score per document out.

A cross-encoder is a sequence classifier with one output, read over the pair `[CLS] query [SEP]
document [SEP]`. An input is either
- `{"query": str, "documents": [str, ...]}` → `[{"index", "score"}, ...]`, best first (`index` into
  `documents`; params `top_n` cuts the list, `return_documents: true` adds each `"document"`), or
- `{"query": str, "document": str}` → `{"score": float}`: one pair, the V2 row (`query` and `document`
  BYTES `[-1]` in, `score` FP32 `[-1]` out).

Scores are the logit through the activation sentence-transformers' `CrossEncoder` would apply: the one
config.json names (`sentence_transformers.activation_fn`, or the older
`sbert_ce_default_activation_function`), else a sigmoid, its default for one label. So a model saved
with `Identity` (the ms-marco cross-encoders) answers raw logits, as it does in sentence-transformers.

Batching: every (query, document) pair of every input of a batch is tokenized in one call, the pairs
are sorted by length and scored `PAIRS_PER_PASS` at a time (each pass padded to its own longest pair),
then the scores go back to their inputs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory
from berth.runtimes.outputs import FloatArray, check_params, token_counter
from berth.runtimes.transformers_runtime import _max_length as max_length
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger("berth.runtimes")

MAX_DOCUMENTS = 1_000  # per input: a rerank of more is a search, not a rerank
PAIRS_PER_PASS = 64  # bounds one forward pass's activations, whatever the batch holds
PARAMS = ("top_n", "return_documents")
SIGNATURE = Signature(
    inputs=(TensorSpec("query", "BYTES", (-1,)), TensorSpec("document", "BYTES", (-1,))),
    outputs=(TensorSpec("score", "FP32", (-1,)),),
)
_ACTIVATIONS = {"Sigmoid": "sigmoid", "Identity": "identity", "Tanh": "tanh"}
_WARMUP = {
    "query": "what does berth do?",
    "documents": ["berth serves models over HTTP.", "The cat sat on the mat."],
}


def activation(config: dict[str, Any]) -> str:
    """`sigmoid`, `identity` or `tanh`: what config.json's sentence-transformers entry names, else sigmoid."""
    settings = config.get("sentence_transformers")
    named = settings.get("activation_fn") if isinstance(settings, dict) else None
    named = named or config.get("sbert_ce_default_activation_function")
    if not isinstance(named, str):
        return "sigmoid"
    found = _ACTIVATIONS.get(named.rpartition(".")[2])
    if found is None:
        # NOTE: CrossEncoder, too, falls back to its default for an activation it will not import.
        log.warning("activation %s is not one berth applies; scoring with a sigmoid", named)
        return "sigmoid"
    return found


class RankingRuntime(Runtime):
    """A cross-encoder folder (a sequence classifier with one label) that scores query-document pairs.

    >>> runtime = RankingRuntime(model, spec, device="cpu", task=Task.TEXT_RANKING)
    >>> runtime.load()
    >>> runtime.predict([{"query": "capital of France", "documents": ["Berlin", "Paris"]}], {})
    [[{'index': 1, 'score': 0.98}, {'index': 0, 'score': 0.02}]]
    """

    name = "transformers"
    tasks = frozenset({Task.TEXT_RANKING})

    _model: PreTrainedModel | None = None
    _tokenizer: PreTrainedTokenizerBase | None = None

    def load(self) -> None:
        folder, config, dtype = loading.open_checkpoint(self)
        import transformers

        trust = self.spec.trust_remote_code
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                folder, trust_remote_code=trust, local_files_only=True
            )
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                folder,
                dtype=dtype,
                trust_remote_code=trust,
                local_files_only=True,
                use_safetensors=None if self.spec.allow_pickle else True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, SafetensorError, ...)
            raise UnsupportedModel(
                f"the transformers runtime cannot load {folder} for {self.task}: {exc}"
            ) from exc
        if model.config.num_labels != 1:
            raise UnsupportedModel(
                f"{folder} has {model.config.num_labels} labels, and text-ranking needs a cross-encoder "
                "with one relevance score; serve it with task: text-classification"
            )
        model.to(self.device).eval()
        self._model, self._tokenizer = model, tokenizer
        self._max_length = max_length(model, tokenizer)
        self._counter = token_counter(tokenizer)
        self.activation = activation(config)

    def validate_input(self, item: Any) -> Any:
        if not isinstance(item, dict):
            raise InvalidInput(
                'text-ranking takes {"query": "...", "documents": ["...", ...]} '
                f'or {{"query": "...", "document": "..."}}, got {type(item).__name__}'
            )
        unknown = sorted(set(item) - {"query", "documents", "document"})
        if unknown:
            raise InvalidInput(f"unknown key {unknown[0]!r}; a rerank input has query and documents")
        query = item.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("query must be a non-empty string")
        if ("documents" in item) == ("document" in item):
            raise InvalidInput('send either "documents" (a list to rank) or "document" (one to score)')
        if "document" in item:
            if not isinstance(item["document"], str):
                raise InvalidInput(f"document must be a string, got {type(item['document']).__name__}")
            return {"query": query, "document": item["document"]}
        documents = item["documents"]
        if not isinstance(documents, list):
            raise InvalidInput(f"documents must be a list of strings, got {type(documents).__name__}")
        if not documents:
            raise InvalidInput("rerank needs at least one document")
        if len(documents) > MAX_DOCUMENTS:
            raise InvalidInput(
                f"rerank takes at most {MAX_DOCUMENTS} documents per query, got {len(documents)}: "
                "split them over several requests"
            )
        for index, document in enumerate(documents):
            if not isinstance(document, str):
                raise InvalidInput(f"documents[{index}] must be a string, got {type(document).__name__}")
        return {"query": query, "documents": documents}

    def validate_params(self, params: Params) -> Params:
        check_params(params, PARAMS, self.task)
        top_n = params.get("top_n")
        if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
            raise InvalidInput(f"parameter top_n must be a positive integer, got {top_n!r}")
        if not isinstance(params.get("return_documents", False), bool):
            raise InvalidInput(
                f"parameter return_documents must be true or false, got {params['return_documents']!r}"
            )
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        self.validate_params(params)
        queries: list[str] = []
        documents: list[str] = []
        for item in inputs:
            texts = item["documents"] if "documents" in item else [item["document"]]
            queries.extend([item["query"]] * len(texts))
            documents.extend(texts)
        scores = self._score(queries, documents)
        results: list[Any] = []
        start = 0
        for item in inputs:
            if "document" in item:
                results.append({"score": float(scores[start])})
                start += 1
                continue
            count = len(item["documents"])
            results.append(_ranked(scores[start : start + count], item["documents"], params))
            start += count
        return results

    def signature(self) -> Signature:
        return SIGNATURE

    def warmup_input(self) -> Any | None:
        return dict(_WARMUP)

    def count_tokens(self, text: str) -> int:
        tokenizer = self._loaded()[1]
        if self._counter is None:  # a slow tokenizer is plain Python, safe to share
            return len(tokenizer.tokenize(text))
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def close(self) -> None:
        self._model = self._tokenizer = None
        free_device_memory(self.device)

    def _loaded(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        if self._model is None or self._tokenizer is None:
            raise UnsupportedModel("the transformers runtime is not loaded; call load() first")
        return self._model, self._tokenizer

    def _score(self, queries: list[str], documents: list[str]) -> FloatArray:
        """One score per (query, document) pair, in their order."""
        import torch

        model, tokenizer = self._loaded()
        # NOTE: one tokenizer call for every pair, unpadded; each pass pads only its own pairs, and
        # sorting by length first keeps a long document from padding 63 short ones.
        encoded = tokenizer(queries, documents, truncation=True, max_length=self._max_length)
        features = list(encoded.keys())
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        scores = np.empty(len(queries), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), PAIRS_PER_PASS):
                chosen = order[start : start + PAIRS_PER_PASS]
                rows = [{name: encoded[name][int(i)] for name in features} for i in chosen]
                batch = tokenizer.pad(rows, padding=True, return_tensors="pt").to(self.device)
                logits = model(**batch).logits[:, 0].float()
                if self.activation == "sigmoid":
                    logits = logits.sigmoid()
                elif self.activation == "tanh":
                    logits = logits.tanh()
                scores[chosen] = logits.cpu().numpy()
        return scores


def _ranked(scores: FloatArray, documents: list[str], params: Params) -> list[dict[str, Any]]:
    """The documents' indices and scores, best first (ties in document order), cut at `top_n`."""
    order = np.argsort(-scores, kind="stable")[: params.get("top_n") or len(documents)]
    with_text = params.get("return_documents", False)
    ranked = []
    for index in order:
        entry: dict[str, Any] = {"index": int(index), "score": float(scores[index])}
        if with_text:
            entry["document"] = documents[index]
        ranked.append(entry)
    return ranked
