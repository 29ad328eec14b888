"""Small network facts shared by the control plane, the checks and the CLI."""

from __future__ import annotations

import socket

WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def connect_host(host: str) -> str:
    """Where to connect to a server bound on `host`: a wildcard bind is reached on loopback."""
    return "127.0.0.1" if host in WILDCARDS else host


def local_url(host: str, port: int) -> str:
    """The http:// URL to reach a server bound on host:port from this machine."""
    return f"http://{connect_host(host)}:{port}"


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (with SO_REUSEADDR, as uvicorn binds)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
