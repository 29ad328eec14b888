"""`/models/{name}/{path}`: every route of a deployment's workers, through the control plane.

One address per deployment that an OpenAI or Ollama client can be pointed at
(`base_url=http://HOST:8000/models/NAME/v1`, `OLLAMA_HOST=http://HOST:8000/models/NAME`): any method,
path and query string go to the next ready replica, round-robin, over the inference proxy's pooled
client and its `forward` (the same replica skipping, timeouts and streaming). Request headers go on
and response headers come back, less the hop-by-hop ones (RFC 9110 §7.6.1, and any that `Connection`
names); the client's own key is replaced by the control plane's, which the workers share. A streamed
answer (SSE, NDJSON) has no `Content-Length`, so it is relayed chunk by chunk as the worker writes it;
a client that goes away closes the replica's connection, which cancels the generation there.

NOTE: the body is read whole under the deployment's `limits.max_request_bytes` (the worker's reader,
the same 413) rather than streamed on: a generation request is a few KiB, and a body in hand is what
lets a replica that refuses the connection be skipped for the next one.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from berth.asgi import read_body
from berth.control.api.deps import Name, Plane, check_name
from berth.control.api.inference import forward
from berth.control.plane import ControlPlane

router = APIRouter(tags=["gateway"])
PREFIX = "/models"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection"}
    | {"te", "trailer", "transfer-encoding", "upgrade"}
)
# NOTE: the control plane's key replaces the client's; `Content-Length` is recomputed by aiohttp;
# `Accept-Encoding` is dropped so a worker answers uncompressed, since aiohttp would decompress it.
NOT_FORWARDED = HOP_BY_HOP | (
    {"host", "content-length", "expect"} | {"authorization", "x-api-key", "accept-encoding"}
)
# the frame of the answer is this server's own: its length, media type, date and name
NOT_RETURNED = HOP_BY_HOP | {"content-length", "content-type", "date", "server"}


@router.get(PREFIX + "/{name}/{path:path}", operation_id="gateway_get")
async def gateway_get(plane: Plane, name: Name, path: str, request: Request) -> Response:
    """Any GET route of the deployment's workers (`/v1/models`, `/api/tags`, `/metrics`), proxied."""
    return await gateway(request)


@router.post(PREFIX + "/{name}/{path:path}", operation_id="gateway_post")
async def gateway_post(plane: Plane, name: Name, path: str, request: Request) -> Response:
    """Any POST route of the deployment's workers (`/v1/chat/completions`, `/api/chat`), streamed back."""
    return await gateway(request)


async def gateway(request: Request) -> Response:
    """The gateway's work for every method, mounted as a plain Starlette route ahead of FastAPI's."""
    plane: ControlPlane = request.app.state.plane
    name = check_name(request.path_params["name"])
    spec = plane.supervisor.spec(name)  # NotFound (404) for an unknown name
    body = await read_body(request, spec.limits.max_request_bytes)
    named = {token.strip().lower() for token in request.headers.get("connection", "").split(",")}
    headers = {
        key: value for key, value in request.headers.items() if key not in NOT_FORWARDED and key not in named
    }
    if plane.settings.api_key is not None:
        headers["authorization"] = f"Bearer {plane.settings.api_key.get_secret_value()}"
    path = _worker_path(request, name)
    query = request.scope["query_string"]
    target = f"{path}?{query.decode('latin-1')}" if query else path
    return await forward(request, spec, request.method, target, body, headers, _returned)


def _returned(key: str) -> bool:
    return key not in NOT_RETURNED


def _worker_path(request: Request, name: str) -> str:
    """The path after `/models/NAME`, as the client encoded it (`/` for none)."""
    raw = request.scope.get("raw_path")
    prefix = f"{PREFIX}/{name}".encode()
    if isinstance(raw, bytes) and raw.startswith(prefix):
        rest = raw[len(prefix) :].decode("latin-1")
    else:
        rest = "/" + quote(request.path_params.get("path", ""))
    return rest if rest.startswith("/") else "/" + rest
