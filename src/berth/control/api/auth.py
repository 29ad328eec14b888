"""API-key auth as plain ASGI middleware, so HTTP routes, WebSockets and the docs share one gate.

With `BERTH_API_KEY` set, the API, the model gateway (`/models/`), the docs and the metrics need the
key as `Authorization: Bearer`, `X-API-Key`, or (WebSockets only, since browsers cannot set their
headers) a `bearer.<key>` subprotocol. Keys are compared in constant time; a key is never put in a
URL, where logs would keep it. The health probes and the web UI's static files stay open: they hold
no data, and the UI must load to ask for the key.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from berth.errors import Unauthorized

PROTECTED_PREFIXES = ("/api/", "/models/", "/metrics", "/docs", "/openapi.json", "/redoc")
SUBPROTOCOL_PREFIX = "bearer."


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(PROTECTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if any(hmac.compare_digest(candidate, self._key) for candidate in _candidates(scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401, "reason": "a valid API key is required"})
            return
        error = Unauthorized(
            "a valid API key is required: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
        )
        from berth.control.api.errors import error_response

        response = error_response(error)
        response.headers["WWW-Authenticate"] = "Bearer"
        await response(scope, receive, send)


def _candidates(scope: Scope) -> list[bytes]:
    found = []
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            found.append(value[7:].strip())
        elif name == b"x-api-key":
            found.append(value.strip())
    for subprotocol in scope.get("subprotocols") or []:
        if subprotocol.startswith(SUBPROTOCOL_PREFIX):
            found.append(subprotocol[len(SUBPROTOCOL_PREFIX) :].encode())
    return found or [b""]  # compare against something so a missing key costs the same time
