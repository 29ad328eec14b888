"""A task's optional package: found without importing it, and its absence a sentence with the pip command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from berth.errors import UnsupportedModel
from berth.sources import extras
from berth.spec import RuntimeName, Task


def test_an_installed_package_or_a_task_without_one_passes() -> None:
    pytest.importorskip("chronos")
    assert extras.missing_package_message(Task.TIME_SERIES_FORECASTING) is None
    assert extras.missing_package_message("time-series-forecasting") is None
    for task in (Task.FILL_MASK, "fill-mask", None):
        extras.require_task_package(task)


def test_a_missing_package_names_the_task_and_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = extras.TaskPackage("berth_no_such_module", "chronos-forecasting", "forecasting")
    monkeypatch.setitem(extras.TASK_PACKAGES, Task.TIME_SERIES_FORECASTING, absent)
    with pytest.raises(UnsupportedModel) as caught:
        extras.require_task_package("time-series-forecasting")
    assert caught.value.message == (
        "time-series-forecasting needs chronos-forecasting, which is not installed: "
        "pip install 'modelberth[forecasting]'"
    )


def test_the_check_and_the_deployer_import_neither_chronos_nor_torch() -> None:
    code = (
        "import sys; from berth.control import deployer; from berth.sources import extras; "
        "extras.require_task_package('time-series-forecasting'); "
        "assert not {'chronos', 'torch'} & set(sys.modules), 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_runtime_whose_package_is_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = extras.TaskPackage("berth_no_such_module", "llama-cpp-python", "llama-cpp")
    monkeypatch.setitem(extras.RUNTIME_PACKAGES, RuntimeName.LLAMA_CPP, absent)
    with pytest.raises(UnsupportedModel) as caught:
        extras.require_runtime_package("llama-cpp")
    assert caught.value.message == (
        "the llama-cpp runtime needs llama-cpp-python, which is not installed: "
        "pip install 'modelberth[llama-cpp]'"
    )
    for runtime in (RuntimeName.TRANSFORMERS, "onnx", None):
        extras.require_runtime_package(runtime)
