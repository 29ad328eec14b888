"""Model sources: resolve a source string, preflight what it needs, and pull it into the HF cache.

`resolve_source` needs no network; `preflight` reads only listings and safetensors headers; `fetch`
returns a `LocalModel` on disk. Nothing here imports torch or transformers (the control plane uses it).
"""

from berth.sources.preflight import check_preflight, preflight
from berth.sources.pull import fetch
from berth.sources.resolve import resolve_source
from berth.sources.types import (
    DownloadProgress,
    LocalModel,
    PreflightReport,
    ProgressCallback,
    ResolvedSource,
    SourceKind,
)

__all__ = [
    "DownloadProgress",
    "LocalModel",
    "PreflightReport",
    "ProgressCallback",
    "ResolvedSource",
    "SourceKind",
    "check_preflight",
    "fetch",
    "preflight",
    "resolve_source",
]
