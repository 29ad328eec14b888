"""`berth` commands without a control plane: errors and exit codes, init, check, help, up/down."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from berth.cli.app import app
from berth.settings import Settings
from berth.spec import NAME_RULE, DeploymentSpec

COMMANDS = [
    "version", "check", "init", "up", "down", "pull", "deploy", "ls", "status", "logs", "predict",
    "start", "stop", "restart", "rm", "top", "bench", "models", "export", "cost",
]  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["ls"],
        ["ls", "--json"],
        ["status", "minilm"],
        ["logs", "minilm"],
        ["logs", "minilm", "-f"],
        ["predict", "minilm", "I love this"],
        ["start", "minilm"],
        ["stop", "minilm"],
        ["restart", "minilm"],
        ["rm", "minilm"],
        ["models"],
        ["models", "--rm", "owner/name"],
        ["pull", "owner/name"],
        ["deploy", "sentence-transformers/all-MiniLM-L6-v2"],
        ["deploy", "owner/name", "--detach"],
        ["top", "--once"],
        ["bench", "minilm", "-n", "2"],
    ],
    ids=" ".join,
)
def test_no_control_plane_says_how_to_start_one(runner: CliRunner, closed_url: str, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 6, result.output
    assert (
        result.stderr
        == f"error: no berth control plane answers at {closed_url}; start one with `berth up -d`\n"
    )
    assert result.stdout == ""


def test_an_invalid_name_fails_before_any_request(runner: CliRunner) -> None:
    result = runner.invoke(app, ["deploy", "gpt2", "--name", "Bad_Name"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: spec.name: 'Bad_Name' is not a valid name")
    assert NAME_RULE in result.stderr


def test_init_writes_env_and_spec_and_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "sentence-transformers/all-MiniLM-L6-v2"])
    assert result.exit_code == 0, result.output
    spec = DeploymentSpec.model_validate(yaml.safe_load((tmp_path / "berth.yaml").read_text()))
    assert (spec.name, spec.model.source) == ("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")
    env = (tmp_path / ".env").read_text()
    for field in Settings.model_fields:
        assert f"# BERTH_{field.upper()}=" in env
    assert all(line.startswith("#") for line in env.splitlines() if line)  # every setting is opt-in
    assert "# BERTH_PORT=8000" in env

    again = runner.invoke(app, ["init", "gpt2"])
    assert again.exit_code == 4
    assert "pass --force to overwrite" in again.stderr
    assert "all-minilm-l6-v2" in (tmp_path / "berth.yaml").read_text()  # untouched

    forced = runner.invoke(app, ["init", "gpt2", "--name", "writer", "--force"])
    assert forced.exit_code == 0
    assert yaml.safe_load((tmp_path / "berth.yaml").read_text())["name"] == "writer"


def test_check_json_shape(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "--json"])
    checks = json.loads(result.stdout)
    assert checks
    for check in checks:
        assert set(check) == {"name", "status", "detail", "hint"}
        assert check["status"] in {"pass", "warn", "fail", "skip"}
    names = [check["name"] for check in checks]
    assert {"python", "berth_home"} <= set(names)
    assert len(names) == len(set(names))
    assert result.exit_code == (1 if any(c["status"] == "fail" for c in checks) else 0)


def test_check_prints_a_line_per_check(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check"])
    assert "python" in result.stdout
    assert "checks" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(runner: CliRunner, command: str) -> None:
    if command in ("export", "cost") and importlib.util.find_spec("berth.cli.exports") is None:
        pytest.skip("berth.cli.exports is not written yet")
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "0.1.0"


def test_down_without_a_control_plane(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 0
    assert "no control plane" in result.stdout
