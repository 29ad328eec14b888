from __future__ import annotations

from pathlib import Path

import pytest

from berth.errors import InvalidSpec
from berth.settings import Settings, get_settings, parse_port_range


def test_defaults_bind_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.worker_port_range == range(8100, 8201)
    assert settings.api_key is None
    assert settings.sqlalchemy_url.startswith("sqlite:///")


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BERTH_PORT=9000\nBERTH_API_KEY=from-dotenv\n")
    monkeypatch.setenv("BERTH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BERTH_CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("BERTH_LOG_LEVEL", "debug")
    settings = Settings()
    assert settings.port == 9000
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "from-dotenv"
    assert "from-dotenv" not in repr(settings)  # secrets never reach logs
    assert settings.home == tmp_path / "home"
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("BERTH_PORT", "eighty", "BERTH_PORT"),
        ("BERTH_WORKER_PORTS", "9000-8000", "BERTH_WORKER_PORTS"),
        ("BERTH_LOG_FORMAT", "xml", "BERTH_LOG_FORMAT"),
        ("BERTH_HEALTH_FAILURE_THRESHOLD", "0", "BERTH_HEALTH_FAILURE_THRESHOLD"),
    ],
)
def test_bad_values_are_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidSpec, match=fragment):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_port_ranges() -> None:
    assert parse_port_range("8100") == range(8100, 8101)
    with pytest.raises(ValueError, match="not a port range"):
        parse_port_range("a-b")
