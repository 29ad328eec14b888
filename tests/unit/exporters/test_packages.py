"""Exports of a Python predictor with `requirements:`: its code and requirements ship in the bundle,
the image (Compose) or an init container (Kubernetes) installs them through the constraints, and the
generated files still pass their schemas."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from berth.exporters import ExportOptions, bundle
from berth.settings import get_settings
from berth.spec import DeploymentSpec, parse_spec
from tests.unit.exporters.test_compose import compose, consistency_problems, schema_check
from tests.unit.exporters.test_kubernetes import documents, validate

PINS = "torch==2.13.0\nchronos-forecasting==2.3.1\n"
MODEL = """from forecaster.util import horizon


class Forecaster:
    def predict(self, batch):
        return [horizon(item) for item in batch]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A predictor package in the current directory, and BERTH_CONSTRAINTS naming a pins file."""
    package = tmp_path / "project" / "forecaster"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "model.py").write_text(MODEL, encoding="utf-8")
    (package / "util.py").write_text("def horizon(item):\n    return len(item)\n", encoding="utf-8")
    (package / "__pycache__" / "model.cpython-312.pyc").write_bytes(b"\0")
    (package / "weights.bin").write_bytes(b"\0\1")
    pins = tmp_path / "pins.txt"
    pins.write_text(PINS, encoding="utf-8")
    monkeypatch.chdir(package.parent)
    monkeypatch.setenv("BERTH_CONSTRAINTS", str(pins))
    get_settings.cache_clear()
    yield package.parent
    get_settings.cache_clear()


def forecaster() -> DeploymentSpec:
    return parse_spec(
        {
            "name": "chronos",
            "model": {"source": "forecaster.model:Forecaster"},
            "device": "cpu",
            "requirements": ["chronos-forecasting>=2.3", "numpy<3; python_version >= '3.10'"],
        }
    )


def test_compose_bakes_the_requirements_and_ships_the_code(project: Path, tmp_path: Path) -> None:
    files = bundle("compose", [forecaster()], ExportOptions())
    code = {path for path in files if path.startswith("predictors/")}
    assert code == {f"predictors/forecaster/{name}.py" for name in ("__init__", "model", "util")}
    assert files["predictors/forecaster/model.py"] == MODEL
    assert files["requirements.txt"].splitlines()[1:] == [
        "chronos-forecasting>=2.3",
        'numpy<3; python_version >= "3.10"',
    ]
    assert files["constraints.txt"] == PINS
    dockerfile = files["Dockerfile"]
    builder, runtime = dockerfile.split("\nFROM ")[1:]
    assert "COPY requirements.txt constraints.txt /tmp/berth/\n" in builder
    assert "-c /tmp/berth/constraints.txt -r /tmp/berth/requirements.txt\n" in builder
    assert "COPY predictors/ /opt/berth/predictors/\nENV PYTHONPATH=/opt/berth/predictors\n" in runtime
    path = tmp_path / "docker-compose.yml"
    path.write_text(files["docker-compose.yml"], encoding="utf-8")
    result = schema_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert consistency_problems(compose(files)) == []


def test_the_shipped_code_imports_from_the_image_path(project: Path, tmp_path: Path) -> None:
    """The bundle's predictors/ as a fresh folder on PYTHONPATH: the spec's source resolves from it alone."""
    image = tmp_path / "image"
    for path, text in bundle("compose", [forecaster()], ExportOptions()).items():
        if path.startswith("predictors/"):
            (image / path).parent.mkdir(parents=True, exist_ok=True)
            (image / path).write_text(text, encoding="utf-8")
    code = "from forecaster.model import Forecaster; print(Forecaster().predict(['abc', 'hello']))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(image / "predictors")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[3, 5]", result.stderr


def test_volume_mode_installs_the_requirements_on_first_start(project: Path) -> None:
    files = bundle("compose", [forecaster()], ExportOptions(ml_packages="volume"))
    runtime = files["Dockerfile"].split("\nFROM ")[2]
    assert "COPY requirements.txt constraints.txt /etc/berth/\n" in runtime
    entrypoint = files["docker-entrypoint.sh"]
    assert '-r /etc/berth/requirements.txt -c /etc/berth/constraints.txt"' in entrypoint
    assert "cat /etc/berth/requirements.txt" in entrypoint  # a changed requirements.txt reinstalls
    assert subprocess.run(["sh", "-n", "-c", entrypoint], capture_output=True, timeout=30).returncode == 0


def test_a_spec_without_requirements_ships_no_extra_files(project: Path) -> None:
    plain = parse_spec({"name": "echo", "model": {"source": "tests.predictors:SlowEcho"}})
    files = bundle("compose", [plain], ExportOptions())
    assert not {"requirements.txt", "constraints.txt"} & set(files)
    assert not any(path.startswith("predictors/") for path in files)  # no `tests` package here
    assert "requirements.txt" not in files["Dockerfile"]


def pod(files: dict[str, str], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = documents(files)[f"{name}-deployment.yaml"]["spec"]["template"]["spec"]
    return spec


def test_kubernetes_installs_in_an_init_container_and_mounts_the_code(project: Path) -> None:
    files = bundle("kubernetes", [forecaster()], ExportOptions())
    for doc in documents(files).values():
        validate(doc)  # strict: an init container or volume item out of shape fails here
    data = yaml.safe_load(files["chronos-configmap.yaml"])["data"]
    assert data["constraints.txt"] == PINS
    assert "chronos-forecasting>=2.3" in data["requirements.txt"].splitlines()
    code = yaml.safe_load(files["chronos-code-configmap.yaml"])["data"]
    assert code["forecaster--model.py"] == MODEL
    spec = pod(files, "chronos")
    (init,) = spec["initContainers"]
    script = init["command"][2]
    pip = "-c /etc/berth/pip/constraints.txt --extra-index-url https://download.pytorch.org/whl/cpu "
    assert f"{pip}-r /etc/berth/pip/requirements.txt" in script
    assert subprocess.run(["sh", "-n", "-c", script], capture_output=True, timeout=30).returncode == 0
    (volume,) = [v for v in spec["volumes"] if v["name"] == "code"]
    restored = {item["path"]: code[item["key"]] for item in volume["configMap"]["items"]}
    assert restored == {f"forecaster/{name}.py": text for name, text in _sources(project).items()}
    (worker,) = spec["containers"]
    env = {item["name"]: item.get("value") for item in worker["env"]}
    assert env["PYTHONPATH"] == "/opt/berth/requirements:/opt/berth/predictors"
    mounts = {m["mountPath"]: m.get("subPath") for m in worker["volumeMounts"]}
    assert mounts["/opt/berth/requirements"] == "requirements"
    assert "/opt/berth/predictors" in mounts


def _sources(root: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in (root / "forecaster").glob("*.py")}
