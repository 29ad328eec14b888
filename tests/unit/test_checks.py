"""`berth check` on this very host, with PATH, settings and free memory bent where a case needs it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth import checks, system
from berth.checks import Check, exit_code, run_checks, tool_output
from berth.settings import get_settings
from berth.spec import DeploymentSpec

NAMES = [
    *("python", "berth_home", "torch", "cuda", "gpu", "nvidia_container_runtime"),
    *("runtime", "model", "memory", "disk_berth_home", "disk_hf_cache"),
    *("docker", "docker_compose", "kubectl", "export_tools", "port", "worker_ports"),
]
FAKE_TOOLS = {
    "docker": 'case "$1" in --version) echo "Docker version 27.1.1, build 6312585";; '
    'info) echo "27.1.1";; compose) echo "2.29.1";; *) exit 1;; esac',
    "kubectl": 'echo "Client Version: v1.31.0"',
}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings from this test's environment only (no stray .env), re-read by each test."""
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def by_name(found: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in found}


def spec(source: Path | str, **fields: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "minilm", "model": {"source": str(source)}, **fields})


def fake_path(monkeypatch: pytest.MonkeyPatch, folder: Path, tools: dict[str, str]) -> None:
    """PATH holding only these shell-script tools (and `sh` to run them)."""
    folder.mkdir()
    for name, script in tools.items():
        (folder / name).write_text(f"#!{shutil.which('sh')}\n{script}\n")
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_this_host_gives_every_check_in_a_fixed_order(tmp_path: Path) -> None:
    found = run_checks(home=tmp_path / "home")
    assert [check.name for check in found] == NAMES
    checks_ = by_name(found)
    assert checks_["python"].status == "pass"
    assert checks_["torch"].status == "pass"
    assert checks_["torch"].detail == f"torch {system.package_version('torch')}"
    assert checks_["berth_home"].status == "pass"
    assert "will be created" in checks_["berth_home"].detail
    assert (checks_["model"].status, checks_["export_tools"].status) == ("skip", "skip")
    assert all(check.hint for check in found if check.status in ("warn", "fail"))
    assert exit_code(found) == (1 if any(check.status == "fail" for check in found) else 0)


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")
def test_without_a_gpu_cuda_is_skipped_not_failed(tmp_path: Path) -> None:
    checks_ = by_name(run_checks(home=tmp_path))
    assert checks_["cuda"].status == "skip"
    assert "models run on CPU" in checks_["cuda"].detail
    assert checks_["gpu"].status == "skip"
    assert checks_["nvidia_container_runtime"].status == "skip"


def test_a_fitting_model_passes(tmp_path: Path, minilm_path: Path) -> None:
    found = run_checks(home=tmp_path, spec=spec(minilm_path))
    assert [check.name for check in found] == NAMES
    checks_ = by_name(found)
    assert checks_["runtime"].detail == "minilm runs on the sentence-transformers runtime"
    assert (checks_["model"].status, checks_["memory"].status) == ("pass", "pass")
    assert "the model needs 0.09 GB in float32" in checks_["memory"].detail
    assert checks_["disk_hf_cache"].status == "pass"  # a local folder downloads nothing


def test_a_model_too_large_for_free_ram_fails_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm_path: Path
) -> None:
    from berth.sources import host

    monkeypatch.setattr(host, "free_memory", lambda device: 50_000_000)  # 50 MB free, the model needs 91
    found = run_checks(home=tmp_path, spec=spec(minilm_path))
    memory = by_name(found)["memory"]
    assert memory.status == "fail"
    assert memory.detail == "0.1 GB of RAM available; the model needs 0.09 GB in float32"
    assert memory.hint == "free some memory, or pick dtype float16 or a smaller model"
    assert by_name(found)["model"].status == "pass"  # within the spec's limits, just not this host's RAM
    assert exit_code(found) == 1


def test_a_model_over_the_spec_limits_fails_with_preflight_reasons(tmp_path: Path, minilm_path: Path) -> None:
    model = by_name(run_checks(home=tmp_path, spec=spec(minilm_path, limits={"max_memory_gb": 0.05})))[
        "model"
    ]
    assert model.status == "fail"
    assert "over limits.max_memory_gb (0.05 GB)" in model.detail


def test_a_missing_model_folder_is_one_failed_check(tmp_path: Path) -> None:
    found = run_checks(home=tmp_path, spec=spec(tmp_path / "nowhere"))
    assert [check.name for check in found] == NAMES
    checks_ = by_name(found)
    assert checks_["model"].status == "fail"
    assert "does not exist" in checks_["model"].detail
    assert (checks_["runtime"].status, checks_["memory"].status) == ("skip", "skip")


def test_a_missing_runtime_package_fails_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm_path: Path
) -> None:
    needs = ("torch", "no-such-distribution-berth")
    monkeypatch.setitem(system.RUNTIME_REQUIREMENTS, "sentence-transformers", needs)
    runtime = by_name(run_checks(home=tmp_path, spec=spec(minilm_path)))["runtime"]
    assert runtime.status == "fail"
    assert runtime.detail.endswith("which lacks no-such-distribution-berth")
    assert runtime.hint == "pip install 'modelberth[sentence-transformers]'"


def test_without_torch_is_a_warning_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = system.package_version
    monkeypatch.setattr(system, "package_version", lambda name: None if name == "torch" else real(name))
    torch = by_name(run_checks(home=tmp_path))["torch"]
    assert (torch.status, torch.detail) == ("warn", "torch is not installed")
    assert torch.hint is not None
    assert "pip install 'modelberth[transformers]'" in torch.hint


def test_an_unwritable_home_fails(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    home = by_name(run_checks(home=tmp_path / "file" / "home"))["berth_home"]
    assert home.status == "fail"
    assert home.hint == "set BERTH_HOME to a folder you can write to"


def test_missing_export_tools_skip_unless_exporting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_path(monkeypatch, tmp_path / "bin", {})
    checks_ = by_name(run_checks(home=tmp_path))
    assert [checks_[n].status for n in ("docker", "docker_compose", "kubectl", "export_tools")] == [
        "skip"
    ] * 4
    found = run_checks(home=tmp_path, exporting=True)
    checks_ = by_name(found)
    assert [checks_[n].status for n in ("docker", "docker_compose", "kubectl")] == ["warn"] * 3
    assert checks_["export_tools"].status == "fail"
    assert checks_["export_tools"].hint == "install Docker with Compose v2, or kubectl, to run an export"
    assert exit_code(found) == 1


def test_export_tools_found_report_their_versions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_path(monkeypatch, tmp_path / "bin", FAKE_TOOLS)
    checks_ = by_name(run_checks(home=tmp_path, exporting=True))
    assert checks_["docker"].detail == "Docker version 27.1.1, build 6312585"
    assert checks_["docker_compose"].detail == "2.29.1"
    assert checks_["kubectl"].detail == "Client Version: v1.31.0"
    assert [checks_[n].status for n in ("docker", "docker_compose", "kubectl", "export_tools")] == [
        "pass"
    ] * 4


def test_a_hung_or_failing_tool_counts_as_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_path(monkeypatch, tmp_path / "bin", {"hangs": "sleep 30", "fails": "echo oops; exit 3"})
    monkeypatch.setattr(checks, "TOOL_TIMEOUT_S", 0.2)
    assert tool_output(["hangs"]) is None
    assert tool_output(["fails"]) is None
    assert tool_output(["absent-tool"]) is None


def test_a_port_held_by_another_program_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        monkeypatch.setenv("BERTH_PORT", str(port))
        monkeypatch.setenv("BERTH_WORKER_PORTS", str(port))
        checks_ = by_name(run_checks(home=tmp_path))
    assert checks_["port"].status == "fail"
    assert checks_["port"].detail.startswith(f"127.0.0.1:{port} is in use")
    assert checks_["port"].hint == "stop that process, or set BERTH_PORT to a free port"
    assert checks_["worker_ports"].status == "fail"
    assert checks_["worker_ports"].detail == f"0 of 1 worker ports free ({port}-{port})"


def test_a_port_held_by_berth_itself_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    serve = (
        "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "print(s.getsockname()[1], flush=True); time.sleep(30)"
    )
    # Its command line ends in `berth up`, as the control plane's does.
    command = [sys.executable, "-c", serve, "berth", "up"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:  # closes the pipe, reaps
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            monkeypatch.setenv("BERTH_PORT", str(port))
            port_check = by_name(run_checks(home=tmp_path))["port"]
        finally:
            process.kill()
    assert port_check.status == "pass"
    assert port_check.detail == f"berth's control plane (pid {process.pid}) listens there"


def test_bad_settings_fail_the_port_checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BERTH_PORT", "not-a-port")
    checks_ = by_name(run_checks(home=tmp_path))
    assert checks_["port"].status == "fail"
    assert checks_["port"].detail.startswith("invalid setting: BERTH_PORT")
    assert checks_["worker_ports"].status == "fail"


def test_exit_code_is_one_only_for_a_failure() -> None:
    assert (
        exit_code([Check(name="a", status="pass", detail=""), Check(name="b", status="warn", detail="")]) == 0
    )
    assert (
        exit_code([Check(name="a", status="skip", detail=""), Check(name="b", status="fail", detail="")]) == 1
    )


def test_checking_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from berth.checks import run_checks; "
        f"run_checks(home=Path({str(tmp_path)!r})); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
