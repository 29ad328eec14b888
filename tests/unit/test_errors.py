from __future__ import annotations

import subprocess
import sys

import pytest

from berth import errors
from berth.control.launcher import WorkerHandle
from berth.control.supervisor import Replica, _exit_error
from berth.errors import EXIT_ERRORS, BerthError, ModelError, error_for_exit


def all_error_classes() -> list[type[BerthError]]:
    found: list[type[BerthError]] = []
    pending: list[type[BerthError]] = [BerthError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


# What the README promises a user, independent of the map: the exit code of each kind of error.
DOCUMENTED_EXIT_CODES = {
    2: "bad spec or input",
    3: "not found",
    4: "conflict",
    5: "too large",
    6: "unreachable",
    7: "timeout",
}


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.code)
def test_every_error_code_maps_to_an_exit_code_and_back(cls: type[BerthError]) -> None:
    assert cls.exit_code in {1, *DOCUMENTED_EXIT_CODES}
    back = error_for_exit(cls.exit_code)
    assert back.exit_code == cls.exit_code  # the same family of error comes back
    # and the error it comes back as round-trips exactly
    assert error_for_exit(back.exit_code) is back
    assert errors.error_for(back.code, back.status_code, "m").exit_code == cls.exit_code


def test_the_map_covers_every_exit_code_an_error_has_and_only_those() -> None:
    used = {cls.exit_code for cls in all_error_classes()} - {1}
    assert set(EXIT_ERRORS) == used == set(DOCUMENTED_EXIT_CODES)
    for exit_code, cls in EXIT_ERRORS.items():
        assert cls.exit_code == exit_code


def test_an_unknown_or_missing_exit_code_is_a_model_error() -> None:
    assert error_for_exit(None) is ModelError
    assert error_for_exit(1) is ModelError
    assert error_for_exit(99) is ModelError
    assert error_for_exit(-9) is ModelError  # killed by a signal


@pytest.mark.parametrize("exit_code", [1, 2, 3, 4, 5, 6, 7, 42])
def test_the_supervisor_reads_a_real_exit_status_through_the_same_map(exit_code: int) -> None:
    popen = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({exit_code})"])
    popen.wait()
    replica = Replica("m", 0, 8100, WorkerHandle(pid=popen.pid, process_started=0.0, popen=popen))
    error = _exit_error(replica, "it failed")
    assert type(error) is error_for_exit(exit_code)
    assert (error.message, error.exit_code) == ("it failed", 1 if exit_code in (1, 42) else exit_code)


@pytest.mark.parametrize("exit_code", [2, 3, 5])
def test_the_supervisor_reads_a_forked_workers_logged_exit_code_through_the_same_map(exit_code: int) -> None:
    # A worker forked from the template is no child of the control plane: its status is only logged.
    replica = Replica("m", 0, 8100, WorkerHandle(pid=0, process_started=0.0))
    error = _exit_error(replica, None, logged_code=exit_code)
    assert type(error) is error_for_exit(exit_code)
    assert error.exit_code == exit_code
    assert "berth logs m" in error.message
