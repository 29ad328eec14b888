"""Two reference deployments (CPU embeddings, GPU generation) carrying secrets, and an empty HF cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.exporters import ExportOptions, HpaOptions
from berth.spec import DeploymentSpec, parse_spec

HF_TOKEN_VALUE = "hf_GoldenTokenValue1234567890abcdef"
API_KEY_VALUE = "sk-live-ExportMustNeverShowThis0987"
DB_PASSWORD_VALUE = "pg-Pa55word-NotInFiles"


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No model is cached, so hub models are sized from their limits on every machine (stable goldens)."""
    cache = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def cpu_spec() -> DeploymentSpec:
    return parse_spec(
        {
            "name": "minilm",
            "model": {"source": "sentence-transformers/all-MiniLM-L6-v2"},
            "task": "feature-extraction",
            "device": "cpu",
            "limits": {"max_model_size_gb": 1, "max_memory_gb": 2},
            "env": {"HF_TOKEN": HF_TOKEN_VALUE, "TOKENIZERS_PARALLELISM": "false"},
        }
    )


def gpu_spec() -> DeploymentSpec:
    return parse_spec(
        {
            "name": "chat",
            "model": {"source": "Qwen/Qwen2.5-1.5B-Instruct"},
            "task": "text-generation",
            "device": "cuda",
            "replicas": 2,
            "limits": {
                "max_model_size_gb": 4,
                "max_memory_gb": 4,
                "request_timeout_s": 120,
                "max_request_bytes": 4 * 1024 * 1024,
            },
            "env": {"OPENAI_API_KEY": API_KEY_VALUE, "BERTH_API_KEY": API_KEY_VALUE},
        }
    )


SPECS = {"cpu": cpu_spec, "gpu": gpu_spec}


def golden_options(kind: str) -> ExportOptions:
    """The CPU bundle takes the defaults; the GPU one exercises host, TLS, HPA and postgres."""
    if kind == "cpu":
        return ExportOptions()
    return ExportOptions(
        host="models.example.com",
        tls=True,
        hpa=HpaOptions(min_replicas=2, max_replicas=6),
        database_url=f"postgresql+psycopg://berth:{DB_PASSWORD_VALUE}@postgres:5432/berth",
        ml_packages="volume",
    )


@pytest.fixture
def cpu() -> DeploymentSpec:
    return cpu_spec()


@pytest.fixture
def gpu() -> DeploymentSpec:
    return gpu_spec()
