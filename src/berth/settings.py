"""berth's settings: environment variables and `.env`, prefix `BERTH_`, validated once at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from berth.errors import InvalidSpec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BERTH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    home: Path = Path("~/.berth")
    database_url: str | None = None
    worker_ports: str = "8100-8200"
    api_key: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_model_size_gb: Annotated[float, Field(gt=0)] = 20
    max_memory_per_model_gb: Annotated[float, Field(gt=0)] = 16
    download_timeout_s: Annotated[float, Field(gt=0)] = 3600
    health_interval_s: Annotated[float, Field(gt=0)] = 10
    health_failure_threshold: Annotated[int, Field(ge=1)] = 3
    # fork workers from a template process that has imported torch (a cached deploy in ~1 s, not ~7 s)
    preload_workers: bool = True
    alert_webhook_url: str | None = None
    # the constraints file `--install-requirements` installs through (default: a checkout's constraints.txt)
    constraints: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("worker_ports")
    @classmethod
    def _port_range(cls, value: str) -> str:
        parse_port_range(value)
        return value

    @property
    def worker_port_range(self) -> range:
        return parse_port_range(self.worker_ports)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'berth.db'}"


def parse_port_range(text: str) -> range:
    """`8100-8200` → range(8100, 8201); a single port is a range of one."""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"{text!r} is not a port range like 8100-8200") from None
    if not 1 <= first <= last <= 65535:
        raise ValueError(f"{text!r} is not a port range like 8100-8200 within 1-65535")
    return range(first, last + 1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad value is one clear `InvalidSpec`."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BERTH_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        )
        raise InvalidSpec(f"invalid setting: {problems}") from None


def hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
