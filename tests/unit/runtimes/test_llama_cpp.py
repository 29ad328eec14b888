"""The llama-cpp runtime around its engine: which GGUF file it loads, prompts, chat templates, limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes.base import Runtime
from berth.runtimes.llama_cpp import LlamaCppRuntime
from berth.spec import Task
from tests import tiny_models

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    path = tiny_models.build_gguf(tmp_path_factory.mktemp("gguf"))
    loaded = tiny_models.load_runtime(path, runtime="llama-cpp", generation={"max_batch_tokens": 1024})
    yield loaded
    loaded.close()


def test_a_folder_with_two_models_and_no_model_file_is_refused_at_load(tmp_path: Path) -> None:
    tiny_models.build_gguf(tmp_path, file_type="F16")
    tiny_models.build_gguf(tmp_path, file_type="F32")
    with pytest.raises(UnsupportedModel, match="holds 2 GGUF files"):
        tiny_models.load_runtime(tmp_path, runtime="llama-cpp")
    chosen = {"source": str(tmp_path), "file": "*F32.gguf"}
    runtime = tiny_models.load_runtime(tmp_path, runtime="llama-cpp", model=chosen)
    runtime.close()


def test_prompts_get_one_bos_and_template_tokens_map_to_their_ids(runtime: Runtime) -> None:
    plain = runtime.encode_prompt("hello world")
    assert plain[0] == 0  # <|endoftext|> is this vocabulary's BOS
    assert runtime.encode_prompt("<|endoftext|>hello world") == plain  # not a second one
    assert runtime.count_tokens("hello world") == len(plain) - 1
    chat = runtime.encode_prompt("<|im_start|>user\nhi<|im_end|>")
    control = tiny_models._gguf_vocabulary()[0].index("<|im_start|>")
    assert chat[:2] == [0, control]


def test_chat_renders_the_gguf_template_as_jinja_does(runtime: Runtime) -> None:
    import jinja2

    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ]
    expected = jinja2.Environment().from_string(tiny_models.GGUF_CHAT_TEMPLATE)
    flat = [messages[0], {"role": "user", "content": "hi"}]
    assert runtime.chat_prompt(messages) == expected.render(messages=flat, add_generation_prompt=True)
    with pytest.raises(InvalidInput, match="non-empty list"):
        runtime.chat_prompt([])


def test_predict_generates_and_validates_like_the_transformers_runtime(runtime: Runtime) -> None:
    [result] = runtime.predict([runtime.validate_input("hello")], {"max_new_tokens": 5})
    assert result["completion_tokens"] == 5
    assert result["finish_reason"] == "length"
    with pytest.raises(InvalidInput, match="unknown parameter 'beams'"):
        runtime.validate_params({"beams": 2})
    with pytest.raises(InvalidInput, match="must not be empty"):
        runtime.validate_input("")
    assert isinstance(runtime, LlamaCppRuntime)
    assert runtime.signature().outputs[0].name == "generated_text"


def test_a_context_beyond_the_gguf_context_length_is_refused(tmp_path: Path) -> None:
    path = tiny_models.build_gguf(tmp_path, context=256)
    with pytest.raises(UnsupportedModel, match="model takes 256 positions; lower it to 256"):
        tiny_models.load_runtime(path, runtime="llama-cpp", generation={"max_context": 1024})


def test_a_gguf_llama_cpp_cannot_load_is_refused_with_its_reason(tmp_path: Path) -> None:
    import numpy as np
    from gguf import GGUFWriter

    path = tmp_path / "odd.gguf"
    writer = GGUFWriter(str(path), "nonesuch")
    writer.add_context_length(64)
    writer.add_tensor("token_embd.weight", np.zeros((8, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(
        UnsupportedModel, match=r"llama.cpp cannot load .*unknown model architecture: 'nonesuch'"
    ):
        tiny_models.load_runtime(path, runtime="llama-cpp")


def test_a_gpu_asked_for_by_name_on_a_cpu_only_build_is_refused(tmp_path: Path) -> None:
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python build offloads to GPUs")
    path = tiny_models.build_gguf(tmp_path)
    runtime = LlamaCppRuntime(
        tiny_models.local_model(path),
        tiny_models.make_spec(path, device="cuda"),
        device="cuda",
        task=Task.TEXT_GENERATION,
    )
    with pytest.raises(UnsupportedModel, match=r"no GPU support.*GGML_CUDA=on"):
        runtime.load()
