"""`scripts/system-deps.sh`: installs nginx and chromium where it can, else stops with one clear line.

Run against a fake machine: PATH holds only stand-ins for `id`, `sudo` and `apt-get`, and the places
the script looks for the programs point into a temporary folder, so nothing real is installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import tests.conftest
from tests.conftest import BROWSER_TESTS, NGINX_TESTS, REPO, SystemTests, missing_packages_line, require

SCRIPT = REPO / "scripts" / "system-deps.sh"
BASH = "/bin/bash"


class FakeMachine:
    def __init__(self, root: Path, *, uid: int, sudo: bool, apt_works: bool = True) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.nginx = root / "sbin" / "nginx"
        self.chromium = root / "usr-bin" / "chromium"
        self.calls = root / "calls.log"
        self._tool("id", f"echo {uid}")
        (self.bin / "env").symlink_to("/usr/bin/env")
        if sudo:
            self._tool("sudo", f'echo "sudo $*" >> {self.calls}\nexec "$@"')
        installs = (
            f'echo "apt-get $*" >> {self.calls}\n'
            f'for arg; do case "$arg" in\n'
            f"  nginx) /bin/mkdir -p {self.nginx.parent}; : > {self.nginx};;\n"
            f"  chromium) /bin/mkdir -p {self.chromium.parent}; : > {self.chromium};\n"
            f"    /bin/chmod +x {self.chromium};;\n"
            f"esac; done"
        )
        self._tool("apt-get", installs if apt_works else f'echo "apt-get $*" >> {self.calls}\nexit 100')

    def _tool(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(0o755)

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        base = {
            "PATH": str(self.bin),
            "NGINX_PATHS": str(self.nginx),
            "CHROMIUM_PATH": str(self.chromium),
            "HOME": os.environ.get("HOME", "/"),
        }
        return subprocess.run(
            [BASH, str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
        )

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def test_without_root_or_sudo_it_stops_with_the_suites_own_line(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, uid=1000, sudo=False)
    result = machine.run()
    assert result.returncode == 1
    assert result.stderr.strip() == missing_packages_line([NGINX_TESTS, BROWSER_TESTS])
    assert "sudo apt-get install -y nginx chromium" in result.stderr
    assert machine.called() == [], "nothing was attempted"


def test_an_opt_out_is_neither_checked_nor_installed(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, uid=1000, sudo=False)
    result = machine.run(BERTH_TEST_SKIP_BROWSER="1")
    assert result.returncode == 1
    assert result.stderr.strip() == missing_packages_line([NGINX_TESTS])
    assert "BERTH_TEST_SKIP_BROWSER=1 is set" in result.stdout

    both = machine.run(BERTH_TEST_SKIP_BROWSER="1", BERTH_TEST_SKIP_NGINX="1")
    assert both.returncode == 0, both.stderr
    assert machine.called() == []


@pytest.mark.parametrize(("uid", "sudo", "prefix"), [(0, False, ""), (1000, True, "sudo env ")])
def test_as_root_or_with_sudo_it_installs_what_is_missing(
    tmp_path: Path, uid: int, sudo: bool, prefix: str
) -> None:
    machine = FakeMachine(tmp_path, uid=uid, sudo=sudo)
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert machine.nginx.exists()
    assert machine.chromium.exists()
    installs = [call for call in machine.called() if "install" in call]
    assert installs[-1] == "apt-get install -y -qq --no-install-recommends nginx chromium"
    if prefix:
        assert any(
            call.startswith(f"{prefix}DEBIAN_FRONTEND=noninteractive apt-get install") for call in installs
        )

    before = len(machine.called())
    again = machine.run()  # everything present now: nothing to do
    assert again.returncode == 0, again.stderr
    assert len(machine.called()) == before


def test_a_failed_install_stops_with_the_line(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, uid=0, sudo=False, apt_works=False)
    result = machine.run()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == missing_packages_line([NGINX_TESTS, BROWSER_TESTS])


@pytest.mark.parametrize("group", [NGINX_TESTS, BROWSER_TESTS], ids=lambda group: group.marker)
def test_in_the_suite_a_missing_program_fails_and_only_an_opt_out_skips(
    group: SystemTests, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tests.conftest, "NGINX", None)
    monkeypatch.setattr(tests.conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv(group.opt_out, raising=False)
    with pytest.raises(pytest.fail.Exception) as failed:
        require(group)
    assert str(failed.value) == missing_packages_line([group])

    monkeypatch.setenv(group.opt_out, "1")
    with pytest.raises(pytest.skip.Exception, match=f"{group.opt_out}=1"):
        require(group)
