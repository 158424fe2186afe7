"""Unary elementwise math: forward beside VJP, exposed as methods and ``ag.*`` functions.

Conventions at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, clip passes the
gradient where lo <= x <= hi, sqrt'(0) = log'(0) = inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import as_tensor, call, const, unary_method
from .table import Entry, Sample


@primitive("exp", needs_out=True)
def exp_op(a):
    # No np.errstate here: entering it costs ~3x the exp of a small array. Overflow
    # gives inf with NumPy's own RuntimeWarning.
    return np.exp(a)


@exp_op.defvjp
def _exp_vjp(g, out, a):
    return (g * out,)


@primitive("log", saves=(0,))
def log_op(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a)


@log_op.defvjp
def _log_vjp(g, out, a):
    with np.errstate(divide="ignore"):
        return (g / a,)


@primitive("sqrt", needs_out=True)
def sqrt_op(a):
    with np.errstate(invalid="ignore"):
        return np.sqrt(a)


@sqrt_op.defvjp
def _sqrt_vjp(g, out, a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g / (out * 2),)


@primitive("abs", saves=(0,))
def abs_op(a):
    return np.abs(a)


@abs_op.defvjp
def _abs_vjp(g, out, a):
    return (g * const(np.sign, a),)


@primitive("tanh", needs_out=True)
def tanh_op(a):
    return np.tanh(a)


@tanh_op.defvjp
def _tanh_vjp(g, out, a):
    return (g * (1 - out * out),)


@primitive("sigmoid", needs_out=True)
def sigmoid_op(a):
    # exp of -|a| never overflows, so sigmoid(+-1000) is exactly 1/0 with no warning.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


@sigmoid_op.defvjp
def _sigmoid_vjp(g, out, a):
    return (g * out * (1 - out),)


@primitive("relu", saves=(0,))
def relu_op(a):
    return np.maximum(a, 0)


@relu_op.defvjp
def _relu_vjp(g, out, a):
    return (g * const(_positive, a),)


def _positive(v: np.ndarray) -> np.ndarray:
    return v > 0


@primitive("clip", saves=(0,))
def clip_op(a, lo=None, hi=None):
    return np.clip(a, lo, hi)


@clip_op.defvjp
def _clip_vjp(g, out, a, lo=None, hi=None):
    return (g * const(lambda v: _inside(v, lo, hi), a),)


def _inside(v: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    mask = np.ones(v.shape, dtype=bool)
    if lo is not None:
        mask &= v >= lo
    if hi is not None:
        mask &= v <= hi
    return mask


def _clip_method(self: Tensor, lo: Any = None, hi: Any = None) -> Tensor:
    """Values limited to ``[lo, hi]`` (either may be None); gradient passes inside."""
    if lo is None and hi is None:
        raise ValueError("clip: at least one of lo and hi must be given")
    return clip_op(self, lo=lo, hi=hi)


_UNARY = {
    "exp": (exp_op, "Elementwise e**x."),
    "log": (log_op, "Elementwise natural log (log(0) = -inf, gradient inf)."),
    "sqrt": (sqrt_op, "Elementwise square root."),
    "abs": (abs_op, "Elementwise |x| (gradient 0 at 0)."),
    "tanh": (tanh_op, "Elementwise tanh."),
    "sigmoid": (sigmoid_op, "Elementwise 1 / (1 + e**-x), stable for large |x|."),
    "relu": (relu_op, "Elementwise max(x, 0) (gradient 0 at 0)."),
}
for _name, (_op, _doc) in _UNARY.items():
    setattr(Tensor, _name, unary_method(_op, _doc))
Tensor.__abs__ = Tensor.abs
Tensor.clip = _clip_method


def _function(op: Any, doc: str):
    def fn(x: Any) -> Tensor:
        return op(as_tensor(x))

    fn.__name__ = op.name
    fn.__doc__ = doc + " Accepts a Tensor or anything ``np.asarray`` takes."
    return fn


exp = _function(exp_op, _UNARY["exp"][1])
log = _function(log_op, _UNARY["log"][1])
sqrt = _function(sqrt_op, _UNARY["sqrt"][1])
tanh = _function(tanh_op, _UNARY["tanh"][1])
sigmoid = _function(sigmoid_op, _UNARY["sigmoid"][1])
relu = _function(relu_op, _UNARY["relu"][1])


# ---- sine and cosine: the first entries written in the op-table form -----------------


@primitive("sin", saves=(0,), kind="elementwise", rule="sin: grad_in = grad_out * cos(x)")
def sin_op(a):
    return np.sin(a)


@primitive("cos", saves=(0,), kind="elementwise", rule="cos: grad_in = -grad_out * sin(x)")
def cos_op(a):
    return np.cos(a)


@sin_op.defvjp
def _sin_vjp(g, out, a):
    return (g * call(cos_op, a),)


@cos_op.defvjp
def _cos_vjp(g, out, a):
    return (-g * call(sin_op, a),)


def sin(x: Any) -> Tensor:
    """Elementwise sine; shape of ``x``."""
    return sin_op(as_tensor(x))


def cos(x: Any) -> Tensor:
    """Elementwise cosine; shape of ``x``."""
    return cos_op(as_tensor(x))


_BROADCAST_SHAPES = (Sample(((3, 4),)), Sample(((2, 1, 3),)), Sample(((),)))

ENTRIES = [
    Entry("sin", sin, methods=("sin",), numpy=(np.sin,), torch=lambda T, x: T.sin(x),
          samples=_BROADCAST_SHAPES),
    Entry("cos", cos, methods=("cos",), numpy=(np.cos,), torch=lambda T, x: T.cos(x),
          samples=_BROADCAST_SHAPES),
]
