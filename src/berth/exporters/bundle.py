"""The one entry point every caller uses: a target and specs in, relative path → file text out."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from typing import Literal

from berth.errors import InvalidSpec
from berth.exporters.compose import compose_bundle
from berth.exporters.kserve import kserve_bundle
from berth.exporters.kubernetes import kubernetes_bundle
from berth.exporters.options import TARGETS, ExportOptions, Target
from berth.spec import DeploymentSpec

_BUILDERS: dict[str, Callable[[list[DeploymentSpec], ExportOptions], dict[str, str]]] = {
    "compose": compose_bundle,
    "kubernetes": kubernetes_bundle,
    "kserve": kserve_bundle,
}
EXECUTABLE = {"docker-entrypoint.sh"}
# NOTE: a fixed timestamp makes the same bundle the same bytes (cacheable, diffable downloads).
_EPOCH = (2020, 1, 1, 0, 0, 0)
_EPOCH_SECONDS = 1_577_836_800  # the same instant, UTC


def bundle(
    target: Target, specs: list[DeploymentSpec], options: ExportOptions | None = None
) -> dict[str, str]:
    """Render every file of `target` for `specs`.

    >>> from berth.spec import parse_spec
    >>> spec = parse_spec({"name": "minilm", "model": {"source": "sentence-transformers/all-MiniLM-L6-v2"}})
    >>> sorted(bundle("compose", [spec]))[:3]
    ['.env.example', 'Dockerfile', 'README.md']
    """
    builder = _BUILDERS.get(target)
    if builder is None:
        raise InvalidSpec(f"unknown export target {target!r}: choose from {', '.join(TARGETS)}")
    return builder(list(specs), options or ExportOptions())


def archive(files: dict[str, str], fmt: Literal["zip", "tar.gz"] = "zip") -> bytes:
    """The files as one zip (or gzipped tar) archive, entries sorted, timestamps fixed."""
    buffer = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(files):
                info = zipfile.ZipInfo(path, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100755 if path in EXECUTABLE else 0o100644) << 16
                zf.writestr(info, files[path])
        return buffer.getvalue()
    if fmt == "tar.gz":
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            for path in sorted(files):
                data = files[path].encode("utf-8")
                entry = tarfile.TarInfo(path)
                entry.size, entry.mode = len(data), 0o755 if path in EXECUTABLE else 0o644
                entry.mtime = _EPOCH_SECONDS
                tf.addfile(entry, io.BytesIO(data))
        return buffer.getvalue()
    raise InvalidSpec(f"unknown archive format {fmt!r}: use zip or tar.gz")
