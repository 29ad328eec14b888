"""One place that turns errors into `{"error": {"code", "message"}}` (docs/protocols.md), never a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from berth.errors import BerthError, InvalidSpec, NotFound

log = logging.getLogger("berth.control")
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 401: "unauthorized"}
RETRY_AFTER_S = 5  # what a 503 (no ready replica yet) tells a client to wait before it tries again


def error_response(error: BerthError) -> JSONResponse:
    response = JSONResponse(error.to_dict(), status_code=error.status_code)
    if error.status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(BerthError)
    async def berth_error(request: Request, exc: BerthError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(
                f"{where or 'body'}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}"
            )
        return error_response(InvalidSpec("; ".join(problems)))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(NotFound(f"no route {request.url.path}; see /docs for the API"))
        code = HTTP_CODES.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "an unexpected error occurred; the control plane's log has the details"
        return JSONResponse({"error": {"code": "internal_error", "message": message}}, status_code=500)
