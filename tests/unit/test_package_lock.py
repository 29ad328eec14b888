"""web/package-lock.json is complete, so `npm ci` installs from it on any platform without rewriting it.

npm resolves a package's optional dependencies (rollup's and esbuild's per-platform binaries) into the
lock only when the lock is written with every platform in view; one missing entry makes `npm install`
add it to the tracked file and `npm ci` refuse the lock as out of sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[2] / "web"
FIX = "complete it with `cd web && npm install --package-lock-only` (the registry lists every platform)"


def _lock() -> dict[str, Any]:
    packages: dict[str, Any] = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    return packages


def _resolves(packages: dict[str, Any], parent: str, name: str) -> bool:
    """Node's lookup: `parent/node_modules/name`, then each folder above it, up to the top level."""
    folder = parent
    while True:
        if f"{folder}/node_modules/{name}".lstrip("/") in packages:
            return True
        if not folder:
            return False
        folder = folder.rsplit("/node_modules/", 1)[0] if "/node_modules/" in folder else ""


def test_every_optional_dependency_is_locked() -> None:
    packages = _lock()
    missing = sorted(
        f"{name} (for {path or 'berth-web'})"
        for path, entry in packages.items()
        for name in entry.get("optionalDependencies", {})
        if not _resolves(packages, path, name)
    )
    assert not missing, f"web/package-lock.json lacks {missing}: {FIX}"


def test_lock_matches_package_json() -> None:
    manifest = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    root = _lock()[""]
    for group in ("dependencies", "devDependencies"):
        assert root.get(group, {}) == manifest.get(group, {}), f"web/package-lock.json's {group}: {FIX}"
