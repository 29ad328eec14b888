"""nginx.conf for the front proxy: one template, pointed at Compose service names or at loopback ports."""

from __future__ import annotations

import math

from pydantic import BaseModel

from berth.errors import InvalidSpec
from berth.exporters.common import render
from berth.spec import DeploymentSpec

# The SPA loads only its own files; inline styles are allowed because component libraries set them.
SPA_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# FastAPI's /docs and /redoc pages pull Swagger UI and ReDoc from jsDelivr and run an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)
STREAM_GRACE_S = 30  # a model location waits this much longer than the worker's own request timeout


class ModelRoute(BaseModel):
    name: str
    address: str  # host:port of the deployment's worker(s)
    max_body_size: str
    read_timeout_s: int


def render_nginx(
    specs: list[DeploymentSpec],
    upstreams: dict[str, str],
    *,
    control_plane: str,
    listen: int | str = 8080,
    static_root: str = "/srv/berth-ui",
    runtime_dir: str = "/tmp",  # noqa: S108 - nginx's pid and temp files; a tmpfs in the container
    error_log: str = "/dev/stderr",
    access_log: str = "/dev/stdout",
) -> str:
    """A complete nginx.conf routing `/models/<name>/` to `upstreams[name]` and the rest to the control plane.

    `listen` is a port or `address:port`; `runtime_dir` holds the pid and temp files, so a test can run
    an unprivileged nginx with everything in a temporary folder:

    >>> conf = render_nginx([], {}, control_plane="127.0.0.1:8000", listen="127.0.0.1:8080")
    >>> "proxy_pass http://berth_control_plane;" in conf
    True
    """
    missing = [spec.name for spec in specs if spec.name not in upstreams]
    if missing:
        raise InvalidSpec(f"no upstream address for deployment(s) {', '.join(missing)}")
    models = [
        ModelRoute(
            name=spec.name,
            address=upstreams[spec.name],
            max_body_size=body_size(spec.limits.max_request_bytes),
            read_timeout_s=math.ceil(spec.limits.request_timeout_s) + STREAM_GRACE_S,
        )
        for spec in specs
    ]
    largest = max((spec.limits.max_request_bytes for spec in specs), default=1_048_576)
    return render(
        "nginx.conf.j2",
        models=[m.model_dump() for m in models],
        control_plane=control_plane,
        listen=listen,
        static_root=static_root.rstrip("/") or "/",
        runtime_dir=runtime_dir.rstrip("/") or "/",
        error_log=error_log,
        access_log=access_log,
        max_body_size=body_size(largest),
        spa_csp=SPA_CSP,
        docs_csp=DOCS_CSP,
    )


def body_size(n: int) -> str:
    """An nginx size: `1m` for 1048576, `64k` for 65536, else bytes."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}m"
    if n % 1024 == 0:
        return f"{n // 1024}k"
    return str(n)
