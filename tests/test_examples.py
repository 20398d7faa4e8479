"""The example notebooks run from top to bottom, in a real Jupyter kernel, so they cannot rot.

The kernel is also where the sweep's worker processes must start safely (no fork of a
multi-threaded parent), and where figures must show with the notebook's own backend.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ipynb")), ids=lambda p: p.name)
def test_example_notebook_runs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": EXAMPLES}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on an error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook's figures did not show"
    warnings = [o.text for o in outputs if o.get("name") == "stderr" and "Warning" in o.text]
    assert not warnings, warnings


def test_there_is_an_example_notebook() -> None:
    assert list(EXAMPLES.glob("*.ipynb"))
