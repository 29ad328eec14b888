"""The registry: deployments, replicas and events in one SQL database (SQLite by default).

It is the source of truth for what should run: the supervisor writes what it observes here, the API
reads from here, and a restarted control plane rebuilds its picture from here. Each deployment's
public record is mirrored to `BERTH_HOME/deployments/<name>/metadata.json` for people and scripts.
"""

from __future__ import annotations

import builtins
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import create_engine, delete, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from berth.api.types import (
    DeploymentPublic,
    DeploymentState,
    DesiredState,
    EventRecord,
    ReplicaPublic,
    SignaturePublic,
)
from berth.control.db import DeploymentRow, EventRow, ReplicaRow, utcnow
from berth.errors import Conflict, NotFound
from berth.events import Event
from berth.net import connect_host
from berth.spec import DeploymentSpec, redacted

MIGRATIONS = Path(__file__).parent / "migrations"


class Registry:
    """What berth knows about every deployment, kept in `url` (an SQLAlchemy URL)."""

    def __init__(self, url: str, home: Path, host: str = "127.0.0.1") -> None:
        self.home = home
        self.host = connect_host(host)  # where clients reach workers
        self.engine = _engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; run at every start)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._session.begin() as session:
            yield session

    # deployments

    def create(self, spec: DeploymentSpec) -> DeploymentPublic:
        """Register a new deployment in state `deploying`; `Conflict` if the name is taken."""
        try:
            with self._tx() as session:
                session.add(
                    DeploymentRow(
                        name=spec.name,
                        spec=spec.model_dump(mode="json"),
                        state=DeploymentState.DEPLOYING,
                        desired_state=DesiredState.RUNNING,
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"a deployment named {spec.name!r} already exists; choose another name, "
                "or replace it (--replace, ?replace=true)"
            ) from None
        return self._publish(spec.name)

    def exists(self, name: str) -> bool:
        with self._tx() as session:
            return session.get(DeploymentRow, name) is not None

    def get(self, name: str) -> DeploymentPublic:
        with self._tx() as session:
            return _public(_row(session, name), _replicas(session, name), self.host)

    def spec(self, name: str) -> DeploymentSpec:
        with self._tx() as session:
            return DeploymentSpec.model_validate(_row(session, name).spec)

    def list(self) -> builtins.list[DeploymentPublic]:
        with self._tx() as session:
            rows = session.scalars(select(DeploymentRow).order_by(DeploymentRow.created_at)).all()
            replicas: dict[str, list[ReplicaRow]] = {}
            for replica in session.scalars(select(ReplicaRow).order_by(ReplicaRow.index)):
                replicas.setdefault(replica.deployment, []).append(replica)
            return [_public(row, replicas.get(row.name, []), self.host) for row in rows]

    def update(self, name: str, **fields: Any) -> DeploymentPublic:
        """Set deployment columns (state, usage, signature, spec, ...); a pydantic value is stored as JSON."""
        with self._tx() as session:
            row = _row(session, name)
            for key, value in fields.items():
                setattr(row, key, value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
            row.updated_at = utcnow()
        return self._publish(name)

    def delete(self, name: str) -> None:
        with self._tx() as session:
            session.delete(_row(session, name))
        shutil.rmtree(self.home / "deployments" / name, ignore_errors=True)

    # replicas

    def set_replica(self, name: str, index: int, **fields: Any) -> DeploymentPublic:
        """Create or update replica `index` (pid, process_started, port, state, restarts, started_at)."""
        with self._tx() as session:
            row = _row(session, name)
            replica = session.get(ReplicaRow, (name, index))
            if replica is None:
                replica = ReplicaRow(
                    deployment=name, index=index, state=DeploymentState.DEPLOYING, restarts=0
                )
                session.add(replica)
            for key, value in fields.items():
                setattr(replica, key, value)
            row.updated_at = utcnow()
        return self._publish(name)

    def process_started(self, name: str, index: int) -> float | None:
        with self._tx() as session:
            row = session.get(ReplicaRow, (name, index))
            return row.process_started if row is not None else None

    def drop_replicas(self, name: str, keep: int = 0) -> None:
        """Forget replicas with index ≥ `keep` (after scaling down or stopping)."""
        with self._tx() as session:
            session.execute(delete(ReplicaRow).where(ReplicaRow.deployment == name, ReplicaRow.index >= keep))
        self._publish(name)

    # events

    def add_event(self, event: Event) -> EventRecord:
        with self._tx() as session:
            row = EventRow(**event.model_dump(mode="json"))
            session.add(row)
            session.flush()
            return EventRecord(id=row.id, **event.model_dump())

    def events(self, name: str, after: int = 0) -> builtins.list[EventRecord]:
        with self._tx() as session:
            _row(session, name)
            rows = session.scalars(
                select(EventRow).where(EventRow.deployment == name, EventRow.id > after).order_by(EventRow.id)
            )
            return [_event(row) for row in rows]

    def clear_events(self, name: str) -> None:
        with self._tx() as session:
            session.execute(delete(EventRow).where(EventRow.deployment == name))

    def _publish(self, name: str) -> DeploymentPublic:
        deployment = self.get(name)
        folder = self.home / "deployments" / name
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / "metadata.json.tmp"
        temporary.write_text(json.dumps(deployment.model_dump(mode="json"), indent=2) + "\n")
        temporary.replace(folder / "metadata.json")  # readers never see half a file
        return deployment


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # replicas and events go with their deployment
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (the CLI) never block the supervisor
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _row(session: Session, name: str) -> DeploymentRow:
    row = session.get(DeploymentRow, name)
    if row is None:
        raise NotFound(f"no deployment named {name!r}; `berth ls` lists them")
    return row


def _replicas(session: Session, name: str) -> list[ReplicaRow]:
    return list(
        session.scalars(select(ReplicaRow).where(ReplicaRow.deployment == name).order_by(ReplicaRow.index))
    )


def _public(row: DeploymentRow, replicas: list[ReplicaRow], host: str) -> DeploymentPublic:
    spec = DeploymentSpec.model_validate(row.spec)
    first = next((r for r in replicas if r.port is not None), None)
    return DeploymentPublic(
        name=row.name,
        state=DeploymentState(row.state),
        desired_state=DesiredState(row.desired_state),
        spec=redacted(spec),
        endpoint=f"http://{host}:{first.port}" if first is not None else None,
        model_revision=row.model_revision,
        replicas=[
            ReplicaPublic(
                index=r.index,
                pid=r.pid,
                port=r.port,
                state=DeploymentState(r.state),
                restarts=r.restarts,
                started_at=r.started_at,
            )
            for r in replicas
        ],
        restarts=sum(r.restarts for r in replicas),
        last_error=row.last_error,
        last_error_code=row.last_error_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
        usage=row.usage,
        signature=SignaturePublic.model_validate(row.signature) if row.signature is not None else None,
    )


def _event(row: EventRow) -> EventRecord:
    return EventRecord(
        id=row.id,
        deployment=row.deployment,
        stage=row.stage,  # type: ignore[arg-type]
        progress=row.progress,
        message=row.message,
        ts=row.ts,
        bytes_done=row.bytes_done,
        bytes_total=row.bytes_total,
    )
