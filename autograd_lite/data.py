"""Mini-batches for training loops: a small iterator, no framework."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .tensor import Tensor


def _values(a: Any) -> np.ndarray:
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def batches(X: Any, y: Any, batch_size: int, shuffle: bool = True,
            rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X[idx], y[idx])`` for consecutive chunks of ``batch_size`` samples.

    ``X`` ``(N, ...)`` and ``y`` ``(N, ...)`` are arrays or Tensors (yielded as arrays).
    With ``shuffle`` the order is a fresh permutation drawn from ``rng`` at each call:
    pass one seeded Generator for every epoch to get different but repeatable orders.
    The last batch holds the remainder (it may be smaller); every sample appears once.
    """
    X, y = _values(X), _values(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"batches: X of shape {X.shape} and y of shape {y.shape} must have the "
                         f"same number of samples along axis 0")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
    order = None
    if shuffle:
        order = (rng if rng is not None else np.random.default_rng()).permutation(len(X))
    for start in range(0, len(X), batch_size):
        # Unshuffled batches are slices (views); shuffled ones gather a permuted chunk.
        idx = slice(start, start + batch_size) if order is None else \
            order[start:start + batch_size]
        yield X[idx], y[idx]
