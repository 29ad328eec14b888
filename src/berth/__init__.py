"""berth: turn a machine-learning model into a production inference service, and keep it running.

The top-level package stays import-light: torch, transformers and onnxruntime load only in a worker,
and `berth.Client` (httpx, pydantic) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Client", "__version__"]

if TYPE_CHECKING:
    from berth.client import Client


def __getattr__(name: str) -> Any:
    if name == "Client":
        from berth.client import Client

        return Client
    raise AttributeError(f"module 'berth' has no attribute {name!r}")
