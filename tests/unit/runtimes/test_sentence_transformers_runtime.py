from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from berth.errors import InvalidInput
from berth.runtimes import Runtime

PARAPHRASES = ("A man is playing a guitar.", "Someone plays an acoustic guitar.")
UNRELATED = "The stock market fell sharply on Monday."


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_embeddings_are_384_float32_unit_vectors(st_minilm: Runtime) -> None:
    (vector,) = st_minilm.predict(["hello world"], {})
    assert vector.shape == (384,)
    assert vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)  # MiniLM's Normalize module


def test_paraphrase_ranks_above_unrelated(st_minilm: Runtime) -> None:
    anchor, paraphrase, unrelated = st_minilm.predict([*PARAPHRASES, UNRELATED], {})
    assert cosine(anchor, paraphrase) > cosine(anchor, unrelated) + 0.3


def test_batch_equals_single(st_minilm: Runtime) -> None:
    texts = ["short", "a much longer sentence that needs padding in a batch", UNRELATED]
    batch = st_minilm.predict(texts, {})
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(row, st_minilm.predict([text], {})[0], atol=1e-5)


def test_same_vectors_as_sentence_transformers_itself(st_minilm: Runtime, minilm_path) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(minilm_path), device="cpu").encode(list(PARAPHRASES))
    np.testing.assert_allclose(np.stack(st_minilm.predict(list(PARAPHRASES), {})), reference, atol=1e-6)


def test_signature_and_helpers(st_minilm: Runtime) -> None:
    assert st_minilm.signature().outputs[0].shape == (-1, 384)
    assert st_minilm.count_tokens("unbelievably tokenization") == 7  # WordPiece pieces
    assert st_minilm.validate_input(st_minilm.warmup_input()) == st_minilm.warmup_input()


def test_rejects_non_text_and_params(st_minilm: Runtime) -> None:
    with pytest.raises(InvalidInput, match="must be a string, got int"):
        st_minilm.validate_input(3)
    with pytest.raises(InvalidInput, match="unknown parameter 'normalize'"):
        st_minilm.validate_params({"normalize": True})


def test_two_lanes_predict_at_once_each_on_its_own_thread_count(st_minilm: Runtime) -> None:
    import torch

    texts = [f"{PARAPHRASES[i % 2]} ({i})" for i in range(16)]
    expected = st_minilm.predict(texts, {})
    main_threads = torch.get_num_threads()
    assert st_minilm.lanes() == min(2, main_threads)  # on a CPU

    def lane(_: int) -> tuple[list[np.ndarray], int]:
        st_minilm.set_concurrency(2)
        try:
            return [v for _ in range(3) for v in st_minilm.predict(texts, {})], torch.get_num_threads()
        finally:
            st_minilm.set_concurrency(1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lane, range(2)))
    for vectors, threads in results:
        assert threads == max(1, main_threads // 2)
        np.testing.assert_allclose(np.stack(vectors), np.stack(expected * 3), atol=1e-5)
    assert torch.get_num_threads() == main_threads  # torch's count is per thread: this one kept its own
