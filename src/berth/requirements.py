"""A spec's `requirements:`: pip requirement strings a Python predictor needs beside berth itself.

One home for the rule, used by the spec (parsing), the deployer (checking, and installing on
request) and the exporters (baking them into an image). Checking reads the installed distributions'
metadata only: the control plane never imports the packages it checks (they may pull in torch).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

# NOTE: pip output worth relaying as progress; "Requirement already satisfied" lines would drown it.
_PROGRESS_PREFIXES = ("Collecting", "Downloading", "Installing", "Successfully", "Looking in", "Processing")


def parse_requirement(text: str) -> Requirement:
    """A PEP 508 requirement (name, extras, specifiers, markers); URLs, `-e` and pip options are refused.

    >>> str(parse_requirement("chronos-forecasting>=2.3"))
    'chronos-forecasting>=2.3'
    """
    stripped = text.strip()
    if not stripped or stripped.startswith("-"):
        raise ValueError(
            f"{text!r} is not a requirement: give a package name with optional version specifiers "
            "and markers, such as 'chronos-forecasting>=2.3' (no pip options)"
        )
    try:
        requirement = Requirement(stripped)
    except InvalidRequirement as exc:
        raise ValueError(f"{text!r} is not a valid pip requirement ({exc})") from None
    if requirement.url:
        raise ValueError(
            f"{text!r} names a URL; requirements must be package names with version specifiers, "
            "installed from the package index"
        )
    return requirement


@dataclass(frozen=True)
class Unmet:
    """A requirement this Python does not satisfy, and what it has instead (None: not installed)."""

    requirement: str
    installed: str | None

    def describe(self) -> str:
        name = Requirement(self.requirement).name
        found = "not installed" if self.installed is None else f"{name} {self.installed} is installed"
        return f"{self.requirement} ({found})"


def unmet(requirements: Iterable[str]) -> list[Unmet]:
    """The requirements the running Python's installed distributions do not satisfy.

    A requirement whose marker is false here (`; sys_platform == 'win32'` on Linux) is not needed.
    Extras are not checked: only the distribution and its version.

    >>> unmet(["packaging>=1", "packaging<1"])[0].requirement
    'packaging<1'
    """
    missing = []
    for text in requirements:
        requirement = parse_requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version: str | None = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            version = None
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(Unmet(text.strip(), version))
    return missing


def constraints_file(configured: Path | None) -> Path | None:
    """The constraints to install through: `configured` (BERTH_CONSTRAINTS), else a checkout's own file."""
    if configured is not None:
        return configured
    # NOTE: src/berth/requirements.py → the checkout's root, where constraints.txt sits beside pyproject.
    root = Path(__file__).resolve().parents[2]
    candidate = root / "constraints.txt"
    return candidate if candidate.is_file() and (root / "pyproject.toml").is_file() else None


def pip_command(
    requirements: Iterable[str], constraints: Path | None, python: str = sys.executable
) -> list[str]:
    """`python -m pip install [-c constraints] req...` as an argument list."""
    command = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    if constraints is not None:
        command += ["-c", str(constraints)]
    return command + [text.strip() for text in requirements]


def install_hint(requirements: Iterable[str], constraints: Path | None) -> str:
    """The command a person runs to install `requirements` themselves, quoted for a shell."""
    command = [
        "pip",
        "install",
        *(["-c", str(constraints)] if constraints is not None else []),
        *requirements,
    ]
    return shlex.join(command)


def unmet_message(missing: list[Unmet], constraints: Path | None) -> str:
    """One sentence naming each unmet requirement and the two ways to install them."""
    names = "; ".join(item.describe() for item in missing)
    hint = install_hint([item.requirement for item in missing], constraints)
    return (
        f"the spec's requirements are not met by the Python that runs the workers ({sys.executable}): "
        f"{names}; install them with `{hint}`, or deploy with `berth deploy --install-requirements`"
    )


class InstallFailed(Exception):
    """pip exited with an error; `last_error` is its last error line."""

    def __init__(self, last_error: str) -> None:
        super().__init__(last_error)
        self.last_error = last_error


def install(
    requirements: list[str],
    constraints: Path | None,
    on_line: Callable[[str], None],
    *,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run pip on `requirements`, passing its progress lines to `on_line`; raise InstallFailed on error."""
    lines: list[str] = []
    with subprocess.Popen(
        pip_command(requirements, constraints, python),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(env) if env is not None else None,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            if line:
                lines.append(line)
            if line.lstrip().startswith(_PROGRESS_PREFIXES):
                on_line(line.strip())
        code = process.wait()
    if code != 0:
        raise InstallFailed(_last_error(lines) or f"pip exited with status {code}")


def _last_error(lines: list[str]) -> str:
    errors = [line.strip() for line in lines if line.lstrip().startswith("ERROR")]
    if errors:
        return errors[-1]
    return lines[-1].strip() if lines else ""
