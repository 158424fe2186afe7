"""Execute every notebook in ``notebooks/`` top to bottom; any cell error fails the test.

The notebooks assert their key facts in cells, so a broken engine fails them. They run
in a ``python3`` kernel; jupyter_client starts a kernelspec whose command is ``python``
with the interpreter running these tests, so the notebooks see this environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_notebooks_exist() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # stored executed for readers; run here from a clean slate
        if cell.cell_type == "code":
            cell.outputs = []
    # first cell: record which interpreter the kernel runs, to check it is ours
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    kernel_python = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve(), (
        f"kernel ran {kernel_python}, tests run {sys.executable}"
    )
