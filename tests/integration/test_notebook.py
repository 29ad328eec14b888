"""examples/quickstart.ipynb runs headless, top to bottom, against a real control plane."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from berth.client import Client
from tests.integration.conftest import REPO, ControlPlaneProcess

pytestmark = pytest.mark.slow

NOTEBOOK = REPO / "examples" / "quickstart.ipynb"


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A `python3` kernelspec that runs this interpreter (the venv's), found before any other."""
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "berth test kernel",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns without it


def test_the_notebook_has_no_stored_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert notebook.metadata.kernelspec.name == "python3"


def test_quickstart_runs_headless(
    control_plane: ControlPlaneProcess,
    minilm_path: Path,
    kernel_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for key, value in control_plane.env.items():
        if key.startswith(("BERTH_", "HF_")):
            monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    monkeypatch.setenv("BERTH_QUICKSTART_MODEL", str(minilm_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a cell that raises fails the test with its traceback (CellExecutionError)

    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    assert "python" in text  # the host checks ran
    assert "completed" in text
    assert "quickstart is ready at http://127.0.0.1:" in text
    assert "success" in text
    assert "2 results for 2 inputs" in text
    assert "quickstart is stopped" in text
    assert "left: []" in text
    with Client(control_plane.url) as berth:
        assert berth.deployments() == []
