"""`POST /deployments/{name}/inference`: the worker's `/predict`, proxied round-robin over ready replicas.

The body is forwarded untouched (no parse, no re-encode) over one pooled keep-alive client, so the
proxy adds little beyond a loopback hop; so are `Content-Type` (a multipart boundary included),
`Accept` and the query string (`?format=raw`). A replica that refuses the connection (it just died) is
skipped for the next one; the supervisor will notice and restart it.

The answer comes back as the worker sent it: status, bytes, `Content-Type`, and `Content-Length`,
`Content-Disposition` and the `X-` timing headers where it sent them. An answer of up to
`STREAM_ABOVE` bytes (every JSON answer of a text model) is read whole and sent in one piece, as
cheap as before; a larger one, or one of unknown length (a mesh, an image), is streamed chunk by
chunk as it arrives, so the control plane never holds it whole (`relay`). `forward` does this for any
method and path; the gateway (`gateway.py`) uses it for every other route of a worker.

NOTE: aiohttp rather than httpx (used everywhere else) on the proxied paths: measured on these 2-core
machines, httpx's async client spends ~2 ms per request against aiohttp's ~0.15 ms, over the whole
budget for what the proxy may add (1.5 ms p50).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from fastapi import APIRouter, Request, Response
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from berth.asgi import read_body  # the worker's reader too: the same limit, the same 413
from berth.control.api.deps import Name, Plane, check_name
from berth.control.plane import ControlPlane
from berth.errors import NotReady, RequestTimeout
from berth.spec import DeploymentSpec

router = APIRouter(tags=["inference"])
log = logging.getLogger("berth.control")
FORWARDED_HEADERS = ("content-type", "accept")
RETURNED_HEADERS = ("content-disposition", "x-deployment-id", "x-inference-time-ms")
STREAM_ABOVE = 256 * 1024  # bytes: a larger answer, or one of unknown length, is streamed
CHUNK_BYTES = 64 * 1024


@router.post("/deployments/{name}/inference", operation_id="inference")
async def inference(plane: Plane, name: Name, request: Request) -> Response:
    """Run a prediction on the deployment (same body and answer as the worker's `/predict`)."""
    return await proxy(request)


async def proxy(request: Request) -> Response:
    """The inference route's work, mounted as a plain Starlette route ahead of FastAPI's.

    NOTE: FastAPI's request handling (dependency solving, response wrapping) measured ~0.4 ms per
    call here, a quarter of the proxy's budget; the FastAPI declaration above stays for /docs.
    """
    plane: ControlPlane = request.app.state.plane
    name = check_name(request.path_params["name"])
    spec = plane.supervisor.spec(name)
    body = await read_body(request, spec.limits.max_request_bytes)
    headers = {key: value for key in FORWARDED_HEADERS if (value := request.headers.get(key))}
    if plane.settings.api_key is not None:
        headers["authorization"] = f"Bearer {plane.settings.api_key.get_secret_value()}"
    query = request.scope["query_string"]  # e.g. format=raw, passed on as it came
    path = f"/predict?{query.decode('latin-1')}" if query else "/predict"
    return await forward(request, spec, "POST", path, body, headers, _returned)


HeaderFilter = Callable[[str], bool]


def _returned(key: str) -> bool:
    return key in RETURNED_HEADERS


async def forward(
    request: Request,
    spec: DeploymentSpec,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    keep: HeaderFilter,
) -> Response:
    """Send one request to the next ready replica of `spec` and relay its answer (headers `keep` allows).

    A replica that refuses the connection, or dies before its answer is read, is skipped for the next;
    with none ready this raises `NotReady`, past the deployment's timeout `RequestTimeout`.
    """
    plane: ControlPlane = request.app.state.plane
    name = spec.name
    client: aiohttp.ClientSession = request.app.state.proxy_client
    host = plane.supervisor.connect_host
    # NOTE: no total timeout: it would also cut a large answer that a slow client reads for longer.
    # `sock_read` bounds the wait for the answer (the worker sends nothing before it) and, once it
    # streams, every silence of the replica (not of a slow client: aiohttp stops that clock while
    # it holds back reading), so a replica that hangs mid-answer still ends the client's request.
    # `connect` bounds the wait for a free pooled connection under a burst.
    wait_s = spec.limits.request_timeout_s + 5
    timeout = aiohttp.ClientTimeout(total=None, connect=wait_s, sock_read=wait_s)
    for _ in range(max(1, len(plane.supervisor.ready_ports(name)))):
        port = plane.supervisor.next_port(name)
        if port is None:
            break
        try:
            upstream = await client.request(
                method, f"http://{host}:{port}{path}", data=body, headers=headers, timeout=timeout
            )
        except aiohttp.ClientConnectorError:
            continue
        except TimeoutError:
            raise RequestTimeout(
                f"{name!r} did not answer within {spec.limits.request_timeout_s:.0f} s; "
                "retry later or raise limits.request_timeout_s"
            ) from None
        except aiohttp.ClientError:  # the replica died mid-request
            continue
        length = upstream.content_length
        if length is None or length > STREAM_ABOVE:
            return relay(upstream, f"{name}:{port}", keep)
        try:
            content = await upstream.read()
        except aiohttp.ClientError:  # it died while sending the answer: the next replica may answer
            continue
        finally:
            upstream.release()
        response = Response(
            content,
            status_code=upstream.status,
            media_type=upstream.headers.get("content-type", "application/json"),
        )
        _copy_headers(upstream, response, keep)
        return response
    state = plane.registry.get(name).state
    raise NotReady(f"{name!r} has no ready replica (it is {state}); check `berth status {name}`")


def relay(upstream: aiohttp.ClientResponse, replica: str, keep: HeaderFilter) -> Response:
    """A large or unknown-length answer streamed through as it arrives, `Content-Length` kept."""
    response = UpstreamStream(upstream, replica)
    if upstream.content_length is not None:
        response.headers["content-length"] = str(upstream.content_length)
    _copy_headers(upstream, response, keep)
    return response


def _copy_headers(upstream: aiohttp.ClientResponse, response: Response, keep: HeaderFilter) -> None:
    for key, value in upstream.headers.items():
        if keep(key.lower()):
            response.headers.append(key, value)


class UpstreamStream(StreamingResponse):
    """The worker's answer, chunk by chunk; its connection is given back however the stream ends.

    NOTE: the release is in `__call__`, not in the chunk generator: a client that disconnects stops
    Starlette while the generator waits at a `yield`, where its `finally` would only run when it is
    garbage-collected. A fully read answer returns its connection to the pool; any other end (client
    gone, replica gone, timeout) closes it, so no half-read connection is reused.
    """

    def __init__(self, upstream: aiohttp.ClientResponse, replica: str) -> None:
        self.upstream = upstream
        self.replica = replica
        self.sent = 0
        media_type = upstream.headers.get("content-type", "application/octet-stream")
        super().__init__(self._chunks(), status_code=upstream.status, media_type=media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except BrokenOff:
            # NOTE: the status and headers are gone already, so no error body can follow. Returning
            # without the body's last message makes the server close the client's connection, which
            # the client reads as a cut-off answer (short of its Content-Length, or a chunked body
            # without its last chunk); an exception would do the same, with two tracebacks logged.
            return
        finally:
            if self.upstream.content.is_eof():
                self.upstream.release()
            else:
                self.upstream.close()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.upstream.content.iter_chunked(CHUNK_BYTES):
                self.sent += len(chunk)
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "replica %s broke off its answer after %d bytes (%s); the client's connection is closed",
                self.replica,
                self.sent,
                type(exc).__name__,
            )
            raise BrokenOff from exc


class BrokenOff(Exception):
    """The replica's answer ended before its end: the client's connection is to be closed."""
