"""Binary arithmetic, matmul, comparisons, maximum/minimum/where: forward beside VJP.

VJPs may return gradients in the broadcast shape; the engine sums them back to each
input's shape (``engine.unbroadcast``). ``sub`` and ``div`` sum their negated gradient
themselves (:func:`_negated`), so the negation runs over the summed array, not the
broadcast one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import primitive, unbroadcast
from ..tensor import ArrayLike, Tensor
from ._support import (
    _SCALARS,
    as_tensor,
    binary_method,
    call,
    inplace_method,
    operand,
    pair,
    reflected_method,
    unrecorded,
)
from .elementwise import log_op
from .table import Entry, Lit, Sample


def _broadcast_error(name: str, a: Any, b: Any) -> ValueError:
    return ValueError(
        f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
    )


def _needs(x: Any, g: Any) -> bool:
    """Whether operand ``x`` can need a gradient: never a Python number. Under
    create_graph (``g`` a Tensor, the operands as recorded) only a Tensor that requires
    grad, so no node is recorded for a gradient the engine would drop (``x - c`` with a
    constant array ``c`` records no ``neg``)."""
    return type(x) not in _SCALARS and (
        type(g) is not Tensor or (isinstance(x, Tensor) and x.requires_grad))


@primitive("add", kind="elementwise", rule="add: grad_a = grad_out; grad_b = grad_out")
def add_op(a, b):
    try:
        return a + b
    except ValueError:
        raise _broadcast_error("add", a, b) from None


@add_op.defvjp
def _add_vjp(g, out, a, b):
    return g, g


@primitive("sub", kind="elementwise", rule="sub: grad_a = grad_out; grad_b = -grad_out")
def sub_op(a, b):
    try:
        return a - b
    except ValueError:
        raise _broadcast_error("sub", a, b) from None


@sub_op.defvjp
def _sub_vjp(g, out, a, b):
    return g, (_negated(g, b) if _needs(b, g) else None)


def _negated(g: Any, like: Any) -> Any:
    """``-g`` summed to ``like``'s shape: negating after the sum, one full-size pass fewer
    when ``like`` was broadcast (``x - x.mean(axis=0)``)."""
    return -unbroadcast(g, like.shape)


@primitive("mul", saves=(0, 1), kind="elementwise",
           rule="mul: grad_a = grad_out * b; grad_b = grad_out * a")
def mul_op(a, b):
    try:
        return a * b
    except ValueError:
        raise _broadcast_error("mul", a, b) from None


@mul_op.defvjp
def _mul_vjp(g, out, a, b):
    ga = g * b if _needs(a, g) else None
    if b is a:  # x * x: one product serves both inputs (the engine sums them, as before)
        return ga, ga
    return ga, (g * a if _needs(b, g) else None)


@primitive("div", saves=(1,), needs_out=True, kind="elementwise",
           rule="div: grad_a = grad_out / b; grad_b = -grad_out * out / b")
def div_op(a, b):
    try:
        return a / b
    except ValueError:
        raise _broadcast_error("div", a, b) from None


@div_op.defvjp
def _div_vjp(g, out, a, b):
    ga = g / b
    return (ga if _needs(a, g) else None), (_negated(ga * out, b) if _needs(b, g) else None)


@primitive("neg", kind="elementwise", rule="neg: grad_in = -grad_out")
def neg_op(a):
    return -a


@neg_op.defvjp
def _neg_vjp(g, out, a):
    return (-g,)


@primitive("pow", saves=(0,), kind="elementwise",
           rule="pow: grad_in = grad_out * p * x**(p - 1)")
def pow_scalar_op(a, p=2.0):
    return a**p


@pow_scalar_op.defvjp
def _pow_scalar_vjp(g, out, a, p=2.0):
    if p == 2:  # the common square: one multiply fewer, same value
        return (g * a * 2,)
    if p == 0:  # x**0 is constant; avoid 0 * 0**-1 = NaN at x = 0 (PyTorch gives 0)
        return (g * 0,)
    return (g * p * a ** (p - 1),)


@primitive("pow", saves=(0, 1), needs_out=True, kind="elementwise",
           rule="pow: grad_a = grad_out * b * a**(b - 1); grad_b = grad_out * out * log(a)")
def power_op(a, b):
    try:
        with np.errstate(invalid="ignore"):
            return a**b
    except ValueError:
        raise _broadcast_error("pow", a, b) from None


@power_op.defvjp
def _power_vjp(g, out, a, b):
    av = a.data if isinstance(a, Tensor) else np.asarray(a)
    bv = b.data if isinstance(b, Tensor) else np.asarray(b)
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if _needs(a, g):
            # d/da a**b = b a**(b-1) is 0 * inf at a = b = 0, where PyTorch gives 0: take the
            # power at base 1 there (b = 0 zeroes the product anyway), so no NaN reaches this
            # or any higher derivative.
            ga = g * b * _base_where(a, (av == 0) & (bv == 0)) ** (b - 1)
        if _needs(b, g):
            # d/db a**b = a**b log a, with log a recorded like any op so second derivatives
            # see it depend on a; 0 at a = 0 for b >= 0 as PyTorch (log 1 there).
            gb = g * out * call(log_op, _base_where(a, (av == 0) & (bv >= 0)))
    return ga, gb


def _base_where(a: Any, mask: np.ndarray) -> Any:
    """``a`` with 1 where ``mask`` holds, differentiably (``a`` itself when nothing is)."""
    return call(where_op, a, 1.0, cond=~mask) if mask.any() else a


def pow_method(self: Tensor, other: ArrayLike) -> Tensor:
    """``self ** other`` (broadcasting; a number exponent records the cheaper scalar op)."""
    if isinstance(other, Tensor):
        return power_op(self, other)
    other = operand(other, self)
    if type(other) in _SCALARS:
        return pow_scalar_op(self, p=other)
    return power_op(self, other)


def rpow_method(self: Tensor, other: ArrayLike) -> Tensor:
    """``other ** self``."""
    return power_op(operand(other, self), self)


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


@primitive("matmul", saves=(0, 1), needs_mask=True, kind="contraction",
           rule="matmul: grad_a = grad_out @ b.T; grad_b = a.T @ grad_out")
def matmul_op(a, b):
    try:
        return np.matmul(a, b)
    except ValueError:
        _matmul_check(np.asarray(a), np.asarray(b))
        raise


def _swap_last(x):
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return x.transpose(*perm)


@matmul_op.defvjp
def _matmul_vjp(g, out, a, b, needs=(True, True)):
    # The engine's mask says which inputs require grad (matmul refuses numbers: no _needs).
    need_a, need_b = needs
    if a.ndim == 2 and b.ndim == 2:  # the common layer case, without the general reshapes
        if isinstance(g, Tensor):
            # create_graph: one matmul node each, never through NumPy's dispatch (a constant
            # ndarray @ Tensor), which costs an op and copies the constant.
            return (matmul_op(g, _transposed(b)) if need_a else None,
                    matmul_op(_transposed(a), g) if need_b else None)
        return g @ b.T if need_a else None, a.T @ g if need_b else None
    # Promote 1-D operands to matrices, as matmul itself does, then undo it.
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    g2 = g.reshape(out_shape_2d(a2.shape, b2.shape))
    ga = gb = None
    if need_a:
        ga = g2 @ _swap_last(b2)
        if a.ndim == 1:
            ga = ga.reshape(*ga.shape[:-2], -1)
    if need_b:
        gb = _swap_last(a2) @ g2
        if b.ndim == 1:
            gb = gb.reshape(*gb.shape[:-2], -1)
    return ga, gb


def _transposed(x: Any) -> Any:
    """``x.T`` of a 2-D operand under create_graph; of a constant Tensor its array's view,
    as there is no dependence to record (an unrecorded transpose op cost ~4 us)."""
    return x.data.T if isinstance(x, Tensor) and not x.requires_grad else x.T


def out_shape_2d(ashape: tuple, bshape: tuple) -> tuple:
    """matmul's result shape for operands of at least two axes."""
    batch = np.broadcast_shapes(ashape[:-2], bshape[:-2])
    return (*batch, ashape[-2], bshape[-1])


@primitive("maximum", saves=(0, 1), kind="elementwise",
           rule="maximum: grad goes to the larger input (split equally on ties)")
def maximum_op(a, b):
    try:
        return np.maximum(a, b)
    except ValueError:
        raise _broadcast_error("maximum", a, b) from None


@maximum_op.defvjp
def _maximum_vjp(g, out, a, b):
    return _split_extreme(g, a, b, np.greater)


@primitive("minimum", saves=(0, 1), kind="elementwise",
           rule="minimum: grad goes to the smaller input (split equally on ties)")
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
    ga = g * share_a if _needs(a, g) else None
    gb = g * (1.0 - share_a) if _needs(b, g) else None
    return ga, gb


@primitive("where", kind="elementwise",
           rule="where: grad_a = grad_out where cond; grad_b = grad_out elsewhere")
def where_op(a, b, cond=None):
    try:
        return np.where(cond, a, b)
    except ValueError:
        raise ValueError(f"where: shapes {np.shape(cond)}, {np.shape(a)} and {np.shape(b)} "
                         f"cannot be broadcast together") from None


@where_op.defvjp
def _where_vjp(g, out, a, b, cond=None):
    return (g * cond if _needs(a, g) else None), (g * ~cond if _needs(b, g) else None)


# ---- public functions (NumPy's names and signatures) -----------------------------------


def add(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise ``x1 + x2`` (broadcast)."""
    return add_op(*pair(x1, x2))


def subtract(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise ``x1 - x2`` (broadcast)."""
    return sub_op(*pair(x1, x2))


def multiply(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise ``x1 * x2`` (broadcast)."""
    return mul_op(*pair(x1, x2))


def divide(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise ``x1 / x2`` (broadcast)."""
    return div_op(*pair(x1, x2))


def negative(x: ArrayLike) -> Tensor:
    """Elementwise ``-x``."""
    return neg_op(as_tensor(x))


def power(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise ``x1 ** x2`` (broadcast); d/dx2 is 0 where x1 is 0, as PyTorch."""
    a, b = pair(x1, x2)
    return pow_method(a, b) if isinstance(a, Tensor) else power_op(a, b)


def matmul(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Matrix product ``x1 @ x2``: 1-D, 2-D and batched (..., n, k) @ (..., k, m)."""
    return matmul_op(*pair(x1, x2))


def maximum(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise max of ``x1`` and ``x2`` (broadcast); ties split the gradient equally."""
    return maximum_op(*pair(x1, x2))


def minimum(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Elementwise min of ``x1`` and ``x2`` (broadcast); ties split the gradient equally."""
    return minimum_op(*pair(x1, x2))


def where(condition: ArrayLike, x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x`` where ``condition`` is true, else ``y`` (all broadcast); no gradient to
    ``condition``."""
    if isinstance(condition, Tensor):
        # A boolean mask is used as is; another dtype is cast where ag.compile sees it.
        cond = (condition if condition.dtype == bool else
                unrecorded(np.asarray, condition, dtype=bool)).data
    else:
        cond = np.asarray(condition, dtype=bool)
    a, b = pair(x, y)
    return where_op(a, b, cond=cond)


# ---- operators: ``self <op> other`` delegating to the primitives -----------------------

add_method = binary_method(add_op, "``self + other`` (broadcasting).")
radd_method = reflected_method(add_op, "``other + self``.")
iadd_method = inplace_method(add_op, "+=")
sub_method = binary_method(sub_op, "``self - other`` (broadcasting).")
rsub_method = reflected_method(sub_op, "``other - self``.")
isub_method = inplace_method(sub_op, "-=")
mul_method = binary_method(mul_op, "``self * other`` (broadcasting).")
rmul_method = reflected_method(mul_op, "``other * self``.")
imul_method = inplace_method(mul_op, "*=")
div_method = binary_method(div_op, "``self / other`` (broadcasting).")
rdiv_method = reflected_method(div_op, "``other / self``.")
idiv_method = inplace_method(div_op, "/=")
matmul_method = binary_method(matmul_op, "``self @ other`` (1-D, 2-D and batched, as np.matmul).")
rmatmul_method = reflected_method(matmul_op, "``other @ self``.")


def neg_method(self: Tensor) -> Tensor:
    """``-self``."""
    return neg_op(self)


# ---- comparisons: boolean Tensors that carry no gradient -----------------------------


def _comparison(ufunc: np.ufunc, symbol: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The ``ag.<ufunc>`` function and the ``self <symbol> other`` operator."""

    def function(x1: ArrayLike, x2: ArrayLike) -> Tensor:
        a = x1.data if isinstance(x1, Tensor) else x1
        b = x2.data if isinstance(x2, Tensor) else x2
        try:
            return unrecorded(ufunc, a, b)
        except ValueError:
            raise _broadcast_error(symbol, a, b) from None

    def method(self: Tensor, other: Any) -> Any:
        try:
            other = other.data if isinstance(other, Tensor) else operand(other, self)
        except TypeError:
            return NotImplemented  # `t == None` is False, as for any other object
        return function(self, other)

    function.__name__ = function.__qualname__ = ufunc.__name__
    function.__doc__ = f"Elementwise ``x1 {symbol} x2`` as a boolean Tensor (no gradient)."
    method.__doc__ = f"Elementwise ``self {symbol} other`` as a boolean Tensor (no gradient)."
    return function, method


less, lt_method = _comparison(np.less, "<")
less_equal, le_method = _comparison(np.less_equal, "<=")
greater, gt_method = _comparison(np.greater, ">")
greater_equal, ge_method = _comparison(np.greater_equal, ">=")
equal, eq_method = _comparison(np.equal, "==")
not_equal, ne_method = _comparison(np.not_equal, "!=")


# ---- the op table --------------------------------------------------------------------

_BINARY = (Sample(((3, 4), (3, 4))), Sample(((2, 1, 3), (4, 1))), Sample(((), (3,))))
# A grid of values against normal draws: no ties, where the gradient has a kink.
_NO_TIES = tuple(Sample(s.args, domain=("distinct", "real")) for s in _BINARY[:2])


def _torch_pow(T: Any, a: Any, b: Any) -> Any:
    return T.pow(a, b)


def _torch_comparison(name: str) -> Callable[..., Any]:
    """``torch.lt`` and friends under NumPy's name (``less``)."""
    torch_name = {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
                  "equal": "eq", "not_equal": "ne"}[name]
    return lambda T, a, b: getattr(T, torch_name)(a, b)


ENTRIES = [
    Entry("add", add, methods=("add",),
          operators=(("__add__", add_method), ("__radd__", radd_method),
                     ("__iadd__", iadd_method)),
          numpy=(np.add,), torch=lambda T, a, b: a + b, samples=_BINARY),
    Entry("subtract", subtract, methods=("sub",),
          operators=(("__sub__", sub_method), ("__rsub__", rsub_method),
                     ("__isub__", isub_method)),
          numpy=(np.subtract,), torch=lambda T, a, b: a - b, samples=_BINARY),
    Entry("multiply", multiply, methods=("mul",),
          operators=(("__mul__", mul_method), ("__rmul__", rmul_method),
                     ("__imul__", imul_method)),
          numpy=(np.multiply,), torch=lambda T, a, b: a * b, samples=_BINARY),
    Entry("divide", divide, methods=("div",),
          operators=(("__truediv__", div_method), ("__rtruediv__", rdiv_method),
                     ("__itruediv__", idiv_method)),
          numpy=(np.divide,), torch=lambda T, a, b: a / b,
          samples=(Sample(((3, 4), (3, 4)), domain=("real", "away")),
                   Sample(((2, 1, 3), (4, 1)), domain=("real", "away")))),
    Entry("negative", negative, methods=("neg",), operators=(("__neg__", neg_method),),
          numpy=(np.negative,), torch=lambda T, x: -x,
          samples=(Sample(((3, 4),)), Sample(((),)))),
    Entry("power", power, methods=(("pow", pow_method),),
          operators=(("__pow__", pow_method), ("__rpow__", rpow_method)),
          numpy=(np.power,), torch=_torch_pow,
          samples=(Sample(((3, 4), (3, 4)), domain=("pos", "real")),
                   Sample(((2, 1, 3), (4, 1)), domain=("pos", "real")),
                   Sample(((3, 4), Lit(3.0))), Sample(((2, 3), Lit(0.5)), domain="pos"))),
    Entry("matmul", matmul, methods=("matmul",),
          operators=(("__matmul__", matmul_method), ("__rmatmul__", rmatmul_method)),
          numpy=(np.matmul,), torch=lambda T, a, b: a @ b,
          samples=(Sample(((3, 4), (4, 2))), Sample(((4,), (4, 2))), Sample(((3, 4), (4,))),
                   Sample(((2, 3, 4), (4, 2))), Sample(((2, 1, 3, 4), (5, 4, 2))))),
    Entry("maximum", maximum, numpy=(np.maximum,), torch=lambda T, a, b: T.maximum(a, b),
          samples=_NO_TIES),
    Entry("minimum", minimum, numpy=(np.minimum,), torch=lambda T, a, b: T.minimum(a, b),
          samples=_NO_TIES),
    Entry("where", where, numpy=(np.where,),
          torch=lambda T, c, a, b: T.where(T.as_tensor(c), a, b),
          samples=(Sample((Lit(np.array([[True, False, True, False]] * 3)), (3, 4), (3, 4))),
                   Sample((Lit(np.array([True, False, False])), (2, 1, 3), (4, 1))))),
    *(Entry(fn.__name__, fn, operators=((dunder, method),), numpy=(getattr(np, fn.__name__),),
            torch=_torch_comparison(fn.__name__), differentiable=False,
            samples=(Sample(((3, 4), (4,))), Sample(((3, 4), (3, 4)), domain="distinct")))
      for fn, dunder, method in (
          (less, "__lt__", lt_method), (less_equal, "__le__", le_method),
          (greater, "__gt__", gt_method), (greater_equal, "__ge__", ge_method),
          (equal, "__eq__", eq_method), (not_equal, "__ne__", ne_method))),
]
