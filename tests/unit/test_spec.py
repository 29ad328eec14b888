from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from berth.errors import InvalidSpec
from berth.spec import DeploymentSpec, DType, RuntimeName, Task, load_spec, parse_spec

MINIMAL = {"name": "minilm", "model": {"source": "sentence-transformers/all-MiniLM-L6-v2"}}


def spec_with(**fields: Any) -> dict[str, Any]:
    return MINIMAL | fields


def test_defaults_follow_the_design() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.model.revision == "main"
    assert (spec.task, spec.runtime, spec.device, spec.dtype) == (
        Task.AUTO,
        RuntimeName.AUTO,
        "auto",
        DType.AUTO,
    )
    assert spec.replicas == 1
    assert (spec.batching.max_batch_size, spec.batching.max_latency_ms) == (32, 5)
    assert spec.limits.max_request_bytes == 1_048_576
    assert spec.limits.max_queue == 1024
    assert spec.port is None
    assert spec.trust_remote_code is False
    assert spec.allow_pickle is False
    assert spec.env == {}


def test_the_full_design_example_loads(tmp_path: Path) -> None:
    text = """
name: minilm
model:
  source: sentence-transformers/all-MiniLM-L6-v2
  revision: main
task: feature-extraction
runtime: sentence-transformers
device: cuda:1
dtype: float16
replicas: 2
batching: {max_batch_size: 64, max_latency_ms: 10}
limits: {max_model_size_gb: 2, max_memory_gb: 4, request_timeout_s: 10, max_request_bytes: 2048, max_queue: 8}
port: 8123
trust_remote_code: false
allow_pickle: false
env: {OMP_NUM_THREADS: "2"}
"""
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec.device == "cuda:1"
    assert spec.dtype is DType.FLOAT16
    assert spec.batching.max_batch_size == 64
    assert spec.env == {"OMP_NUM_THREADS": "2"}


def test_json_files_load_too(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec_with(replicas=3)))
    assert load_spec(path).replicas == 3


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (spec_with(name="MiniLM"), "spec.name: 'MiniLM' is not a valid name"),
        (spec_with(name="-lead"), "DNS-1123"),
        (spec_with(name="a" * 64), "DNS-1123"),
        (spec_with(name="has_underscore"), "DNS-1123"),
        ({"model": {"source": "x"}}, "spec.name: Field required"),
        ({"name": "x"}, "spec.model: Field required"),
        (spec_with(model={"source": "  "}), "spec.model.source"),
        (
            spec_with(model={"source": "x", "revison": "v1"}),
            "spec.model.revison: unknown field (did you mean 'revision'?)",
        ),
        (spec_with(batchng={}), "spec.batchng: unknown field (did you mean 'batching'?)"),
        (
            spec_with(limits={"max_queu": 3}),
            "spec.limits.max_queu: unknown field (did you mean 'max_queue'?)",
        ),
        (spec_with(task="translate"), "spec.task"),
        (spec_with(runtime="tensorrt"), "spec.runtime"),
        (spec_with(device="gpu"), "spec.device: 'gpu' is not a device"),
        (spec_with(device="cuda:x"), "spec.device"),
        (spec_with(dtype="int8"), "spec.dtype"),
        (spec_with(replicas=0), "spec.replicas"),
        (spec_with(batching={"max_batch_size": 0}), "spec.batching.max_batch_size"),
        (spec_with(batching={"max_latency_ms": -1}), "spec.batching.max_latency_ms"),
        (spec_with(limits={"max_model_size_gb": 0}), "spec.limits.max_model_size_gb"),
        (spec_with(limits={"max_memory_gb": -2}), "spec.limits.max_memory_gb"),
        (spec_with(limits={"request_timeout_s": 0}), "spec.limits.request_timeout_s"),
        (spec_with(limits={"max_request_bytes": 10}), "spec.limits.max_request_bytes"),
        (spec_with(limits={"max_queue": 0}), "spec.limits.max_queue"),
        (spec_with(port=70000), "spec.port"),
        (spec_with(trust_remote_code="maybe"), "spec.trust_remote_code"),
        (spec_with(allow_pickle="sometimes"), "spec.allow_pickle"),
        (spec_with(env={"A": ["list"]}), "spec.env.A"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_each_invalid_field_is_named(data: Any, fragment: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(data)
    assert fragment in caught.value.message
    assert caught.value.status_code == 422


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(spec_with(replicas=0, device="tpu"))
    assert "spec.replicas" in caught.value.message
    assert "spec.device" in caught.value.message


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.yaml", "name: [unclosed", "not valid YAML at line"),
        ("bad.json", '{"name": ', "not valid JSON"),
        ("list.yaml", "- a\n- b\n", "must be a mapping"),
    ],
)
def test_unreadable_files_are_clear(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidSpec, match=fragment):
        load_spec(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")


def test_specs_are_immutable() -> None:
    spec = parse_spec(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        spec.replicas = 3  # type: ignore[misc]
    assert isinstance(spec, DeploymentSpec)


def test_requirements_default_to_none_and_are_normalised() -> None:
    assert parse_spec(MINIMAL).requirements == []
    spec = parse_spec(spec_with(requirements=["chronos-forecasting >= 2.3", "numpy<3; python_version>'3'"]))
    assert spec.requirements == ["chronos-forecasting>=2.3", 'numpy<3; python_version > "3"']


@pytest.mark.parametrize(
    ("requirement", "fragment"),
    [
        ("chronos forecasting", "'chronos forecasting' is not a valid pip requirement"),
        ("numpy>=>1", "'numpy>=>1' is not a valid pip requirement"),
        ("-e ./chronos", "'-e ./chronos' is not a requirement"),
        ("--index-url=https://example.com", "no pip options"),
        ("", "'' is not a requirement"),
        ("pkg @ https://example.com/pkg-1.0.whl", "names a URL"),
    ],
)
def test_a_bad_requirement_is_named(requirement: str, fragment: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(spec_with(requirements=["numpy>=1", requirement]))
    assert "spec.requirements" in caught.value.message
    assert fragment in caught.value.message
