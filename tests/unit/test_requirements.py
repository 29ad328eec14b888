"""The `requirements:` checker against this Python's installed distributions, and pip for real."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from berth import requirements
from tests.wheels import installed_version, overlay_venv, write_wheel

PROBE = "berth-probe-pkg"


def test_an_installed_distribution_satisfies_its_requirement() -> None:
    assert requirements.unmet(["numpy>=1", "packaging"]) == []


def test_a_wrong_version_and_a_missing_package_are_each_named() -> None:
    missing = requirements.unmet(["numpy<1", "not-a-real-package-xyz>=2", "numpy>=1"])
    assert [item.requirement for item in missing] == ["numpy<1", "not-a-real-package-xyz>=2"]
    message = requirements.unmet_message(missing, Path("/srv/constraints.txt"))
    assert f"numpy<1 (numpy {metadata.version('numpy')} is installed)" in message
    assert "not-a-real-package-xyz>=2 (not installed)" in message
    assert sys.executable in message
    assert "`pip install -c /srv/constraints.txt 'numpy<1' 'not-a-real-package-xyz>=2'`" in message
    assert "berth deploy --install-requirements" in message


def test_a_requirement_for_another_platform_is_not_needed() -> None:
    assert requirements.unmet(["not-a-real-package-xyz; sys_platform == 'no-such-platform'"]) == []
    assert len(requirements.unmet(["not-a-real-package-xyz; python_version >= '3'"])) == 1


def test_constraints_come_from_the_setting_else_from_this_checkout(tmp_path: Path) -> None:
    chosen = tmp_path / "pins.txt"
    assert requirements.constraints_file(chosen) == chosen
    checkout = Path(__file__).resolve().parents[2]
    assert requirements.constraints_file(None) == checkout / "constraints.txt"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway venv over this one, and a folder of wheels of one package at 1.0 and 1.1."""
    root = tmp_path_factory.mktemp("requirements")
    wheels = root / "wheels"
    write_wheel(wheels, PROBE, "1.0")
    write_wheel(wheels, PROBE, "1.1")
    return overlay_venv(root / "venv"), wheels


def offline(wheels: Path) -> dict[str, str]:
    """pip from the local folder only: nothing may reach the network."""
    import os

    return {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_NO_CACHE_DIR": "1"}


def test_install_goes_through_the_constraints(sandbox: tuple[Path, Path], tmp_path: Path) -> None:
    python, wheels = sandbox
    pins = tmp_path / "constraints.txt"
    pins.write_text(f"{PROBE}==1.0\n", encoding="utf-8")
    lines: list[str] = []
    requirements.install([f"{PROBE}>=1"], pins, lines.append, python=str(python), env=offline(wheels))
    assert installed_version(python, PROBE) == "1.0"  # 1.1 is newer, but the constraint pins 1.0
    assert any(line.startswith("Successfully installed") for line in lines), lines
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version(PROBE)  # berth's own environment is untouched


def test_a_failed_install_reports_pips_last_error(sandbox: tuple[Path, Path]) -> None:
    python, wheels = sandbox
    with pytest.raises(requirements.InstallFailed) as caught:
        requirements.install([f"{PROBE}==2.0"], None, lambda _: None, python=str(python), env=offline(wheels))
    assert caught.value.last_error.startswith("ERROR:")
    assert f"{PROBE}==2.0" in caught.value.last_error
