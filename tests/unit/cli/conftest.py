"""CLI and client tests without a control plane: a closed loopback URL and an isolated BERTH_HOME."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from berth.settings import get_settings


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens: the port was free a moment ago and is closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, closed_url: str) -> Iterator[Path]:
    """Every test runs in its own folder and BERTH_HOME, pointed at a control plane that is not there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BERTH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BERTH_URL", closed_url)
    monkeypatch.delenv("BERTH_API_KEY", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
