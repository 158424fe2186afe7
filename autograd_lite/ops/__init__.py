"""Every differentiable primitive, by family. Importing this package installs the
Tensor methods and operators next to their VJPs."""

from __future__ import annotations

from . import (
    arithmetic,
    binary,
    contractions,
    creation,
    elementwise,
    joining,
    layout,
    linalg,
    reductions,
    shape,
    statistics,
    unary,
)
from .arithmetic import maximum, minimum, where
from .creation import ones, randn, zeros
from .elementwise import exp, log, relu, sigmoid, sqrt, tanh
from .shape import concatenate, stack

# The op families whose ENTRIES make up the op table (see ops/table.py).
FAMILIES = (arithmetic, elementwise, reductions, shape, unary, binary, statistics, creation,
            joining, contractions, layout, linalg)
TABLE = tuple(entry for family in FAMILIES for entry in getattr(family, "ENTRIES", ()))

__all__ = [
    "arithmetic", "elementwise", "reductions", "shape", "unary", "binary", "statistics",
    "creation", "joining", "contractions", "layout", "linalg",
    "maximum", "minimum", "where", "exp", "log", "relu", "sigmoid", "sqrt", "tanh",
    "concatenate", "stack", "zeros", "ones", "randn",
]
