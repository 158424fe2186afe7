"""Binary arithmetic, matmul, comparisons, maximum/minimum/where: forward beside VJP.

VJPs may return gradients in the broadcast shape; the engine sums them back to each
input's shape (``engine.unbroadcast``), so no VJP here mentions broadcasting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import (
    _SCALARS,
    as_tensor,
    binary_method,
    call,
    inplace_method,
    operand,
    reflected_method,
)
from .elementwise import log_op


def _broadcast_error(name: str, a: Any, b: Any) -> ValueError:
    return ValueError(
        f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
    )


def _needs(x: Any) -> bool:
    """False for a Python number operand: it never needs a gradient."""
    return type(x) not in _SCALARS


@primitive("add")
def add(a, b):
    try:
        return a + b
    except ValueError:
        raise _broadcast_error("add", a, b) from None


@add.defvjp
def _add_vjp(g, out, a, b):
    return g, g


@primitive("sub")
def sub(a, b):
    try:
        return a - b
    except ValueError:
        raise _broadcast_error("sub", a, b) from None


@sub.defvjp
def _sub_vjp(g, out, a, b):
    return g, (-g if _needs(b) else None)


@primitive("mul", saves=(0, 1))
def mul(a, b):
    try:
        return a * b
    except ValueError:
        raise _broadcast_error("mul", a, b) from None


@mul.defvjp
def _mul_vjp(g, out, a, b):
    return (g * b if _needs(a) else None), (g * a if _needs(b) else None)


@primitive("div", saves=(1,), needs_out=True)
def div(a, b):
    try:
        return a / b
    except ValueError:
        raise _broadcast_error("div", a, b) from None


@div.defvjp
def _div_vjp(g, out, a, b):
    ga = g / b
    return (ga if _needs(a) else None), (-ga * out if _needs(b) else None)


@primitive("neg")
def neg(a):
    return -a


@neg.defvjp
def _neg_vjp(g, out, a):
    return (-g,)


@primitive("pow", saves=(0,))
def pow_scalar(a, p=2.0):
    return a**p


@pow_scalar.defvjp
def _pow_scalar_vjp(g, out, a, p=2.0):
    if p == 2:  # the common square: one multiply fewer, same value
        return (g * a * 2,)
    if p == 0:  # x**0 is constant; avoid 0 * 0**-1 = NaN at x = 0 (PyTorch gives 0)
        return (g * 0,)
    return (g * p * a ** (p - 1),)


@primitive("pow", saves=(0, 1), needs_out=True)
def power(a, b):
    try:
        with np.errstate(invalid="ignore"):
            return a**b
    except ValueError:
        raise _broadcast_error("pow", a, b) from None


@power.defvjp
def _power_vjp(g, out, a, b):
    av = a.data if isinstance(a, Tensor) else np.asarray(a)
    bv = b.data if isinstance(b, Tensor) else np.asarray(b)
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if _needs(a):
            # d/da a**b = b a**(b-1) is 0 * inf at a = b = 0, where PyTorch gives 0: take the
            # power at base 1 there (b = 0 zeroes the product anyway), so no NaN reaches this
            # or any higher derivative.
            ga = g * b * _base_where(a, (av == 0) & (bv == 0)) ** (b - 1)
        if _needs(b):
            # d/db a**b = a**b log a, with log a recorded like any op so second derivatives
            # see it depend on a; 0 at a = 0 for b >= 0 as PyTorch (log 1 there).
            gb = g * out * call(log_op, _base_where(a, (av == 0) & (bv >= 0)))
    return ga, gb


def _base_where(a: Any, mask: np.ndarray) -> Any:
    """``a`` with 1 where ``mask`` holds, differentiably (``a`` itself when nothing is)."""
    return call(where_op, a, 1.0, cond=~mask) if mask.any() else a


def _pow_method(self: Tensor, other: Any) -> Tensor:
    """``self ** other``."""
    if isinstance(other, Tensor):
        return power(self, other)
    other = operand(other, self)
    if type(other) in _SCALARS:
        return pow_scalar(self, p=other)
    return power(self, other)


def _rpow_method(self: Tensor, other: Any) -> Tensor:
    """``other ** self``."""
    return power(operand(other, self), self)


def _matmul_check(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: scalar operands are not allowed, got shapes {a.shape} and "
                         f"{b.shape}; use *")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                         f"({inner_a} != {inner_b})")
    raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} do not broadcast")


@primitive("matmul", saves=(0, 1), needs_mask=True)
def matmul(a, b):
    try:
        return np.matmul(a, b)
    except ValueError:
        _matmul_check(np.asarray(a), np.asarray(b))
        raise


def _swap_last(x):
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return x.transpose(*perm)


@matmul.defvjp
def _matmul_vjp(g, out, a, b, needs=(True, True)):
    if a.ndim == 2 and b.ndim == 2:  # the common layer case, without the general reshapes
        return (g @ b.T if needs[0] and _needs(a) else None,
                a.T @ g if needs[1] and _needs(b) else None)
    # Promote 1-D operands to matrices, as matmul itself does, then undo it.
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    g2 = g.reshape(out_shape_2d(a2.shape, b2.shape))
    ga = gb = None
    if needs[0] and _needs(a):
        ga = g2 @ _swap_last(b2)
        if a.ndim == 1:
            ga = ga.reshape(*ga.shape[:-2], -1)
    if needs[1] and _needs(b):
        gb = _swap_last(a2) @ g2
        if b.ndim == 1:
            gb = gb.reshape(*gb.shape[:-2], -1)
    return ga, gb


def out_shape_2d(ashape: tuple, bshape: tuple) -> tuple:
    """matmul's result shape for operands of at least two axes."""
    batch = np.broadcast_shapes(ashape[:-2], bshape[:-2])
    return (*batch, ashape[-2], bshape[-1])


@primitive("maximum", saves=(0, 1))
def maximum_op(a, b):
    try:
        return np.maximum(a, b)
    except ValueError:
        raise _broadcast_error("maximum", a, b) from None


@maximum_op.defvjp
def _maximum_vjp(g, out, a, b):
    return _split_extreme(g, a, b, np.greater)


@primitive("minimum", saves=(0, 1))
def minimum_op(a, b):
    try:
        return np.minimum(a, b)
    except ValueError:
        raise _broadcast_error("minimum", a, b) from None


@minimum_op.defvjp
def _minimum_vjp(g, out, a, b):
    return _split_extreme(g, a, b, np.less)


def _split_extreme(g, a, b, wins):
    """Route g to the winner of each elementwise max/min; split it equally on ties."""
    av = a.data if isinstance(a, Tensor) else a
    bv = b.data if isinstance(b, Tensor) else b
    share_a = wins(av, bv) + 0.5 * np.equal(av, bv)
    ga = g * share_a if _needs(a) else None
    gb = g * (1.0 - share_a) if _needs(b) else None
    return ga, gb


@primitive("where")
def where_op(a, b, cond=None):
    try:
        return np.where(cond, a, b)
    except ValueError:
        raise ValueError(f"where: shapes {np.shape(cond)}, {np.shape(a)} and {np.shape(b)} "
                         f"cannot be broadcast together") from None


@where_op.defvjp
def _where_vjp(g, out, a, b, cond=None):
    return (g * cond if _needs(a) else None), (g * ~cond if _needs(b) else None)


# ---- public functions ---------------------------------------------------------------


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max of ``a`` and ``b`` (broadcast); ties split the gradient equally."""
    a, b = _pair(a, b)
    return maximum_op(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min of ``a`` and ``b`` (broadcast); ties split the gradient equally."""
    a, b = _pair(a, b)
    return minimum_op(a, b)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (all broadcast); no gradient to ``cond``."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    a, b = _pair(a, b)
    return where_op(a, b, cond=cond)


def _pair(a: Any, b: Any) -> tuple:
    """Both operands ready for a binary op: at least one Tensor, constants converted."""
    if isinstance(a, Tensor):
        return a, (b if isinstance(b, Tensor) else operand(b, a))
    if isinstance(b, Tensor):
        return operand(a, b), b
    return as_tensor(a), as_tensor(b)


# ---- comparisons: boolean Tensors that carry no gradient -----------------------------


def _comparison(ufunc: np.ufunc, symbol: str):
    def method(self: Tensor, other: Any) -> Tensor:
        try:
            other = other.data if isinstance(other, Tensor) else operand(other, self)
        except TypeError:
            return NotImplemented  # `t == None` is False, as for any other object
        try:
            return Tensor._make(ufunc(self.data, other), None)
        except ValueError:
            raise _broadcast_error(symbol, self.data, other) from None

    method.__doc__ = f"Elementwise ``self {symbol} other`` as a boolean Tensor (no gradient)."
    return method


_OPERATORS = {
    "__add__": binary_method(add, "``self + other`` (broadcasting)."),
    "__radd__": reflected_method(add, "``other + self``."),
    "__iadd__": inplace_method(add, "+="),
    "__sub__": binary_method(sub, "``self - other`` (broadcasting)."),
    "__rsub__": reflected_method(sub, "``other - self``."),
    "__isub__": inplace_method(sub, "-="),
    "__mul__": binary_method(mul, "``self * other`` (broadcasting)."),
    "__rmul__": reflected_method(mul, "``other * self``."),
    "__imul__": inplace_method(mul, "*="),
    "__truediv__": binary_method(div, "``self / other`` (broadcasting)."),
    "__rtruediv__": reflected_method(div, "``other / self``."),
    "__itruediv__": inplace_method(div, "/="),
    "__matmul__": binary_method(matmul, "``self @ other`` (1-D, 2-D and batched, as np.matmul)."),
    "__rmatmul__": reflected_method(matmul, "``other @ self``."),
    "__pow__": _pow_method,
    "__rpow__": _rpow_method,
    "__lt__": _comparison(np.less, "<"),
    "__le__": _comparison(np.less_equal, "<="),
    "__gt__": _comparison(np.greater, ">"),
    "__ge__": _comparison(np.greater_equal, ">="),
    "__eq__": _comparison(np.equal, "=="),
    "__ne__": _comparison(np.not_equal, "!="),
}
for _name, _method in _OPERATORS.items():
    setattr(Tensor, _name, _method)
Tensor.__neg__ = lambda self: neg(self)
