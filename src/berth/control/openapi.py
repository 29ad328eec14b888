"""The control plane's OpenAPI document, built without a server: the source of the web UI's API types.

`python -m berth.control.openapi web/openapi.json` writes it; `make ui` then turns it into
`web/src/api/schema.d.ts` with openapi-typescript, so the UI's types follow the API's pydantic models
instead of being copied by hand. `tests/unit/control/test_openapi_types.py` fails when the committed
document drifts from what this module builds.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from berth.api.types import EventMessage, StateMessage
from berth.control.app import create_app
from berth.settings import Settings

# NOTE: OpenAPI has no WebSocket routes, so the messages `WS /api/v1/ws/{name}` pushes are added to
# the document's schemas by hand here; the UI's types for them then come from the same models too.
WEBSOCKET_MESSAGES: tuple[type[BaseModel], ...] = (EventMessage, StateMessage)


def document() -> dict[str, Any]:
    """The control plane's document as FastAPI serves it at `/openapi.json`, plus the WebSocket messages."""
    # NOTE: a throwaway BERTH_HOME and its SQLite file, so building the app never creates or reads the
    # user's registry; the app is never started, so its lifespan (supervisor, migrations) never runs.
    with tempfile.TemporaryDirectory(prefix="berth-openapi-") as home:
        app = create_app(Settings(home=Path(home), database_url=None))
        spec = app.openapi()
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    _, extra = models_json_schema(
        [(model, "serialization") for model in WEBSOCKET_MESSAGES],
        ref_template="#/components/schemas/{model}",
    )
    for name, schema in extra.get("$defs", {}).items():
        schemas.setdefault(name, schema)  # a model a route already returns keeps FastAPI's schema
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    return spec


def render() -> str:
    """The document as committed: two-space JSON, one trailing newline, so diffs stay readable."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the document to the path given, or to stdout without one."""
    text = render()
    if not argv:
        sys.stdout.write(text)
        return 0
    Path(argv[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
