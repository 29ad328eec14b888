"""Tasks and runtimes that need an optional package, and the check that it is installed.

A task served through an optional library (time-series forecasting through chronos-forecasting), or
a runtime that is one (llama-cpp through llama-cpp-python), is refused at `validating` when that
library is missing, with the pip command that installs it, instead of failing in the worker after
the download. The check finds the module without importing it
(`importlib.util.find_spec`), so the control plane never loads chronos or torch; the worker's runtime
makes the same check before its own import, so a worker started alone says the same sentence.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from berth.errors import UnsupportedModel
from berth.spec import RuntimeName, Task


@dataclass(frozen=True)
class TaskPackage:
    module: str  # what the runtime imports
    distribution: str  # what pip installs
    extra: str  # the modelberth extra in pyproject.toml that pulls it in


TASK_PACKAGES: dict[Task, TaskPackage] = {
    Task.TIME_SERIES_FORECASTING: TaskPackage("chronos", "chronos-forecasting", "forecasting"),
}
RUNTIME_PACKAGES: dict[RuntimeName, TaskPackage] = {
    RuntimeName.LLAMA_CPP: TaskPackage("llama_cpp", "llama-cpp-python", "llama-cpp"),
}


def missing_package_message(task: Task | str | None) -> str | None:
    """Why `task` cannot be served here, naming the pip command; None when nothing is missing.

    >>> print(missing_package_message(Task.TIME_SERIES_FORECASTING))   # without chronos-forecasting
    time-series-forecasting needs chronos-forecasting, which is not installed: pip install ...
    """
    if task is None or task not in TASK_PACKAGES:
        return None
    return _missing(str(Task(task)), TASK_PACKAGES[Task(task)])


def missing_runtime_message(runtime: RuntimeName | str | None) -> str | None:
    """Why `runtime` cannot serve here, naming the pip command; None when nothing is missing.

    >>> print(missing_runtime_message(RuntimeName.LLAMA_CPP))   # without llama-cpp-python
    the llama-cpp runtime needs llama-cpp-python, which is not installed: pip install ...
    """
    if runtime is None or runtime not in RUNTIME_PACKAGES:
        return None
    return _missing(f"the {RuntimeName(runtime)} runtime", RUNTIME_PACKAGES[RuntimeName(runtime)])


def require_runtime_package(runtime: RuntimeName | str | None) -> None:
    """Raise `UnsupportedModel` naming the pip command when `runtime`'s package is not installed."""
    message = missing_runtime_message(runtime)
    if message is not None:
        raise UnsupportedModel(message)


def _missing(what: str, package: TaskPackage) -> str | None:
    if importlib.util.find_spec(package.module) is not None:
        return None
    install = f"pip install 'modelberth[{package.extra}]'"
    return f"{what} needs {package.distribution}, which is not installed: {install}"


def require_task_package(task: Task | str | None) -> None:
    """Raise `UnsupportedModel` naming the pip command when `task`'s package is not installed."""
    message = missing_package_message(task)
    if message is not None:
        raise UnsupportedModel(message)
