"""``make bench``: time every workload's candidates in one run and print a Markdown table.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run.py [--only W1,W4] [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from benchmarks.harness import Result, Workload

# Run as a script, Python puts benchmarks/ (not the repository root) on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORKLOAD_MODULES = ("benchmarks.engine_workloads", "benchmarks.nn_workloads",
                    "benchmarks.transform_workloads")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BUDGET_S = 0.75  # timing budget per candidate; --quick uses QUICK_BUDGET_S
QUICK_BUDGET_S = 0.1
QUICK_MIN_SAMPLES = 3


def limit_threads(threads: int) -> None:
    """Cap the worker threads of OpenBLAS, MKL and OpenMP (PyTorch) at ``threads``.

    Must run before NumPy or PyTorch is imported: the libraries read these variables
    once, when they load. 0 leaves the libraries' own defaults.
    """
    if threads > 0:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)


def discover() -> list[Workload]:
    """``WORKLOADS`` of every workload module that exists, in a stable order."""
    found: list[Workload] = []
    for name in WORKLOAD_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        found += importlib.import_module(name).WORKLOADS
    return found


def select(workloads: list[Workload], only: str | None) -> list[Workload]:
    """The workloads named in ``only`` (comma-separated ids, or id prefixes like "W3")."""
    if not only:
        return workloads
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [w for w in workloads
              if any(w.id == key or w.id.startswith(key + "-") for key in wanted)]
    if not chosen:
        known = ", ".join(w.id for w in workloads)
        raise SystemExit(f"--only {only}: no such workload (known: {known})")
    return chosen


def environment(threads: int) -> str:
    """Versions, cores and thread settings the numbers were measured with."""
    import numpy as np

    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    for dist in ("torch", "autograd", "jax"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} not installed")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts.append(f"{cores} cores available ({os.cpu_count()} in the machine)")
    parts.append(f"library threads: {threads if threads > 0 else 'library defaults'}")
    if "OPENBLAS_CORETYPE" in os.environ:
        parts.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure the selected workloads, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload ids, e.g. W1,W4")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_BUDGET_S} s per candidate and at least "
                             f"{QUICK_MIN_SAMPLES} samples (rough numbers)")
    parser.add_argument("--threads", type=int, default=1,
                        help="worker threads for BLAS and PyTorch (default 1; 0 = library "
                             "defaults, which on a busy small machine oversubscribe the cores)")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    # Imported only now, after limit_threads: they load NumPy (and PyTorch).
    from benchmarks.harness import markdown_table, measure, metrics_report

    workloads = select(discover(), args.only)
    # Move everything imported and set up so far (PyTorch alone is ~300,000 objects) out
    # of the collector's reach: otherwise every full collection a candidate triggers
    # would walk them, billing it for the other frameworks being loaded.
    gc.collect()
    gc.freeze()
    budget = QUICK_BUDGET_S if args.quick else BUDGET_S
    results: list[Result] = []
    for workload in workloads:
        floor = min(workload.min_samples, QUICK_MIN_SAMPLES) if args.quick else None
        start = time.perf_counter()
        result = measure(workload, budget, floor)
        results.append(result)
        counts = ", ".join(f"{name} {n}" for name, n in result.samples.items())
        print(f"measured {workload.id} in {time.perf_counter() - start:.1f} s "
              f"(samples: {counts})", file=sys.stderr)
    print(markdown_table(results))
    extra = metrics_report(results)
    if extra:
        print("\n" + extra)
    print(f"\nMedians; W1 per op; ratios from this run only. {environment(args.threads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
