"""Every differentiable primitive, by family, and ``TABLE``: the op table made of the
families' ``ENTRIES``. Tensor's methods, the ``ag.*`` functions, the NumPy dispatch, the
graph command's allow-list and docs/API.md are derived from it (``ops/codegen.py``)."""

from __future__ import annotations

# tensor.py imports the op modules at its end (its generated methods delegate to them), so
# it must be loaded before any op module: then every op module sees a complete Tensor.
from .. import tensor as _tensor  # noqa: F401
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
