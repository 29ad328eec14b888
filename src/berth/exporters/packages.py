"""What a spec brings into a bundle beside its model: its `requirements:`, the constraints file they
install through, and a Python predictor's own code, so an exported `module:Class` runs as it does here.

A predictor's code is found the way the worker finds it, from the current directory: the top-level
package folder (every `.py` file under it) or the single module file of `model.source`. A module that
is not there is taken as installed by the spec's `requirements:`, and nothing is shipped for it.
"""

from __future__ import annotations

from pathlib import Path

from berth.errors import InvalidSpec
from berth.exporters.common import source_kind
from berth.requirements import constraints_file
from berth.sources.types import SourceKind
from berth.spec import DeploymentSpec

PREDICTORS_DIR = "/opt/berth/predictors"  # predictor code, on the workers' PYTHONPATH
REQUIREMENTS_DIR = "/opt/berth/requirements"  # Kubernetes: the spec's requirements, installed at first start
CONSTRAINTS = "constraints.txt"
# NOTE: code, not data: a predictor folder this large holds weights or datasets that belong in a model folder.
MAX_CODE_BYTES = 4 * 1024 * 1024


def requirements_of(specs: list[DeploymentSpec]) -> list[str]:
    """Every spec's requirements, first occurrence first."""
    return list(dict.fromkeys(text for spec in specs for text in spec.requirements))


def constraints_text(specs: list[DeploymentSpec], configured: Path | None) -> str | None:
    """The constraints file's text to ship beside requirements (None: no requirements, or no file).

    `configured` is BERTH_CONSTRAINTS; without it, a checkout's own constraints.txt.
    """
    path = constraints_file(configured) if requirements_of(specs) else None
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read the constraints file {str(path)!r} ({exc}); check BERTH_CONSTRAINTS"
        raise InvalidSpec(message) from None


def predictor_files(spec: DeploymentSpec, root: Path | None = None) -> dict[str, str]:
    """A Python predictor's source files, `relative path → text`, found under `root` (default: cwd)."""
    if source_kind(spec) is not SourceKind.PYTHON:
        return {}
    root = root or Path.cwd()
    top = spec.model.source.partition(":")[0].split(".")[0]
    if (root / top).is_dir():
        paths = sorted(p for p in (root / top).rglob("*.py") if "__pycache__" not in p.parts)
    elif (root / f"{top}.py").is_file():
        paths = [root / f"{top}.py"]
    else:
        return {}
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in paths}
    if sum(len(text) for text in files.values()) > MAX_CODE_BYTES:
        raise InvalidSpec(
            f"the predictor package {top!r} has over {MAX_CODE_BYTES // 2**20} MiB of Python files; "
            "ship it as a package in `requirements:` instead"
        )
    return files


def bundle_code(specs: list[DeploymentSpec], root: Path | None = None) -> dict[str, str]:
    """Every spec's predictor code, under `predictors/` in the bundle."""
    return {
        f"predictors/{path}": text for spec in specs for path, text in predictor_files(spec, root).items()
    }


def bundle_files(specs: list[DeploymentSpec], constraints: str | None) -> dict[str, str]:
    """requirements.txt and constraints.txt when any spec has requirements, and the predictors' code."""
    files = bundle_code(specs)
    wanted = requirements_of(specs)
    if wanted:
        files["requirements.txt"] = "# the specs' `requirements:`, installed through constraints.txt\n"
        files["requirements.txt"] += "".join(f"{text}\n" for text in wanted)
    if wanted and constraints is not None:
        files[CONSTRAINTS] = constraints
    return files
