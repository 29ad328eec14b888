"""The built web UI (`berth/ui/`, made by `make ui` from `web/`), served at `/` with SPA fallback.

Hashed files under `/assets/` never change, so they are cached for a year; `index.html` is revalidated
every time so a new build shows up at once. Any other path that is not the API's answers `index.html`
and lets the client-side router decide.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from berth.errors import NotFound

UI_DIR = Path(__file__).resolve().parents[2] / "ui"
RESERVED = ("api/", "models/", "health/", "metrics", "docs", "openapi.json", "redoc")
NOT_BUILT = (
    "<!doctype html><title>berth</title><p>The berth web UI is not built into this installation. "
    "Build it with <code>make ui</code>; the API is at <a href='/docs'>/docs</a>.</p>"
)

router = APIRouter(include_in_schema=False)


@router.get("/{path:path}")
async def ui(path: str) -> Response:
    if path.startswith(RESERVED):
        raise NotFound(f"no route /{path}; see /docs for the API")
    index = UI_DIR / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=200 if path == "" else 404)
    asset = (UI_DIR / path).resolve()
    if path and asset.is_file() and asset.is_relative_to(UI_DIR):
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(asset, headers={"Cache-Control": cache})
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
