"""`POST /deployments/{name}/inference`: the worker's `/predict`, proxied round-robin over ready replicas.

The body is forwarded untouched (no parse, no re-encode) over one pooled keep-alive client, so the
proxy adds little beyond a loopback hop. A replica that refuses the connection (it just died) is
skipped for the next one; the supervisor will notice and restart it.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

from berth.control.api.deps import Name, Plane
from berth.errors import NotReady, PayloadTooLarge, RequestTimeout

router = APIRouter(tags=["inference"])
FORWARDED_HEADERS = ("content-type", "accept")


@router.post("/deployments/{name}/inference", operation_id="inference")
async def inference(plane: Plane, name: Name, request: Request) -> Response:
    """Run a prediction on the deployment (same body and answer as the worker's `/predict`)."""
    spec = plane.supervisor.spec(name)
    body = await _read_body(request, spec.limits.max_request_bytes)
    headers = {key: value for key in FORWARDED_HEADERS if (value := request.headers.get(key))}
    if plane.settings.api_key is not None:
        headers["authorization"] = f"Bearer {plane.settings.api_key.get_secret_value()}"
    client: httpx.AsyncClient = request.app.state.proxy_client
    host = plane.supervisor.connect_host
    for _ in range(max(1, len(plane.supervisor.ready_ports(name)))):
        port = plane.supervisor.next_port(name)
        if port is None:
            break
        try:
            upstream = await client.post(
                f"http://{host}:{port}/predict",
                content=body,
                headers=headers,
                timeout=spec.limits.request_timeout_s + 5,
            )
        except httpx.ConnectError:
            continue
        except httpx.TimeoutException:
            raise RequestTimeout(
                f"{name!r} did not answer within {spec.limits.request_timeout_s:.0f} s; "
                "retry later or raise limits.request_timeout_s"
            ) from None
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type", "application/json"),
        )
    state = plane.registry.get(name).state
    raise NotReady(f"{name!r} has no ready replica (it is {state}); check `berth status {name}`")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than this deployment's limit of {limit} bytes "
        "(limits.max_request_bytes); send fewer or shorter inputs"
    )
