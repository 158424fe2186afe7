"""Binary elementwise functions: arctan2, hypot, mod (``%``), fmod, and floor_divide
(``//``, not recorded). They broadcast like NumPy; the engine sums each gradient back
to its input's shape.

Gradients follow PyTorch: for ``mod`` (PyTorch's ``remainder``) grad_a = g and
grad_b = -g * floor(a / b); for ``fmod`` grad_b = -g * trunc(a / b). The quotients are
piecewise constant, so taking them as constants loses no derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Op, primitive
from ..tensor import Tensor
from ._support import binary_method, call, pair, reflected_method, unrecorded
from .arithmetic import where_op
from .table import Entry, Lit, Sample


def _binary(name: str, forward: Callable, rule: str, saves: tuple = (0, 1),
            needs_out: bool = False) -> Callable[[Callable], Op]:
    """Decorator: the broadcasting primitive ``name`` computing ``forward(a, b)``, whose
    VJP is the decorated function; a shape mismatch names ``name`` and both shapes."""

    def checked(a: Any, b: Any) -> np.ndarray:
        try:
            return forward(a, b)
        except ValueError:
            raise _broadcast_error(name, a, b) from None

    def define(vjp: Callable) -> Op:
        op = primitive(name, saves=saves, needs_out=needs_out, kind="elementwise",
                       rule=f"{name}: {rule}")(checked)
        op.defvjp(vjp)
        return op

    return define


def _broadcast_error(name: str, a: Any, b: Any) -> ValueError:
    return ValueError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast "
                      f"together")


def _value(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


@_binary("arctan2", np.arctan2,
         "grad_a = grad_out * b / (a**2 + b**2), grad_b = -grad_out * a / (a**2 + b**2)")
def arctan2_op(g, out, a, b):
    # At a = b = 0 the gradient is 0, as PyTorch's, not 0 / 0 = NaN: divide by 1 there
    # and zero the scale (no inf enters a graph that create_graph differentiates again).
    sq = a * a + b * b
    nonzero = _value(sq) != 0
    scale = call(where_op, g / call(where_op, sq, 1.0, cond=nonzero), 0.0, cond=nonzero)
    return scale * b, -scale * a


@_binary("hypot", np.hypot, "grad_a = grad_out * a / out, grad_b = grad_out * b / out",
         needs_out=True)
def hypot_op(g, out, a, b):
    scale = g / out
    return scale * a, scale * b


@_binary("mod", np.mod, "grad_a = grad_out, grad_b = -grad_out * floor(a / b)")
def mod_op(g, out, a, b):
    return g, -g * np.floor_divide(_value(a), _value(b))


@_binary("fmod", np.fmod, "grad_a = grad_out, grad_b = -grad_out * trunc(a / b)")
def fmod_op(g, out, a, b):
    return g, -g * np.trunc(np.true_divide(_value(a), _value(b)))


# ---- public functions: NumPy's signatures, any array-like ---------------------------


def arctan2(x1: Any, x2: Any) -> Tensor:
    """Elementwise angle of the point (x2, x1) in (-pi, pi]; shapes broadcast."""
    return arctan2_op(*pair(x1, x2))


def hypot(x1: Any, x2: Any) -> Tensor:
    """Elementwise sqrt(x1**2 + x2**2) without overflow; shapes broadcast."""
    return hypot_op(*pair(x1, x2))


def mod(x1: Any, x2: Any) -> Tensor:
    """Elementwise remainder with the sign of ``x2`` (Python's ``%``, NumPy's ``mod``,
    PyTorch's ``remainder``); shapes broadcast."""
    return mod_op(*pair(x1, x2))


def fmod(x1: Any, x2: Any) -> Tensor:
    """Elementwise remainder with the sign of ``x1`` (C's fmod); shapes broadcast."""
    return fmod_op(*pair(x1, x2))


def floor_divide(x1: Any, x2: Any) -> Tensor:
    """Elementwise floor(x1 / x2), not recorded (it has no gradient); shapes broadcast."""
    a, b = (_value(x) for x in pair(x1, x2))
    try:
        return unrecorded(np.floor_divide, a, b)
    except ValueError:
        raise _broadcast_error("floor_divide", a, b) from None


def _floordiv_method(self: Tensor, other: Any) -> Tensor:
    """``self // other``: floor division, not recorded (no gradient)."""
    return floor_divide(self, other)


def _rfloordiv_method(self: Tensor, other: Any) -> Tensor:
    """``other // self``: floor division, not recorded (no gradient)."""
    return floor_divide(other, self)


# ---- the table ---------------------------------------------------------------------

_PAIRS = (((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)))


def _samples(domain: tuple[str, str]) -> tuple[Sample, ...]:
    """Broadcast pairs of shapes, and a Python number as the second operand."""
    return (*(Sample(shapes, domain=domain) for shapes in _PAIRS),
            Sample(((3, 4), Lit(1.5)), domain=domain[0]))


_DIVISION = ("real", "away")
mod_method = binary_method(mod_op, "``self % other`` (the sign of other, as Python).")
rmod_method = reflected_method(mod_op, "``other % self``.")

ENTRIES = [
    Entry("arctan2", arctan2, methods=("arctan2", "atan2"), numpy=(np.arctan2,),
          torch=lambda T, a, b: T.atan2(a, T.as_tensor(b, dtype=T.float64)),
          samples=_samples(("real", "real"))),
    Entry("hypot", hypot, methods=("hypot",), numpy=(np.hypot,),
          torch=lambda T, a, b: T.hypot(a, T.as_tensor(b, dtype=T.float64)),
          samples=_samples(("real", "real"))),
    Entry("mod", mod, methods=("remainder",), numpy=(np.mod,),
          operators=(("__mod__", mod_method), ("__rmod__", rmod_method)),
          torch=lambda T, a, b: T.remainder(a, b), samples=_samples(_DIVISION)),
    Entry("fmod", fmod, methods=("fmod",), numpy=(np.fmod,),
          torch=lambda T, a, b: T.fmod(a, b), samples=_samples(_DIVISION)),
    Entry("floor_divide", floor_divide, methods=("floor_divide",), numpy=(np.floor_divide,),
          operators=(("__floordiv__", _floordiv_method), ("__rfloordiv__", _rfloordiv_method)),
          torch=lambda T, a, b: T.floor_divide(a, b), samples=_samples(_DIVISION),
          differentiable=False),
]
