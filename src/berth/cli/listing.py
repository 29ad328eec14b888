"""`berth ls` on the standard library alone.

`berth ls` is the command people run most, and its answer is one GET. Through Typer, Rich, pydantic
and httpx it took about 0.45 s, nearly all of it imports, so the console script answers `ls` here
before loading any of them, and the Typer command calls the same `ls`: there is one implementation.

NOTE: this module reads the few settings it needs (BERTH_URL, BERTH_HOST, BERTH_PORT, BERTH_API_KEY)
itself rather than through `berth.settings` (pydantic-settings costs ~60 ms), with the same sources
and precedence: the environment (names in any case), then `.env`, then the defaults. A value it
cannot parse makes `light_settings` return None, and the full CLI reports it as settings would.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from berth.errors import ControlPlaneUnavailable, RequestTimeout, error_from_body
from berth.net import local_url

API_DEPLOYMENTS = "/api/v1/deployments"
EMPTY = "no deployments; create one with `berth deploy MODEL`"
COLUMNS = ("NAME", "STATE", "REPLICAS", "ENDPOINT", "RESTARTS", "MODEL")
# ANSI SGR colours per state, as the Rich views colour them.
STATE_COLOURS = {
    "ready": "32",
    "deploying": "36",
    "restarting": "33",
    "unhealthy": "33",
    "stopped": "2",
    "failed": "31",
}
TIMEOUT_S = 30.0


def light_settings(
    environ: Mapping[str, str] = os.environ, dotenv: Path = Path(".env")
) -> tuple[str, str | None] | None:
    """The control plane's URL and API key as `berth.Client()` would find them, or None if unsure."""
    values = {key.upper(): value for key, value in environ.items() if key.upper().startswith("BERTH_")}
    if dotenv.is_file():
        from dotenv import dotenv_values

        found = {key.upper(): value for key, value in dotenv_values(dotenv).items() if value is not None}
        values = {**found, **values}
    api_key = values.get("BERTH_API_KEY") or None
    url = environ.get("BERTH_URL")  # NOTE: like Client(), the URL comes from the environment only
    if url:
        return url.rstrip("/"), api_key
    port = values.get("BERTH_PORT", "8000").strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return local_url(values.get("BERTH_HOST", "127.0.0.1").strip(), int(port)), api_key


def fetch_deployments(url: str, api_key: str | None, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
    """`GET /api/v1/deployments` as JSON, or the BerthError the answer stands for."""
    import http.client

    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {api_key}"} if api_key else {})
    try:
        connection.request("GET", parts.path.rstrip("/") + API_DEPLOYMENTS, headers=headers)
        response = connection.getresponse()
        body = response.read()
    except TimeoutError:
        raise RequestTimeout(
            f"the control plane did not answer GET {API_DEPLOYMENTS} within {timeout:g} s"
        ) from None
    except OSError:
        raise ControlPlaneUnavailable.at(url) from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise error_from_body(response.status, body)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, list):
        raise ControlPlaneUnavailable(f"{url} is not a berth control plane: its {API_DEPLOYMENTS} is no list")
    return data


def replica_counts(deployment: Mapping[str, Any]) -> str:
    """`ready/total` replicas; total is what the spec asks for."""
    replicas = deployment.get("replicas") or []
    ready = sum(1 for replica in replicas if replica.get("state") == "ready")
    total = (deployment.get("spec") or {}).get("replicas") or len(replicas)
    return f"{ready}/{total}"


def model_source(deployment: Mapping[str, Any], short: bool = False) -> str:
    """The spec's model source; `short` keeps a long path's last two parts, which name the model."""
    source = str(((deployment.get("spec") or {}).get("model") or {}).get("source", "-"))
    parts = source.split("/")
    if short and source.startswith("/") and len(source) > 40 and len(parts) > 3:
        return "…/" + "/".join(parts[-2:])
    return source


def table(deployments: Sequence[Mapping[str, Any]], colour: bool) -> str:
    """The `berth ls` table: left-aligned columns two spaces apart, the state coloured if `colour`."""
    rows = [
        (
            str(d.get("name", "-")),
            str(d.get("state", "-")),
            replica_counts(d),
            str(d.get("endpoint") or "-"),
            str(d.get("restarts", 0)),
            model_source(d, short=True),
        )
        for d in deployments
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str], state: str | None = None) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        if colour and state in STATE_COLOURS:
            padded[1] = f"\033[{STATE_COLOURS[state]}m{padded[1]}\033[0m"
        return "  ".join(padded).rstrip()

    header = line(COLUMNS)
    lines = [f"\033[1m{header}\033[0m" if colour else header]
    lines += [line(row, row[1]) for row in rows]
    return "\n".join(lines) + "\n"


def wants_colour(stream: Any) -> bool:
    """Colour for a terminal only, and never when NO_COLOR is set or TERM is dumb (no-color.org)."""
    return bool(stream.isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def control_plane() -> tuple[str, str | None]:
    """The control plane's URL and API key: the light reader's, else pydantic-settings' own."""
    found = light_settings()
    if found is not None:
        return found
    from berth.settings import get_settings

    settings = get_settings()  # NOTE: raises the clear error for the value the light reader refused
    api_key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    return local_url(settings.host, settings.port), api_key or None


def ls(as_json: bool = False) -> None:
    """Print the deployments as a table, or as the API's JSON; raises BerthError."""
    deployments = fetch_deployments(*control_plane())
    if as_json:
        sys.stdout.write(json.dumps(deployments, indent=2) + "\n")
    elif not deployments:
        sys.stdout.write(EMPTY + "\n")
    else:
        sys.stdout.write(table(deployments, wants_colour(sys.stdout)))
