"""Throwaway Python packages for the `requirements:` tests: a wheel written with zipfile, and a venv
that sees berth's own environment, so pip installs into it (and nowhere else) without any network."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

WHEEL = "Wheel-Version: 1.0\nGenerator: berth-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def write_wheel(folder: Path, name: str, version: str) -> Path:
    """A pure-Python wheel of `name` whose module (`name` with `_` for `-`) holds its `VERSION`."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": WHEEL,
    }
    record = [f"{path},sha256={_digest(text.encode())},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def overlay_venv(folder: Path) -> Path:
    """A venv whose Python also sees this one's packages (berth, pip): installs land in the venv only.

    NOTE: `--system-site-packages` would expose the base interpreter's packages, not this venv's; a
    `.pth` line that calls `site.addsitedir` adds them, editable installs' own `.pth` files included.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=60)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "berth-overlay.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n", encoding="utf-8"
    )
    return python


def installed_version(python: Path, name: str) -> str | None:
    """`name`'s version as `python` sees it, or None when it is not installed there."""
    code = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: print('')\n"
    )
    out = subprocess.run(
        [str(python), "-c", code, name], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    return out or None
