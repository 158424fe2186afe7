"""A/B of the eager engine against an older commit, in CPU time, in one process.

Usage (from the repository root)::

    .venv/bin/python benchmarks/ab_cpu.py BASE_COMMIT

The package at ``BASE_COMMIT`` is extracted to a temporary directory and imported as
``ag_base`` beside the working tree's ``autograd_lite``; the two alternate for five
rounds and each figure is the minimum ``time.process_time`` over the rounds, so other
processes on a shared machine disturb it far less than wall-clock medians. Workloads:
W1 (50 x ``(y*0.5+0.1).tanh().exp()`` on a 4-vector, per op, forward and backward
apart), W4-like (20,000 x ``y*0.9999+0.0001`` on a float64, per op) and W2 (the
2-16-16-1 tanh MLP step, per step). The commit messages of issue 13 quote its output.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
Run = Callable[[], tuple[float, float]]  # one timed run: (forward s, backward s)


def _load(name: str, package: Path) -> ModuleType:
    """The package directory ``package`` imported under the name ``name``."""
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)])
    if spec is None or spec.loader is None:
        raise ImportError(f"ab_cpu: cannot import {package}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _w1(ag: Any) -> Run:
    def run() -> tuple[float, float]:
        y = ag.Tensor(np.linspace(0.5, 1.5, 4), requires_grad=True)
        t0 = time.process_time()
        for _ in range(50):
            y = (y * 0.5 + 0.1).tanh().exp()
        t1 = time.process_time()
        y.backward(np.ones(4))
        return t1 - t0, time.process_time() - t1

    return run


def _w4(ag: Any) -> Run:
    def run() -> tuple[float, float]:
        y = ag.Tensor(np.array(1.0), requires_grad=True)
        t0 = time.process_time()
        for _ in range(20_000):
            y = y * 0.9999 + 0.0001
        t1 = time.process_time()
        y.backward()
        return t1 - t0, time.process_time() - t1

    return run


def _w2(ag: Any) -> Run:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    Y = np.sin(X.sum(axis=1, keepdims=True))
    model = ag.nn.MLP([2, 16, 16, 1], activation="tanh", rng=rng)
    opt = ag.optim.SGD(model.parameters(), lr=0.01)
    inputs = ag.tensor(X)

    def run() -> tuple[float, float]:  # the whole step counts as "forward"
        t0 = time.process_time()
        for _ in range(20):
            opt.zero_grad()
            ag.F.mse_loss(model(inputs), Y).backward()
            opt.step()
        return time.process_time() - t0, 0.0

    return run


# (label, workload, units per run, runs per round)
WORKLOADS = (("W1 us/op", _w1, 200, 400), ("W4 us/op", _w4, 40_000, 6),
             ("W2 us/step", _w2, 20, 30))


def compare(engines: dict[str, Any]) -> list[str]:
    """One line per workload and engine: min forward, backward and total per unit."""
    lines = []
    for label, make, units, runs in WORKLOADS:
        best = {name: [float("inf"), float("inf")] for name in engines}
        for _ in range(ROUNDS):
            for name, ag in engines.items():
                run = make(ag)
                for _ in range(runs):
                    fwd, bwd = run()
                    best[name][0] = min(best[name][0], fwd)
                    best[name][1] = min(best[name][1], bwd)
        for name, (fwd, bwd) in best.items():
            scale = 1e6 / units
            lines.append(f"{label} {name}: forward {fwd * scale:.2f}, backward "
                         f"{bwd * scale:.2f}, total {(fwd + bwd) * scale:.2f}")
    return lines


def main(argv: list[str]) -> int:
    """Extract ``argv[0]``'s package and print the comparison."""
    if len(argv) != 1:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", argv[0], "autograd_lite"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        sys.path.insert(0, str(ROOT))
        engines = {"base": _load("ag_base", Path(tmp) / "autograd_lite"),
                   "this": importlib.import_module("autograd_lite")}
        print("\n".join(compare(engines)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
