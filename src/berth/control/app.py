"""The control plane's ASGI app: routers, auth, CORS, error mapping, and the services' lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from starlette.routing import Route

import berth
from berth.control.api import deployments, errors, exports, gateway, inference, models, system, ui, ws
from berth.control.api.auth import ApiKeyMiddleware
from berth.control.metrics import metrics_registry
from berth.control.plane import ControlPlane
from berth.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The control plane for `settings` (default: the environment's); services start with the app."""
    settings = settings or get_settings()
    plane = ControlPlane.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=1024, limit_per_host=256)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as client:
            app.state.proxy_client = client
            await plane.start()
            try:
                yield
            finally:
                await plane.close()

    app = FastAPI(
        title="berth",
        version=berth.__version__,
        summary="Deploy, run and watch ML model servers.",
        lifespan=lifespan,
    )
    app.state.plane = plane
    app.state.metrics_registry = metrics_registry(plane.registry)
    routers = (deployments.router, inference.router, ws.router, models.router, system.router, exports.router)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system.health)
    app.include_router(gateway.router)
    app.include_router(ui.router)  # last: its catch-all must not shadow the API
    # the hot path, without FastAPI's per-request machinery (see inference.proxy)
    app.router.routes[:0] = [
        Route(f"{API_PREFIX}/deployments/{{name}}/inference", inference.proxy, methods=["POST"]),
        Route(f"{gateway.PREFIX}/{{name}}/{{path:path}}", gateway.gateway, methods=gateway.METHODS),
        Route(f"{gateway.PREFIX}/{{name}}", gateway.gateway, methods=gateway.METHODS),
    ]
    errors.install(app)
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key.get_secret_value())
    if settings.cors_origins:  # added last, so outermost: a browser's preflight carries no key
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    return app
