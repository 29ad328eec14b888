"""`berth export` and `berth cost` as a user runs them: spec files or names, files on disk, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from berth.cli.exports import cost_command, export_command
from tests.unit.exporters.conftest import HF_TOKEN_VALUE, cpu_spec

app = typer.Typer()
app.command("export")(export_command)
app.command("cost")(cost_command)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "minilm.yaml"
    path.write_text(yaml.safe_dump(cpu_spec().model_dump(mode="json")))
    return path


def test_export_writes_the_bundle_from_a_spec_file(
    runner: CliRunner, spec_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "deploy"
    result = runner.invoke(app, ["export", "compose", str(spec_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 7 files" in result.output
    assert (out / "nginx" / "nginx.conf").is_file()
    assert (out / "docker-entrypoint.sh").stat().st_mode & 0o111
    assert all(HF_TOKEN_VALUE not in p.read_text() for p in out.rglob("*") if p.is_file())


def test_export_kubernetes_with_options(runner: CliRunner, spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    args = ["export", "kubernetes", str(spec_file), "-o", str(out), "--host", "m.example.com", "--tls"]
    result = runner.invoke(app, [*args, "--namespace", "ml", "--hpa", "--max-replicas", "3"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "minilm-hpa.yaml").read_text())["spec"]["maxReplicas"] == 3
    assert yaml.safe_load((out / "namespace.yaml").read_text())["metadata"]["name"] == "ml"


def test_export_resolves_a_name_through_the_control_plane(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class FakeClient:
        def __init__(self, url: str | None = None, api_key: str | None = None) -> None: ...

        def __enter__(self) -> FakeClient:
            return self

        def __exit__(self, *exc: Any) -> None: ...

        def get(self, name: str) -> Any:
            asked.append(name)
            spec = cpu_spec().model_dump(mode="json")
            spec["env"]["HF_TOKEN"] = "***"  # the API redacts secrets
            return type("Deployment", (), {"spec": spec})()

    monkeypatch.setattr("berth.client.Client", FakeClient)
    result = runner.invoke(app, ["export", "kserve", "minilm", "-o", str(tmp_path / "ks")])
    assert result.exit_code == 0, result.output
    assert asked == ["minilm"]
    assert (tmp_path / "ks" / "minilm-inferenceservice.yaml").is_file()


def test_export_errors_are_one_line_with_the_error_exit_code(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "compose", str(tmp_path / "missing.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: spec file")
    assert result.output.count("\n") == 1
    result = runner.invoke(
        app, ["export", "kubernetes", str(tmp_path / "x.yaml"), "-o", str(tmp_path), "--namespace", "Bad_NS"]
    )
    assert result.exit_code == 2
    assert "namespace" in result.output


def test_cost_prints_a_table_and_json(runner: CliRunner, spec_file: Path) -> None:
    table = runner.invoke(app, ["cost", str(spec_file), "--cloud", "aws,gcp"])
    assert table.exit_code == 0, table.output
    assert "t3.medium" in table.output
    assert "e2-standard-2" in table.output
    assert "azure" not in table.output
    data = json.loads(runner.invoke(app, ["cost", str(spec_file), "--json", "--replicas", "2"]).output)
    assert data["replicas"] == 2
    assert {c["cloud"] for c in data["choices"]} == {
        "aws",
        "gcp",
        "azure",
        "digitalocean",
    }


def test_cost_of_a_model_too_large_exits_with_its_code(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(
        yaml.safe_dump({"name": "huge", "model": {"source": "org/huge"}, "limits": {"max_memory_gb": 9000}})
    )
    result = runner.invoke(app, ["cost", str(path)])
    assert result.exit_code == 5
    assert "no listed instance" in result.output
    assert runner.invoke(app, ["cost", str(path), "--cloud", "ibm"]).exit_code == 2
