"""HTTP helpers that the worker and the control plane share: reading a request body under a limit.

Both serve inference bodies against a deployment's `limits.max_request_bytes`, and both must refuse
an oversized one with the same 413 and sentence. Keeping the reader here, beside neither package,
lets the control plane proxy a body without importing the worker (and the worker without the control
plane). Only starlette and berth's error vocabulary are imported.
"""

from __future__ import annotations

from starlette.requests import Request

from berth.errors import InvalidInput, PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes before reading them where the length is known."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(f"{int(declared)} bytes", limit)
    # NOTE: ASGI messages straight from `receive`: `request.stream()`, an async generator, cost more
    # than the rest of this function on a one-sentence body.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise InvalidInput("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(f"over {limit} bytes", limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def too_large(size: str, limit: int) -> PayloadTooLarge:
    """The 413 for a body of `size` (e.g. "2048 bytes") against a deployment's `limit`."""
    return PayloadTooLarge(
        f"the request body is {size}; this deployment "
        f"accepts at most {limit} bytes (limits.max_request_bytes): send fewer or shorter inputs"
    )
