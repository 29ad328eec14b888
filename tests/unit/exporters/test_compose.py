"""The Compose bundle: the Compose Specification's schema, plus what a schema cannot see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from berth.exporters import ExportOptions, bundle
from berth.spec import DeploymentSpec, parse_spec
from tests.unit.exporters.conftest import DB_PASSWORD_VALUE, SPECS, cpu_spec, golden_options, gpu_spec

OPTIONS = {
    "defaults": ExportOptions(),
    "postgres-volume": golden_options("gpu"),
    "external-db": ExportOptions(database_url="postgresql+psycopg://berth@db.internal:5432/registry"),
}


def compose(files: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(files["docker-compose.yml"])
    return doc


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def consistency_problems(doc: dict[str, Any]) -> list[str]:
    """depends_on names defined services, named volumes are declared, no host port is published twice."""
    problems = []
    services = doc["services"]
    declared = set(doc.get("volumes", {}))
    published: dict[str, str] = {}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            if dependency not in services:
                problems.append(f"{name} depends on undefined service {dependency}")
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/", "~")) and source not in declared:
                problems.append(f"{name} mounts undeclared volume {source}")
        for port in service.get("ports", []):
            host_port = str(port).rsplit(":", 1)[0]
            if host_port in published:
                problems.append(f"{name} and {published[host_port]} both publish {host_port}")
            published[host_port] = name
    return problems


@pytest.mark.parametrize("option_set", sorted(OPTIONS))
def test_compose_file_passes_the_compose_schema(option_set: str, tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(bundle("compose", [cpu_spec(), gpu_spec()], OPTIONS[option_set])["docker-compose.yml"])
    result = schema_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    doc = compose(bundle("compose", [cpu_spec()], ExportOptions()))
    doc["services"]["minilm"]["restart"] = ["unless-stopped"]
    doc["services"]["minilm"]["helthcheck"] = {}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(doc))
    assert schema_check(path).returncode != 0


@pytest.mark.parametrize("option_set", sorted(OPTIONS))
def test_references_volumes_and_ports_are_consistent(option_set: str) -> None:
    doc = compose(bundle("compose", [cpu_spec(), gpu_spec()], OPTIONS[option_set]))
    assert consistency_problems(doc) == []


def test_the_consistency_check_catches_what_the_schema_cannot() -> None:
    doc = compose(bundle("compose", [cpu_spec()], ExportOptions()))
    doc["services"]["nginx"]["depends_on"]["ghost"] = {"condition": "service_healthy"}
    doc["services"]["minilm"]["volumes"].append("undeclared:/x")
    doc["services"]["minilm"]["ports"] = doc["services"]["nginx"]["ports"]
    assert len(consistency_problems(doc)) == 3


def test_stack_shape(cpu: DeploymentSpec, gpu: DeploymentSpec) -> None:
    doc = compose(bundle("compose", [cpu, gpu], ExportOptions()))
    services = doc["services"]
    assert list(services) == ["control-plane", "minilm", "chat", "nginx"]
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["nginx"]
    assert services["control-plane"]["command"] == [
        "python", "-m", "berth.control", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip
    assert services["minilm"]["command"][:4] == ["python", "-m", "berth.worker", "/etc/berth/minilm.yaml"]
    assert "./specs/minilm.yaml:/etc/berth/minilm.yaml:ro" in services["minilm"]["volumes"]
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert "healthcheck" in service, name
    assert "/health/ready" in services["minilm"]["healthcheck"]["test"][-1]
    assert services["minilm"]["healthcheck"]["start_period"] == "600s"
    assert all(d["condition"] == "service_healthy" for d in services["nginx"]["depends_on"].values())
    devices = services["chat"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "capabilities": ["gpu"], "count": 1}]
    assert "devices" not in services["minilm"]["deploy"]["resources"]["reservations"]
    assert {"hf-cache", "registry"} <= set(doc["volumes"])


def test_ml_packages_bake_or_volume(cpu: DeploymentSpec) -> None:
    baked = bundle("compose", [cpu], ExportOptions(ml_packages="bake"))
    volume = bundle("compose", [cpu], ExportOptions(ml_packages="volume"))
    assert '"torch==2.13.0"' in baked["Dockerfile"]
    assert "torch" not in volume["Dockerfile"].split("FROM")[1]
    worker = compose(volume)["services"]["minilm"]
    assert worker["environment"]["BERTH_INSTALL_ML"] == "1"
    assert "pip-cache:/home/berth/.cache/pip" in worker["volumes"]
    assert "ml-packages:/opt/berth/ml-packages" in worker["volumes"]
    assert "torch==2.13.0" in volume["docker-entrypoint.sh"]
    for files in (baked, volume):  # multi-stage, non-root, health-checked
        assert files["Dockerfile"].count("\nFROM ") == 2
        assert "\nUSER 10001" in files["Dockerfile"]
        assert "\nHEALTHCHECK " in files["Dockerfile"]


def test_postgres_service_without_its_password() -> None:
    files = bundle("compose", [cpu_spec()], golden_options("gpu"))
    doc = compose(files)
    assert doc["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert doc["services"]["control-plane"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    url = doc["services"]["control-plane"]["environment"]["BERTH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://berth:${POSTGRES_PASSWORD")
    assert "POSTGRES_PASSWORD=change-me" in files[".env.example"]
    assert all(DB_PASSWORD_VALUE not in text for text in files.values())


def test_local_models_are_mounted_and_moved_under_models(tmp_path: Path) -> None:
    spec = parse_spec({"name": "local", "model": {"source": "./models/minilm"}, "device": "cuda:1"})
    files = bundle("compose", [spec], ExportOptions())
    service = compose(files)["services"]["local"]
    assert "./models/local:/models/local:ro" in service["volumes"]
    assert service["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]
    shipped = yaml.safe_load(files["specs/local.yaml"])
    assert shipped["model"]["source"] == "/models/local"
    assert shipped["device"] == "cuda"  # the container sees its one GPU as device 0


def test_a_gguf_deployment_installs_the_llama_cpp_extra() -> None:
    hub = parse_spec({"name": "qwen", "model": {"source": "org/qwen-GGUF", "file": "*Q4_K_M.gguf"}})
    local = parse_spec({"name": "tiny", "model": {"source": "./models/tiny-Q8_0.gguf"}})
    for spec in (hub, local):
        files = bundle("compose", [spec], ExportOptions(ml_packages="volume"))
        assert '"llama-cpp-python==0.3.36" "gguf>=0.17"' not in files["Dockerfile"]  # volume mode: at start
        assert "llama-cpp-python==0.3.36 gguf>=0.17" in files["docker-entrypoint.sh"]
        baked = bundle("compose", [spec], ExportOptions(ml_packages="bake"))
        assert '"llama-cpp-python==0.3.36" "gguf>=0.17"' in baked["Dockerfile"]
    shipped = yaml.safe_load(bundle("compose", [local], ExportOptions())["specs/tiny.yaml"])
    assert shipped["model"] == {"source": "/models/tiny/tiny-Q8_0.gguf", "revision": "main"}
    assert (
        "./models/tiny:/models/tiny:ro"
        in compose(bundle("compose", [local], ExportOptions()))["services"]["tiny"]["volumes"]
    )
    chosen = yaml.safe_load(bundle("compose", [hub], ExportOptions())["specs/qwen.yaml"])
    assert chosen["model"]["file"] == "*Q4_K_M.gguf"
    plain = bundle("compose", [cpu_spec()], ExportOptions(ml_packages="bake"))
    assert "llama-cpp-python" not in plain["Dockerfile"]


@pytest.mark.parametrize("name", ["nginx", "control-plane", "postgres"])
def test_a_deployment_may_not_take_a_service_name(name: str) -> None:
    from berth.errors import InvalidSpec

    spec = parse_spec({"name": name, "model": {"source": "org/model"}})
    with pytest.raises(InvalidSpec, match="rename"):
        bundle("compose", [spec], ExportOptions())


def test_spec_fixtures_cover_both_devices() -> None:
    assert {SPECS["cpu"]().device, SPECS["gpu"]().device} == {"cpu", "cuda"}
