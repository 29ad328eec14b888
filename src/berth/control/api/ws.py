"""`WS /api/v1/ws/{name}`: a deploy's stored events, then the current state, then everything live."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from berth.api.types import EventMessage, StateMessage
from berth.control.plane import ControlPlane
from berth.errors import NotFound
from berth.spec import NAME_PATTERN

router = APIRouter(tags=["progress"])
CLOSE_NOT_FOUND = 4404


@router.websocket("/ws/{name}")
async def progress(websocket: WebSocket, name: str) -> None:
    plane: ControlPlane = websocket.app.state.plane
    # a browser cannot send headers on a WebSocket, so the API key may come as a subprotocol
    offered = websocket.scope.get("subprotocols") or []
    subprotocol = "berth" if "berth" in offered else None
    await websocket.accept(subprotocol=subprotocol)  # accept first, so the 4404 below reaches the client
    if not NAME_PATTERN.match(name) or not plane.registry.exists(name):
        await websocket.close(code=CLOSE_NOT_FOUND, reason=f"no deployment named {name!r}")
        return
    with plane.bus.subscribe(name) as queue:  # subscribe before reading history: nothing falls between
        try:
            history = plane.registry.events(name)
            deployment = plane.registry.get(name)
        except NotFound:
            await websocket.close(code=CLOSE_NOT_FOUND)
            return
        last_id = 0
        for record in history:
            await websocket.send_text(EventMessage(**record.model_dump()).model_dump_json())
            last_id = record.id
        current = StateMessage(
            deployment=name,
            state=deployment.state,
            last_error=deployment.last_error,
            code=deployment.last_error_code,
            ts=time.time(),
        )
        await websocket.send_text(current.model_dump_json())
        # the client sends nothing; reading anyway is how its going away is noticed between messages
        listener = asyncio.create_task(_until_disconnect(websocket))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, listener}, return_when=asyncio.FIRST_COMPLETED)
                if listener.done():
                    getter.cancel()
                    return
                message = getter.result()
                if message is None:
                    await websocket.close()
                    return
                if isinstance(message, EventMessage) and message.id <= last_id:
                    continue
                await websocket.send_text(message.model_dump_json())
        except WebSocketDisconnect:
            return
        finally:
            listener.cancel()


async def _until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
