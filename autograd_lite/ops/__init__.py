"""Every differentiable primitive, by family, and ``TABLE``: the op table made of the
families' ``ENTRIES``. Tensor's methods, the ``ag.*`` functions, the NumPy dispatch, the
graph command's allow-list and docs/API.md are derived from it (``ops/codegen.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import arithmetic, elementwise, reductions, shape
from .arithmetic import maximum, minimum, where
from .elementwise import exp, log, relu, sigmoid, sqrt, tanh
from .shape import concatenate, stack

# The op families whose ENTRIES make up the op table (see ops/table.py).
FAMILIES = (arithmetic, elementwise, reductions, shape)
TABLE = tuple(entry for family in FAMILIES for entry in getattr(family, "ENTRIES", ()))

__all__ = [
    "arithmetic", "elementwise", "reductions", "shape",
    "maximum", "minimum", "where", "exp", "log", "relu", "sigmoid", "sqrt", "tanh",
    "concatenate", "stack", "zeros", "ones", "randn",
]


def _shape_of(shape: Any) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def zeros(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape_of(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Tensor(np.ones(_shape_of(shape), dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, rng: np.random.Generator | None = None, dtype: Any = np.float64,
          requires_grad: bool = False) -> Tensor:
    """Standard-normal samples of ``shape`` from ``rng`` (a seeded Generator for repeatability)."""
    rng = rng if rng is not None else np.random.default_rng()
    return Tensor(rng.standard_normal(_shape_of(shape)).astype(dtype, copy=False),
                  requires_grad=requires_grad)
