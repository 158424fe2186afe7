"""Transform workloads for ``make bench`` (issue 9).

- W7: gradient checkpointing. A chain of 2,000 ops (1,000 statements
  ``x = tanh(x * 0.999)``) on a (1000,) float64 vector, forward + backward, with every
  segment of 50 ops wrapped in ``checkpoint``: timed per candidate, and, below the table,
  the peak memory traced by ``tracemalloc`` of the plain and of the checkpointed run
  (autograd_lite) and their ratio. The target is a checkpointed peak under a third of
  the plain one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd_lite as ag
from benchmarks.engine_workloads import SEED, _traced_bytes, _when, torch
from benchmarks.harness import ENGINE, HIPS, NUMPY, TORCH, Workload

W7_SIZE = 1000
W7_STATEMENTS = 1000  # two ops each: mul, tanh
W7_OPS = 2 * W7_STATEMENTS
W7_SEGMENT_OPS = 50
W7_SEGMENTS = W7_OPS // W7_SEGMENT_OPS


def _segment(x: Any, tanh: Callable) -> Any:
    """One checkpointed segment: 25 statements, 50 ops."""
    for _ in range(W7_SEGMENT_OPS // 2):
        x = tanh(x * 0.999)
    return x


def _w7_plain(x: ag.Tensor) -> ag.Tensor:
    for _ in range(W7_SEGMENTS):
        x = _segment(x, ag.Tensor.tanh)
    return x


def _w7_checkpointed(x: ag.Tensor) -> ag.Tensor:
    for _ in range(W7_SEGMENTS):
        x = ag.checkpoint(_segment, x, ag.Tensor.tanh)
    return x


def _w7_engine(x0: np.ndarray) -> Callable[[], tuple]:
    x = ag.tensor(x0, requires_grad=True)
    seed = np.ones_like(x0)

    def run() -> tuple:
        x.grad = None
        y = _w7_checkpointed(x)
        y.backward(seed)
        return y.data, x.grad.data

    return run


def _w7_numpy(x0: np.ndarray) -> Callable[[], tuple]:
    """The plain chain by hand: keep every tanh output, then multiply the derivatives."""

    def run() -> tuple:
        saved = []
        x = x0
        for _ in range(W7_STATEMENTS):
            x = np.tanh(x * 0.999)
            saved.append(x)
        g = np.ones_like(x0)
        for t in reversed(saved):
            g = g * (1 - t * t) * 0.999
        return x, g

    return run


def _w7_torch(x0: np.ndarray) -> Callable[[], tuple]:
    from torch.utils.checkpoint import checkpoint

    x = torch.tensor(x0, requires_grad=True)
    seed = torch.ones_like(x)

    def run() -> tuple:
        x.grad = None
        y = x
        for _ in range(W7_SEGMENTS):
            y = checkpoint(_segment, y, torch.tanh, use_reentrant=False)
        y.backward(seed)
        return y.detach().numpy(), x.grad.numpy()

    return run


def _w7_metrics(x0: np.ndarray) -> Callable[[], dict[str, str]]:
    def metrics() -> dict[str, str]:
        seed = np.ones_like(x0)
        peaks = {}
        for label, chain in (("plain", _w7_plain), ("checkpointed", _w7_checkpointed)):
            x = ag.tensor(x0, requires_grad=True)
            peaks[label] = _traced_bytes(lambda chain=chain, x=x: chain(x),
                                         lambda y: y.backward(seed))["peak"]
        ratio = peaks["checkpointed"] / peaks["plain"]
        return {"traced peak memory": (
            f"plain {peaks['plain'] / 1e6:,.2f} MB, checkpointed every {W7_SEGMENT_OPS} ops "
            f"{peaks['checkpointed'] / 1e6:,.2f} MB: ratio {ratio:.3f} (target < 0.333)")}

    return metrics


def w7() -> Workload:
    """2,000 ops on a (1000,) vector, checkpointed in segments of 50, forward + backward."""
    x0 = np.random.default_rng(SEED).uniform(-1, 1, W7_SIZE)
    return Workload(
        id="W7",
        title="checkpoint: 2,000-op tanh chain on (1000,), segments of 50, fwd + bwd",
        unit="ms",
        candidates={
            ENGINE: _w7_engine(x0),
            NUMPY: _w7_numpy(x0),
            TORCH: _when(torch, lambda: _w7_torch(x0)),
            HIPS: None,
        },
        metrics=_w7_metrics(x0),
        note="autograd_lite and PyTorch recompute each segment in backward; NumPy by hand "
             "keeps every intermediate. Memory is traced in a separate pass with gc off "
             "(PyTorch's C++ allocations are invisible to tracemalloc); HIPS autograd is "
             "not compared.",
    )


WORKLOADS = [w7()]
