"""Execute notebooks top to bottom and store them with their outputs, so that a reader
who opens them on a code host sees every printed number and figure.

Run from the repository root (``make notebooks`` does): ``python docs/execute_notebooks.py
notebooks/02_gradient_checking.ipynb ...``. ``tests/test_notebooks.py`` runs the same
:func:`execute` and checks that the stored outputs still match the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def execute(nb: nbformat.NotebookNode, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in place in a fresh ``python3`` kernel started in
    ``notebooks/``; raises nbclient's CellExecutionError on the first failing cell.
    Cell timings are not recorded: they would change the stored file on every run."""
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     record_timing=False,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()
    return nb


def main(paths: list[str]) -> int:
    """Execute and rewrite each notebook in ``paths``; returns the exit status."""
    if not paths:
        print("usage: python docs/execute_notebooks.py NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(execute(nb), path)
        print(f"executed and stored {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
