"""The worker's ASGI app: every protocol's routes over one `ModelService`.

Plain Starlette rather than FastAPI: the hot path is one route, validated by pydantic-core straight
from bytes, and skipping FastAPI's dependency layer keeps per-request overhead near uvicorn's own.
`DirectRoutes` goes one step further for routes without path parameters (`/predict`,
`/v1/embeddings`, ...): it calls their endpoint without Starlette's router and its two exception
middlewares. Every endpoint is wrapped by `Guard`, which already turns any exception into a response,
so those layers only cost time there: about a third of the app's CPU per request, and on a 2-core
machine the loop's CPU comes out of the model's (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from berth.api.types import SignaturePublic, TensorPublic
from berth.errors import NotFound
from berth.runtimes.base import Signature, TensorSpec
from berth.worker.http import Guard, error_response, json_response
from berth.worker.protocols.ollama import ollama_routes
from berth.worker.protocols.openai import openai_routes
from berth.worker.protocols.predict import predict_endpoint
from berth.worker.protocols.rerank import rerank_routes
from berth.worker.protocols.v2 import v2_routes
from berth.worker.service import ModelService


def create_app(service: ModelService, api_key: str | None = None) -> ASGIApp:
    guard = Guard(api_key, service.metrics.observe_request)
    # NOTE: the task is the ready body's own field; the control plane puts it in the signature it records
    signature = signature_public(service.runtime.signature()).model_dump(mode="json", exclude={"task"})

    async def live(request: Request) -> Response:
        return json_response({"status": "live", "deployment": service.name})

    async def ready(request: Request) -> Response:
        status = "ready" if service.ready else "not_ready"
        body = {
            "status": status,
            "deployment": service.name,
            "task": service.runtime.task,  # what the control plane tailors usage examples to
            "runtime": service.runtime.name,
            "revision": service.revision,
            "signature": signature,  # what the control plane records and writes the examples from
        }
        return json_response(body, 200 if service.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/predict", guard("predict", predict_endpoint(service)), methods=["POST"]),
        Route("/health/live", guard("live", live, public=True), methods=["GET"]),
        Route("/health/ready", guard("ready", ready, public=True), methods=["GET"]),
        Route("/metrics", guard("metrics", metrics), methods=["GET"]),
        *v2_routes(service, guard),
        *openai_routes(service, guard),
        *rerank_routes(service, guard),
        *ollama_routes(service, guard),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(
                NotFound(f"no route {request.url.path}; see the deployment's usage examples")
            )
        message = f"{request.method} is not allowed on {request.url.path}"
        return json_response({"error": {"code": "method_not_allowed", "message": message}}, exc.status_code)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        yield
        await service.drain()

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    return DirectRoutes(app, routes)


def signature_public(signature: Signature) -> SignaturePublic:
    """A runtime's signature as the API describes it: the batch dimension reported as -1."""

    def tensor(spec: TensorSpec) -> TensorPublic:
        shape = [-1, *spec.shape[1:]]
        return TensorPublic(
            name=spec.name,
            datatype=spec.datatype,
            shape=shape,
            content=spec.content,
            media_type=spec.media_type,
        )

    return SignaturePublic(
        inputs=[tensor(t) for t in signature.inputs], outputs=[tensor(t) for t in signature.outputs]
    )


class DirectRoutes:
    """Sends requests for the fixed-path routes straight to their (guarded) endpoint; everything else
    (lifespan, routes with path parameters, 404 and 405) goes through Starlette as before."""

    def __init__(self, app: ASGIApp, routes: list[Route]) -> None:
        self.app = app
        self.endpoints = {
            (method, route.path): route.endpoint
            for route in routes
            if not route.param_convertors
            for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
            if endpoint is not None:
                response = await endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
