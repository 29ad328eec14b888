"""What an export may be asked for beyond the specs themselves: image, host, TLS, autoscaling, database."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Target = Literal["compose", "kubernetes", "kserve"]
TARGETS: tuple[Target, ...] = ("compose", "kubernetes", "kserve")
DEFAULT_IMAGE = "ghcr.io/modelberth/berth:0.1.0"


class HpaOptions(BaseModel):
    """A HorizontalPodAutoscaler per deployment, scaling on CPU utilisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_replicas: Annotated[int, Field(ge=1, le=64)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=256)] = 4
    target_cpu_percent: Annotated[int, Field(ge=10, le=100)] = 70

    @model_validator(mode="after")
    def _ordered(self) -> HpaOptions:
        if self.max_replicas < self.min_replicas:
            raise ValueError("hpa.max_replicas must be at least hpa.min_replicas")
        return self


class ExportOptions(BaseModel):
    """How to export; every field has a production-sane default.

    >>> ExportOptions(host="models.example.com", tls=True).namespace
    'berth'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: str = DEFAULT_IMAGE
    namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")] = "berth"
    host: str | None = None  # Ingress host; None: any host
    tls: bool = False  # Ingress TLS through cert-manager
    cluster_issuer: str = "letsencrypt-prod"
    hpa: HpaOptions | None = None
    # NOTE: only the URL's shape is used (scheme, user, host, database name); its password never
    # reaches a generated file, which points at an env var or a Secret instead.
    database_url: str | None = None
    ml_packages: Literal["bake", "volume"] = "bake"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 80
    storage_class: str | None = None  # PVCs: None uses the cluster's default class
    start_period_s: Annotated[int, Field(ge=30, le=7200)] = 600  # long enough for a first download
    ui_package_dir: str = "ui"  # where the built web UI sits inside the installed `berth` package

    @field_validator("database_url")
    @classmethod
    def _postgres_or_sqlite(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("postgresql", "sqlite")):
            return value
        raise ValueError("database_url must be a postgresql+psycopg://… or sqlite:///… URL")

    @property
    def postgres(self) -> PostgresUrl | None:
        """The postgres choice, or None for the default SQLite registry."""
        if self.database_url is None or not self.database_url.startswith("postgresql"):
            return None
        parts = urlsplit(self.database_url)
        return PostgresUrl(
            scheme=parts.scheme,
            user=parts.username or "berth",
            host=parts.hostname or "postgres",
            port=parts.port or 5432,
            database=parts.path.lstrip("/") or "berth",
        )


class PostgresUrl(BaseModel):
    """A postgres URL without its password; `bundled` when it names the Compose `postgres` service."""

    scheme: str
    user: str
    host: str
    port: int
    database: str

    @property
    def bundled(self) -> bool:
        return self.host in {"postgres", "localhost", "127.0.0.1"}

    def url(self, password_ref: str, host: str | None = None) -> str:
        """The URL with `password_ref` (an env reference such as `${POSTGRES_PASSWORD}`) as password."""
        return f"{self.scheme}://{self.user}:{password_ref}@{host or self.host}:{self.port}/{self.database}"
