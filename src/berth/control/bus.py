"""Live fan-out of progress events and state changes to WebSocket subscribers.

Events are stored in the registry first (which gives them their ids), then pushed to every
subscriber of that deployment. A subscriber whose queue is full is dropped rather than allowed to
slow the deployer: it reconnects and reads the history again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from berth.api.types import DeploymentState, EventMessage, StateMessage
from berth.control.registry import Registry
from berth.events import Event

Message = EventMessage | StateMessage
QUEUE_SIZE = 1024


class Bus:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._subscribers: dict[str, set[asyncio.Queue[Message | None]]] = {}

    def event(self, event: Event) -> EventMessage:
        """Store `event` and push it live."""
        message = EventMessage(**self._registry.add_event(event).model_dump())
        self._push(event.deployment, message)
        return message

    def state(
        self, name: str, state: DeploymentState, last_error: str | None = None, code: str | None = None
    ) -> None:
        message = StateMessage(deployment=name, state=state, last_error=last_error, code=code, ts=time.time())
        self._push(name, message)

    def close(self, name: str) -> None:
        """End every subscription of `name` (the deployment was removed)."""
        for queue in self._subscribers.pop(name, set()):
            _offer(queue, None, force=True)

    @contextmanager
    def subscribe(self, name: str) -> Iterator[asyncio.Queue[Message | None]]:
        """A queue of messages for `name`; `None` means the stream has ended."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(name, set()).add(queue)
        try:
            yield queue
        finally:
            self._subscribers.get(name, set()).discard(queue)

    def _push(self, name: str, message: Message) -> None:
        for queue in list(self._subscribers.get(name, ())):
            if not _offer(queue, message):
                self._subscribers[name].discard(queue)
                _offer(queue, None, force=True)


def _offer(queue: asyncio.Queue[Message | None], message: Message | None, force: bool = False) -> bool:
    try:
        queue.put_nowait(message)
        return True
    except asyncio.QueueFull:
        if force:
            queue.get_nowait()
            queue.put_nowait(message)
        return False
