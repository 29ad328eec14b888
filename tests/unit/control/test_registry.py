"""The registry on a real SQLite file: schema, round trips, cascades, events and metadata.json."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from berth.api.types import DeploymentState, DesiredState, SignaturePublic, TensorPublic
from berth.control.db import Base
from berth.control.registry import MIGRATIONS, Registry
from berth.errors import Conflict, NotFound
from berth.events import Event, Stage
from tests.unit.control.conftest import make_spec


def rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    """Query the database file directly, beside the registry's own connections."""
    with closing(sqlite3.connect(home / "berth.db")) as connection:
        return connection.execute(sql).fetchall()


def event(name: str, stage: Stage = Stage.INITIALIZING, message: str = "m") -> Event:
    return Event.at(name, stage, message)


# schema


def test_migrate_is_idempotent_and_stamps_head(registry: Registry, home: Path) -> None:
    registry.create(make_spec("keep"))
    registry.migrate()
    registry.migrate()
    assert rows(home, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert registry.get("keep").name == "keep", "migrating again keeps the data"
    assert set(inspect(registry.engine).get_table_names()) == {
        "alembic_version",
        "deployments",
        "replicas",
        "events",
    }


def test_the_migration_creates_exactly_the_models_tables(registry: Registry) -> None:
    with registry.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_migrated_columns_match_the_models(registry: Registry) -> None:
    inspector = inspect(registry.engine)
    for table in Base.metadata.sorted_tables:
        migrated = {column["name"]: column for column in inspector.get_columns(table.name)}
        assert set(migrated) == set(table.columns.keys()), table.name
        for column in table.columns:
            assert migrated[column.name]["nullable"] == column.nullable, f"{table.name}.{column.name}"
        foreign = {
            (fk["constrained_columns"][0], fk["referred_table"])
            for fk in inspector.get_foreign_keys(table.name)
        }
        assert foreign == {(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys}, table.name
        for fk in inspector.get_foreign_keys(table.name):
            assert fk["options"].get("ondelete") == "CASCADE", table.name


def test_a_registry_from_before_signatures_upgrades_and_its_rows_have_none(home: Path) -> None:
    from alembic import command
    from alembic.config import Config

    registry = Registry(f"sqlite:///{home / 'berth.db'}", home)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with registry.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO deployments (name, spec, state, desired_state, usage, created_at, updated_at) "
            f"VALUES ('old', '{make_spec('old').model_dump_json()}', 'ready', 'running', NULL, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    registry.migrate()
    try:
        old = registry.get("old")
        assert (old.state, old.signature) == (DeploymentState.READY, None)
    finally:
        registry.close()


# deployments


def test_the_signature_is_stored_and_read_back(registry: Registry) -> None:
    assert registry.create(make_spec("rows")).signature is None
    signature = SignaturePublic(
        inputs=[TensorPublic(name="features", datatype="FP32", shape=[-1, 4])],
        outputs=[
            TensorPublic(
                name="mesh", datatype="BYTES", shape=[-1], content="file", media_type="model/gltf-binary"
            )
        ],
    )
    assert registry.update("rows", signature=signature).signature == signature
    assert registry.get("rows").signature == signature
    [(stored,)] = rows(registry.home, "SELECT signature FROM deployments")
    assert json.loads(str(stored)) == signature.model_dump(mode="json")


def test_create_then_get_and_list(registry: Registry) -> None:
    created = registry.create(make_spec("alpha", replicas=2))
    assert created.state is DeploymentState.DEPLOYING
    assert created.desired_state is DesiredState.RUNNING
    assert created.replicas == []
    assert created.endpoint is None
    assert created.restarts == 0
    registry.create(make_spec("beta"))

    assert registry.get("alpha") == created
    assert registry.spec("alpha") == make_spec("alpha", replicas=2)
    assert [d.name for d in registry.list()] == ["alpha", "beta"]
    assert registry.exists("alpha")
    assert not registry.exists("gamma")


def test_a_taken_name_is_a_conflict_that_says_how_to_replace(registry: Registry) -> None:
    registry.create(make_spec("echo"))
    with pytest.raises(Conflict) as caught:
        registry.create(make_spec("echo", replicas=3))
    assert "'echo'" in caught.value.message
    assert "already exists" in caught.value.message
    assert "--replace" in caught.value.message
    assert "replace=true" in caught.value.message
    assert registry.spec("echo").replicas == 1, "the first deployment is untouched"


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.get("ghost"),
        lambda r: r.spec("ghost"),
        lambda r: r.update("ghost", state=DeploymentState.READY),
        lambda r: r.delete("ghost"),
        lambda r: r.set_replica("ghost", 0, pid=1),
        lambda r: r.events("ghost"),
    ],
    ids=["get", "spec", "update", "delete", "set_replica", "events"],
)
def test_a_missing_name_is_not_found(registry: Registry, call: object) -> None:
    with pytest.raises(NotFound, match="no deployment named 'ghost'"):
        call(registry)  # type: ignore[operator]


def test_update_sets_fields_and_bumps_updated_at(registry: Registry) -> None:
    created = registry.create(make_spec("echo"))
    time.sleep(0.002)
    updated = registry.update(
        "echo",
        state=DeploymentState.FAILED,
        last_error="it broke",
        last_error_code="model_not_found",
        spec=make_spec("echo", replicas=2),
    )
    assert updated.state is DeploymentState.FAILED
    assert (updated.last_error, updated.last_error_code) == ("it broke", "model_not_found")
    assert registry.spec("echo").replicas == 2
    assert updated.created_at == created.created_at
    assert updated.updated_at > created.updated_at


def test_datetimes_come_back_aware_utc(registry: Registry) -> None:
    before = datetime.now(UTC)
    registry.create(make_spec("echo"))
    registry.set_replica("echo", 0, started_at=datetime.now(timezone(timedelta(hours=2))))
    deployment = registry.get("echo")
    for moment in (deployment.created_at, deployment.updated_at, deployment.replicas[0].started_at):
        assert moment is not None
        assert moment.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC) + timedelta(seconds=1)


# replicas


def test_set_replica_creates_then_updates(registry: Registry) -> None:
    registry.create(make_spec("echo", replicas=2))
    registry.set_replica("echo", 1, pid=222, port=8101, process_started=12.5)
    first = registry.set_replica("echo", 0, pid=111, port=8100, process_started=11.5)
    assert [(r.index, r.pid, r.port, r.state) for r in first.replicas] == [
        (0, 111, 8100, DeploymentState.DEPLOYING),
        (1, 222, 8101, DeploymentState.DEPLOYING),
    ]
    assert first.endpoint is not None
    assert first.endpoint.endswith(":8100")

    again = registry.set_replica("echo", 0, state=DeploymentState.READY, restarts=2)
    assert again.replicas[0].pid == 111, "fields not named are kept"
    assert again.replicas[0].state is DeploymentState.READY
    assert again.restarts == 2
    assert registry.process_started("echo", 0) == 11.5
    assert registry.process_started("echo", 5) is None


def test_drop_replicas_keeps_the_lower_indexes(registry: Registry) -> None:
    registry.create(make_spec("echo", replicas=3))
    for index in range(3):
        registry.set_replica("echo", index, port=8100 + index)
    registry.drop_replicas("echo", keep=1)
    assert [r.index for r in registry.get("echo").replicas] == [0]
    registry.drop_replicas("echo")
    deployment = registry.get("echo")
    assert deployment.replicas == []
    assert deployment.endpoint is None


def test_replicas_and_events_go_with_their_deployment(registry: Registry, home: Path) -> None:
    registry.create(make_spec("gone"))
    registry.create(make_spec("kept"))
    for name in ("gone", "kept"):
        registry.set_replica(name, 0, pid=1)
        registry.add_event(event(name))
    assert (home / "deployments" / "gone" / "metadata.json").exists()

    registry.delete("gone")
    assert rows(home, "PRAGMA foreign_keys") == [(0,)], (
        "a plain connection: the check below is the registry's"
    )
    assert rows(home, "SELECT deployment FROM replicas") == [("kept",)]
    assert rows(home, "SELECT deployment FROM events") == [("kept",)]
    assert not (home / "deployments" / "gone").exists()
    with registry.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# events


def test_events_are_ordered_and_read_after_an_id(registry: Registry) -> None:
    registry.create(make_spec("echo"))
    registry.create(make_spec("other"))
    stages = [Stage.INITIALIZING, Stage.VALIDATING, Stage.DOWNLOADING, Stage.COMPLETED]
    stored = []
    for stage in stages:
        stored.append(registry.add_event(event("echo", stage, stage.value)))
        registry.add_event(event("other", stage))
    ids = [record.id for record in stored]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4

    history = registry.events("echo")
    assert [e.stage for e in history] == stages
    assert [e.id for e in history] == ids
    assert history == stored, "every field comes back as it was stored"
    assert [e.stage for e in registry.events("echo", after=ids[1])] == stages[2:]
    assert registry.events("echo", after=ids[-1]) == []


def test_events_keep_byte_progress(registry: Registry) -> None:
    registry.create(make_spec("echo"))
    big = 5 * 1024**3  # beyond 32 bits
    registry.add_event(Event.download("echo", big // 2, big, "half"))
    (stored,) = registry.events("echo")
    assert (stored.bytes_done, stored.bytes_total, stored.progress) == (big // 2, big, 35.0)


def test_clear_events_forgets_one_deployments_history(registry: Registry) -> None:
    registry.create(make_spec("echo"))
    registry.create(make_spec("other"))
    last = registry.add_event(event("echo"))
    registry.add_event(event("other"))
    registry.clear_events("echo")
    assert registry.events("echo") == []
    assert len(registry.events("other")) == 1
    assert registry.add_event(event("echo")).id > last.id, "ids never go back"


def test_event_ids_never_go_back_even_when_every_event_is_cleared(registry: Registry) -> None:
    registry.create(make_spec("echo"))
    last = registry.add_event(event("echo"))
    registry.clear_events("echo")  # the table is empty now: plain SQLite rowids would restart at 1
    assert registry.add_event(event("echo")).id > last.id


# metadata.json


def test_metadata_mirrors_the_public_record_without_secrets(registry: Registry, home: Path) -> None:
    spec = make_spec("secret", env={"HF_TOKEN": "hf_abc", "MY_API_KEY": "k-123", "LOG_LEVEL": "debug"})
    registry.create(spec)
    registry.set_replica("secret", 0, pid=42, port=8100)
    public = registry.update("secret", usage={"curl": "curl ..."})

    path = home / "deployments" / "secret" / "metadata.json"
    text = path.read_text()
    assert json.loads(text) == public.model_dump(mode="json")
    assert json.loads(text)["spec"]["env"] == {"HF_TOKEN": "***", "MY_API_KEY": "***", "LOG_LEVEL": "debug"}
    assert "hf_abc" not in text
    assert "k-123" not in text
    assert not (path.parent / "metadata.json.tmp").exists()
    assert registry.spec("secret").env["HF_TOKEN"] == "hf_abc", "the registry keeps what it must launch with"


def test_metadata_follows_every_change(registry: Registry, home: Path) -> None:
    path = home / "deployments" / "echo" / "metadata.json"
    registry.create(make_spec("echo"))
    assert json.loads(path.read_text())["state"] == "deploying"
    registry.set_replica("echo", 0, port=8100)
    assert json.loads(path.read_text())["replicas"][0]["port"] == 8100
    registry.drop_replicas("echo")
    assert json.loads(path.read_text())["replicas"] == []
    registry.update("echo", state=DeploymentState.STOPPED, desired_state=DesiredState.STOPPED)
    assert json.loads(path.read_text())["desired_state"] == "stopped"


def test_a_second_registry_on_the_same_file_sees_the_data(registry: Registry, home: Path) -> None:
    registry.create(make_spec("echo"))
    other = Registry(f"sqlite:///{home / 'berth.db'}", home)
    try:
        other.migrate()
        assert [d.name for d in other.list()] == ["echo"]
    finally:
        other.close()
