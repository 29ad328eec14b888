"""Tables of the registry. Alembic migrations in `migrations/` create them; keep the two in step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite, which stores no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class DeploymentRow(Base):
    __tablename__ = "deployments"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    desired_state: Mapped[str] = mapped_column(String(16))
    model_revision: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    usage: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    # the worker's signature (berth.api.types.SignaturePublic as JSON), recorded once ready
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReplicaRow(Base):
    __tablename__ = "replicas"

    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey("deployments.name", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
    # psutil's create_time of `pid`: tells our worker from an unrelated process that reused the pid
    process_started: Mapped[float | None] = mapped_column(Float, default=None)
    port: Mapped[int | None] = mapped_column(Integer, default=None)
    state: Mapped[str] = mapped_column(String(16))
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class EventRow(Base):
    __tablename__ = "events"
    # ids order a deployment's history for live subscribers: never reuse one, even after a purge
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey("deployments.name", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float | None] = mapped_column(Float, default=None)
    message: Mapped[str] = mapped_column(Text)
    ts: Mapped[float] = mapped_column(Float)
    bytes_done: Mapped[int | None] = mapped_column(BigInteger, default=None)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger, default=None)
