"""The bus: events are stored first, then fanned out to that deployment's subscribers only."""

from __future__ import annotations

import asyncio

import pytest

from berth.api.types import DeploymentState, EventMessage, StateMessage
from berth.control import bus as bus_module
from berth.control.bus import Bus, Message
from berth.control.registry import Registry
from berth.events import Event, Stage
from tests.unit.control.conftest import make_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def bus(registry: Registry) -> Bus:
    registry.create(make_spec("echo"))
    registry.create(make_spec("other"))
    return Bus(registry)


def drain(queue: asyncio.Queue[Message | None]) -> list[Message | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def test_events_are_stored_with_ids_and_pushed_to_that_deployment_only(
    bus: Bus, registry: Registry
) -> None:
    with bus.subscribe("echo") as echo, bus.subscribe("echo") as echo_too, bus.subscribe("other") as other:
        first = bus.event(Event.at("echo", Stage.INITIALIZING, "accepted"))
        second = bus.event(Event.at("echo", Stage.VALIDATING, "checking"))
        bus.state("echo", DeploymentState.FAILED, last_error="boom", code="model_not_found")

        assert isinstance(first, EventMessage)
        assert first.type == "event"
        assert second.id > first.id
        assert [(e.id, e.message) for e in registry.events("echo")] == [
            (first.id, "accepted"),
            (second.id, "checking"),
        ]
        for queue in (echo, echo_too):
            got = drain(queue)
            assert got[:2] == [first, second]
            assert isinstance(got[2], StateMessage)
            assert (got[2].state, got[2].last_error, got[2].code) == (
                DeploymentState.FAILED,
                "boom",
                "model_not_found",
            )
            assert len(got) == 3
        assert drain(other) == []


async def test_events_are_stored_without_any_subscriber(bus: Bus, registry: Registry) -> None:
    message = bus.event(Event.at("echo", Stage.INITIALIZING, "nobody listens"))
    assert registry.events("echo")[0].id == message.id


async def test_a_full_subscriber_is_dropped_with_an_end_marker(
    bus: Bus, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_module, "QUEUE_SIZE", 2)
    with bus.subscribe("echo") as slow, bus.subscribe("echo") as fast:
        sent = []
        for index in range(4):
            sent.append(bus.event(Event.at("echo", Stage.DOWNLOADING, f"chunk {index}")))
            assert drain(fast) == [sent[-1]], "a subscriber that keeps up gets every message"
        assert slow.full()
        assert drain(slow) == [sent[1], None], "the oldest message made room for the end marker"
        done = bus.event(Event.at("echo", Stage.COMPLETED, "done"))
        assert drain(slow) == [], "a dropped subscriber hears nothing more"
        assert drain(fast) == [done]
    assert len(registry.events("echo")) == 5, "every event is stored even when a subscriber lags"


async def test_close_ends_every_subscription_of_that_name(bus: Bus) -> None:
    with bus.subscribe("echo") as echo, bus.subscribe("other") as other:
        bus.close("echo")
        assert await asyncio.wait_for(echo.get(), 1) is None
        bus.event(Event.at("echo", Stage.INITIALIZING, "a new deployment of that name"))
        assert echo.empty(), "closed subscriptions receive nothing more"
        bus.event(Event.at("other", Stage.INITIALIZING, "still live"))
        assert not other.empty()
    bus.close("never-subscribed")


async def test_close_ends_even_a_full_subscription(bus: Bus, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus_module, "QUEUE_SIZE", 1)
    with bus.subscribe("echo") as echo:
        bus.event(Event.at("echo", Stage.INITIALIZING, "fills the queue"))
        bus.close("echo")
        assert None in drain(echo)


async def test_leaving_a_subscription_stops_its_messages(bus: Bus) -> None:
    with bus.subscribe("echo") as echo:
        pass
    bus.event(Event.at("echo", Stage.INITIALIZING, "after leaving"))
    assert echo.empty()
