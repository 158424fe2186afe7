"""Execute every notebook in ``notebooks/`` top to bottom; any cell error fails the test.

The notebooks assert their key facts in cells, so a broken engine fails them. They run
in a ``python3`` kernel; jupyter_client starts a kernelspec whose command is ``python``
with the interpreter running these tests, so the notebooks see this environment.

Notebooks are stored executed (``make notebooks``), so a reader on a code host sees their
outputs; a stored notebook must have been run top to bottom in one go, and what its cells
print must still be what the code prints.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
from execute_notebooks import NOTEBOOK_DIR, execute  # noqa: E402

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# Stored with their outputs (see the module doc).
STORED_EXECUTED = {"01_backprop_by_hand", "02_gradient_checking", "03_computation_graphs",
                   "04_digits_ocr"}


def code_cells(nb: nbformat.NotebookNode) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def printed(nb: nbformat.NotebookNode) -> list[str]:
    """What each code cell printed, numbers masked: the last digits of a float depend on
    the BLAS build, while the lines and their words must match the code exactly."""
    return [re.sub(r"[-+]?\d[\d.e+-]*", "#", "".join(
        out.get("text", "") for out in cell.outputs if out.output_type == "stream"))
        for cell in code_cells(nb)]


def test_notebooks_exist() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    assert STORED_EXECUTED.issubset(p.stem for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_its_stored_outputs_are_current(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)
    counts = [cell.execution_count for cell in code_cells(stored)]
    if path.stem in STORED_EXECUTED or any(counts):
        assert counts == list(range(1, len(counts) + 1)), (
            f"{path.name} is not stored as one top-to-bottom run: run make notebooks")
        assert not any(out.output_type == "error" for cell in code_cells(stored)
                       for out in cell.outputs), f"{path.name} is stored with an error"
    nb = nbformat.read(path, as_version=4)
    # first cell: record which interpreter the kernel runs, to check it is ours
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    execute(nb)  # raises CellExecutionError on the first failing cell
    kernel_python = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve(), (
        f"kernel ran {kernel_python}, tests run {sys.executable}"
    )
    if any(counts):
        nb.cells.pop(0)
        assert printed(nb) == printed(stored), (
            f"{path.name}: the stored outputs are stale; run make notebooks")
