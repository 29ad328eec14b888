"""Control-plane fixtures: an isolated BERTH_HOME and a migrated registry on a real SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.control.registry import Registry
from berth.settings import get_settings
from berth.spec import DeploymentSpec


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No `.env`, BERTH_* variable or real HF cache of the machine leaks into a test."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("BERTH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def registry(home: Path) -> Iterator[Registry]:
    """A migrated registry in `home/berth.db`, closed after the test."""
    registry = Registry(f"sqlite:///{home / 'berth.db'}", home)
    registry.migrate()
    yield registry
    registry.close()


def make_spec(name: str = "echo", **fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": name, "model": {"source": "tests.predictors:SlowEcho"}, **fields}
    )
