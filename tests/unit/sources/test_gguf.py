"""GGUF models as sources: the spec's model.file, header reading, detection, preflight and the hub pull
of one quantization out of many."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.errors import InvalidSpec, UnsupportedModel
from berth.sources import fetch, preflight, resolve_source
from berth.sources.gguf_header import parameters_from_size, quantization_from_name, read_gguf
from berth.sources.tasks import detect
from berth.spec import DeploymentSpec, RuntimeName, Task, parse_spec
from tests import tiny_models
from tests.hub_server import FakeHub
from tests.unit.sources.conftest import write_json

pytest.importorskip("gguf")

HIDDEN, LAYERS, HEADS, KV_HEADS, CONTEXT = 64, 2, 4, 2, 512
QUANTIZATIONS = ("F16", "Q8_0", "Q4_K_M")


@pytest.fixture(scope="module")
def gguf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding the tiny model in three quantizations (Q8_0 and Q4_K_M made by llama.cpp)."""
    pytest.importorskip("llama_cpp")
    folder = tmp_path_factory.mktemp("gguf")
    for file_type in QUANTIZATIONS:
        tiny_models.build_gguf(folder, file_type=file_type, hidden=HIDDEN, layers=LAYERS, heads=HEADS,
                               kv_heads=KV_HEADS, context=CONTEXT)  # fmt: skip
    return folder


def spec(source: str | Path, **fields: object) -> DeploymentSpec:
    model = {"source": str(source)}
    if "file" in fields:
        model["file"] = str(fields.pop("file"))
    return DeploymentSpec.model_validate({"name": "g", "model": model, **fields})


def expected_parameters() -> int:
    """The builder's shapes, counted by hand: embeddings, output head, and per layer Q, K, V, O,
    three FFN matrices and two norms, plus the final norm."""
    vocab = len(tiny_models._gguf_vocabulary()[0])
    head = HIDDEN // HEADS
    ffn = 4 * HIDDEN
    per_layer = 2 * HIDDEN * HIDDEN + 2 * KV_HEADS * head * HIDDEN + 3 * HIDDEN * ffn + 2 * HIDDEN
    return 2 * vocab * HIDDEN + LAYERS * per_layer + HIDDEN


EXPECTED_KV_PER_TOKEN = 2 * LAYERS * KV_HEADS * (HIDDEN // HEADS) * 2  # f16 key and value


# --- the spec's model.file


def test_model_file_is_a_relative_glob() -> None:
    assert spec("org/repo-GGUF", file="*Q4_K_M.gguf").model.file == "*Q4_K_M.gguf"
    assert spec("org/repo-GGUF").model.file is None
    for bad, why in (
        ("/etc/passwd", "absolute"),
        ("../x.gguf", ".."),
        ("a/../../b.gguf", ".."),
        (" ", "empty"),
    ):
        with pytest.raises(InvalidSpec, match=why):
            parse_spec({"name": "g", "model": {"source": "org/repo", "file": bad}})


# --- the header


@pytest.mark.parametrize("file_type", QUANTIZATIONS)
def test_header_gives_parameters_quantization_context_and_kv_bytes(gguf_folder: Path, file_type: str) -> None:
    info = read_gguf(gguf_folder / f"tiny-{file_type}.gguf")
    assert info.header_read
    assert info.architecture == "llama"
    assert info.parameters == expected_parameters()
    assert info.quantization == file_type
    assert info.context_length == CONTEXT
    assert info.kv_bytes_per_token == EXPECTED_KV_PER_TOKEN
    assert not info.is_embedding
    assert info.metadata["llama.block_count"] == LAYERS


def test_parameters_agree_with_llama_cpp(gguf_folder: Path) -> None:
    import llama_cpp

    path = gguf_folder / "tiny-Q4_K_M.gguf"
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = False
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    try:
        assert read_gguf(path).parameters == llama_cpp.llama_model_n_params(model)
    finally:
        llama_cpp.llama_model_free(model)


def test_without_file_type_the_dominant_tensor_type_is_the_quantization(tmp_path: Path) -> None:
    import numpy as np

    path = write_gguf(tmp_path / "plain.gguf", "llama", tensors={"a": np.zeros((8, 8), np.float16),
                                                              "b": np.zeros(4, np.float32)})  # fmt: skip
    assert read_gguf(path).quantization == "F16"


def test_without_the_gguf_package_only_the_size_is_known(
    gguf_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gguf", None)  # what `import gguf` meets when it is not installed
    path = gguf_folder / "tiny-Q4_K_M.gguf"
    info = read_gguf(path)
    assert not info.header_read
    assert info.file_bytes == path.stat().st_size
    assert info.parameters is None
    assert info.quantization == "Q4_K_M"
    report = preflight(spec(path), resolve_source(spec(path).model), device="cpu")
    assert report.basis == "file-size"
    assert report.parameters == parameters_from_size(path.stat().st_size, "Q4_K_M")


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"not a gguf file at all")
    with pytest.raises(UnsupportedModel, match="not a valid GGUF file"):
        read_gguf(path)


def test_quantization_from_name() -> None:
    assert quantization_from_name("Llama-3-8B-Instruct.Q4_K_M.gguf") == "Q4_K_M"
    assert quantization_from_name("qwen2.5-0.5b-instruct-q8_0.gguf") == "Q8_0"
    assert quantization_from_name("model-IQ4_XS-00001-of-00002.gguf") == "IQ4_XS"
    assert quantization_from_name("model-f16.gguf") == "F16"
    assert quantization_from_name("model.gguf") is None


# --- detection


def test_a_gguf_file_is_llama_cpp_text_generation(gguf_folder: Path) -> None:
    path = gguf_folder / "tiny-Q8_0.gguf"
    model = fetch(spec(path), resolve_source(spec(path).model))
    assert detect(model, spec(path)) == (RuntimeName.LLAMA_CPP, Task.TEXT_GENERATION)
    assert detect(model, spec(path, runtime="llama-cpp", task="text-generation"))[0] is RuntimeName.LLAMA_CPP


def test_a_folder_of_ggufs_needs_model_file_to_choose(gguf_folder: Path) -> None:
    with pytest.raises(
        UnsupportedModel, match=r"holds 3 GGUF files \(tiny-F16.gguf, tiny-Q4_K_M.gguf, tiny-Q8_0"
    ):
        fetch(spec(gguf_folder), resolve_source(spec(gguf_folder).model))
    chosen = spec(gguf_folder, file="*q4_k_m.gguf")  # case-insensitive
    model = fetch(chosen, resolve_source(chosen.model))
    assert model.path == gguf_folder / "tiny-Q4_K_M.gguf"
    assert detect(model, chosen) == (RuntimeName.LLAMA_CPP, Task.TEXT_GENERATION)
    with pytest.raises(UnsupportedModel, match=r"matches none of .* \(tiny-F16.gguf, tiny-Q4_K_M.gguf"):
        fetch(spec(gguf_folder, file="*Q5_K_M.gguf"), resolve_source(spec(gguf_folder).model))
    with pytest.raises(UnsupportedModel, match="matches 2 of"):
        fetch(spec(gguf_folder, file="*Q*.gguf"), resolve_source(spec(gguf_folder).model))


def test_impossible_runtime_choices_are_refused(gguf_folder: Path, tiny_model: Path) -> None:
    path = gguf_folder / "tiny-F16.gguf"
    model = fetch(spec(path), resolve_source(spec(path).model))
    with pytest.raises(UnsupportedModel, match="only the llama-cpp runtime serves"):
        detect(model, spec(path, runtime="transformers"))
    with pytest.raises(
        UnsupportedModel, match=r"cannot serve feature-extraction; it serves text-generation$"
    ):
        detect(model, spec(path, task="feature-extraction"))
    folder = fetch(spec(tiny_model), resolve_source(spec(tiny_model).model))
    with pytest.raises(UnsupportedModel, match=r"has no \.gguf file for the llama-cpp runtime"):
        detect(folder, spec(tiny_model, runtime="llama-cpp"))
    with pytest.raises(UnsupportedModel, match=r"model\.file chooses a GGUF file"):
        fetch(spec(tiny_model, runtime="onnx", file="*.gguf"), resolve_source(spec(tiny_model).model))


@pytest.mark.parametrize(("architecture", "pooling"), [("bert", None), ("qwen3", 3)])
def test_an_embedding_gguf_is_refused(tmp_path: Path, architecture: str, pooling: int | None) -> None:
    path = write_gguf(tmp_path / "embed.gguf", architecture, pooling=pooling)
    model = fetch(spec(path), resolve_source(spec(path).model))
    with pytest.raises(UnsupportedModel, match="is an embedding model"):
        detect(model, spec(path))
    with pytest.raises(UnsupportedModel, match="is an embedding model"):
        preflight(spec(path), resolve_source(spec(path).model), device="cpu")


# --- preflight


def test_preflight_of_a_gguf_file(gguf_folder: Path) -> None:
    path = gguf_folder / "tiny-Q4_K_M.gguf"
    deployment = spec(path, generation={"max_batch_tokens": 4096})
    report = preflight(deployment, resolve_source(deployment.model), device="cpu")
    size = path.stat().st_size
    assert (report.parameters, report.basis, report.dtype) == (expected_parameters(), "gguf", "Q4_K_M")
    assert report.memory_bytes == {"Q4_K_M": size}
    assert report.download_bytes == size
    assert report.activation_bytes == 4096 * EXPECTED_KV_PER_TOKEN
    assert (report.task, report.runtime, report.fits) == ("text-generation", "llama-cpp", True)
    small = spec(path, limits={"max_memory_gb": size / 2 / 1e9, "max_model_size_gb": 100})
    tight = preflight(small, resolve_source(small.model), device="cpu")
    assert not tight.fits
    assert "over limits.max_memory_gb" in tight.reasons[0]


def test_preflight_of_a_folder_measures_the_chosen_file(gguf_folder: Path) -> None:
    chosen = spec(gguf_folder, file="tiny-Q8_0.gguf")
    report = preflight(chosen, resolve_source(chosen.model), device="cpu")
    assert report.memory_bytes == {"Q8_0": (gguf_folder / "tiny-Q8_0.gguf").stat().st_size}


# --- the hub: one quantization of many


@pytest.fixture
def gguf_hub(
    hf_cache: Path, monkeypatch: pytest.MonkeyPatch, gguf_folder: Path, tmp_path: Path
) -> Iterator[FakeHub]:
    repo = tmp_path / "repo"
    repo.mkdir()
    for file_type in QUANTIZATIONS:
        (repo / f"tiny-{file_type}.gguf").symlink_to(gguf_folder / f"tiny-{file_type}.gguf")
    write_json(repo / "config.json", {"model_type": "llama"})
    (repo / "README.md").write_text("# tiny GGUF\n")
    hub = FakeHub().start()
    hub.add_repo("tiny/llama-GGUF", repo)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    yield hub
    hub.stop()


def test_a_hub_pull_downloads_only_the_chosen_quantization(gguf_hub: FakeHub, gguf_folder: Path) -> None:
    chosen = spec("tiny/llama-GGUF", file="*Q4_K_M.gguf")
    before = preflight(chosen, resolve_source(chosen.model), device="cpu")
    size = (gguf_folder / "tiny-Q4_K_M.gguf").stat().st_size
    assert (before.basis, before.cached, before.dtype) == ("file-size", False, "Q4_K_M")
    assert before.parameters == parameters_from_size(size, "Q4_K_M")
    assert before.download_bytes == size + len('{"model_type": "llama"}')
    gguf_hub.clear_log()
    model = fetch(chosen, resolve_source(chosen.model), timeout_s=60)
    fetched = {r.file for r in gguf_hub.log() if r.method == "GET" and r.file}
    assert fetched <= {"tiny-Q4_K_M.gguf", "config.json"}
    assert "tiny-Q4_K_M.gguf" in fetched
    assert model.path is not None
    assert model.path.name == "tiny-Q4_K_M.gguf"
    assert model.path.is_file()
    assert not (model.path.parent / "tiny-F16.gguf").exists()
    assert detect(model, chosen) == (RuntimeName.LLAMA_CPP, Task.TEXT_GENERATION)
    after = preflight(chosen, resolve_source(chosen.model), device="cpu")
    assert (after.basis, after.cached, after.parameters) == ("gguf", True, expected_parameters())


def test_a_hub_repo_of_several_ggufs_without_model_file_is_refused_before_any_download(
    gguf_hub: FakeHub,
) -> None:
    unchosen = spec("tiny/llama-GGUF")
    with pytest.raises(
        UnsupportedModel, match=r"holds 3 GGUF files .* model\.file in a spec, `berth deploy --file`"
    ) as refused:
        fetch(unchosen, resolve_source(unchosen.model), timeout_s=60)
    assert refused.value.status_code == 422
    assert not [r for r in gguf_hub.log() if r.file and r.file.endswith(".gguf")]


def write_gguf(
    path: Path, architecture: str, *, pooling: int | None = None, tensors: dict | None = None
) -> Path:
    """A header-only GGUF (tiny tensors): enough for what berth reads before loading."""
    import numpy as np
    from gguf import GGUFWriter, PoolingType

    writer = GGUFWriter(str(path), architecture)
    writer.add_context_length(128)
    writer.add_block_count(1)
    writer.add_embedding_length(8)
    writer.add_head_count(2)
    if pooling is not None:
        writer.add_pooling_type(PoolingType(pooling))
    for name, array in (tensors or {"token_embd.weight": np.zeros((4, 8), np.float32)}).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
