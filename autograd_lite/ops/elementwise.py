"""Unary elementwise math: forward beside VJP, exposed as methods and ``ag.*`` functions.

Conventions at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, clip passes the
gradient where lo <= x <= hi, sqrt'(0) = log'(0) = inf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import apply, primitive
from ..tensor import ArrayLike, Tensor
from ._support import UNARY, as_tensor, call, const, records
from .table import Entry, Lit, Sample


@primitive("exp", needs_out=True, kind="elementwise", rule="exp: grad_in = grad_out * out")
def exp_op(a):
    # No np.errstate here: entering it costs ~3x the exp of a small array. Overflow
    # gives inf with NumPy's own RuntimeWarning.
    return np.exp(a)


@exp_op.defvjp
def _exp_vjp(g, out, a):
    return (g * out,)


@primitive("log", saves=(0,), kind="elementwise", rule="log: grad_in = grad_out / x")
def log_op(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(a)


@log_op.defvjp
def _log_vjp(g, out, a):
    with np.errstate(divide="ignore"):
        return (g / a,)


@primitive("sqrt", needs_out=True, kind="elementwise",
           rule="sqrt: grad_in = grad_out / (2 * out)")
def sqrt_op(a):
    with np.errstate(invalid="ignore"):
        return np.sqrt(a)


@sqrt_op.defvjp
def _sqrt_vjp(g, out, a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g / (out * 2),)


@primitive("abs", saves=(0,), kind="elementwise", rule="abs: grad_in = grad_out * sign(x)")
def abs_op(a):
    return np.abs(a)


@abs_op.defvjp
def _abs_vjp(g, out, a):
    return (g * const(np.sign, a),)


@primitive("tanh", needs_out=True, kind="elementwise",
           rule="tanh: grad_in = grad_out * (1 - out**2)")
def tanh_op(a):
    return np.tanh(a)


@tanh_op.defvjp
def _tanh_vjp(g, out, a):
    return (_from_out(tanh_backward_op, g, out),)


# tanh's and sigmoid's gradients as one op each, as PyTorch's tanh_backward and
# sigmoid_backward: under create_graph the first backward records one node per
# activation instead of three (mul, rsub, mul), and the second backward walks one.
@primitive("tanh_backward", saves=(0, 1), kind="elementwise",
           rule="tanh_backward: grad_g = grad_out * (1 - y**2); grad_y = -2 * grad_out * g * y")
def tanh_backward_op(g, y):
    return g * (1 - y * y)


@tanh_backward_op.defvjp
def _tanh_backward_vjp(gg, out, g, y):
    return _from_out(tanh_backward_op, gg, y), gg * (-2 * y * g)


@primitive("sigmoid_backward", saves=(0, 1), kind="elementwise",
           rule="sigmoid_backward: grad_g = grad_out * y * (1 - y); "
                "grad_y = grad_out * g * (1 - 2 * y)")
def sigmoid_backward_op(g, y):
    return g * y * (1 - y)


@sigmoid_backward_op.defvjp
def _sigmoid_backward_vjp(gg, out, g, y):
    return _from_out(sigmoid_backward_op, gg, y), gg * g * (1 - 2 * y)


def _from_out(backward_op: Any, g: Any, y: Any) -> Any:
    """An activation's VJP ``backward_op(g, y)`` from its output ``y`` (shapes that
    broadcast): one recorded node when ``y`` is a Tensor (create_graph), else the
    formula on arrays (a Tensor ``g`` with an array ``y`` still records, through ``*``).

    One check, not ``call``'s loop: that costs a first-order tanh VJP 0.7 us, this 0.3.
    """
    if isinstance(y, Tensor):
        return apply(backward_op, g, y)
    return backward_op.forward(g, y)


@primitive("sigmoid", needs_out=True, kind="elementwise",
           rule="sigmoid: grad_in = grad_out * out * (1 - out)")
def sigmoid_op(a):
    # exp of -|a| never overflows, so sigmoid(+-1000) is exactly 1/0 with no warning.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


@sigmoid_op.defvjp
def _sigmoid_vjp(g, out, a):
    return (_from_out(sigmoid_backward_op, g, out),)


# The mask comes from the output (max(x, 0) > 0 exactly where x > 0, NaN included): a
# result the forward just allocated is locked for backward at the cost of a flag, whereas
# saving the input costs an alias test when nothing locked it yet (each layer's product),
# and the next layer saves this output anyway.
@primitive("relu", needs_out=True, kind="elementwise", rule="relu: grad_in = grad_out * (x > 0)")
def relu_op(a):
    return np.maximum(a, 0)


@relu_op.defvjp
def _relu_vjp(g, out, a):
    return (g * const(_positive, out),)


def _positive(v: np.ndarray) -> np.ndarray:
    return v > 0


@primitive("clip", saves=(0,), kind="elementwise",
           rule="clip: grad_in = grad_out * (lo <= x <= hi)")
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


def clip(a: ArrayLike, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Values limited to ``[a_min, a_max]`` (either may be None); the gradient passes
    where ``a_min <= a <= a_max``."""
    if a_min is None and a_max is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    if isinstance(a_min, Tensor) or isinstance(a_max, Tensor):
        return _clip_by_tensors(a, a_min, a_max)
    return clip_op(as_tensor(a), lo=a_min, hi=a_max)


def _clip_by_tensors(a: ArrayLike, lo: Any, hi: Any) -> Tensor:
    """``clip`` with Tensor bounds, which receive gradient where they are chosen (as
    ``torch.clamp``): ``a`` keeps it on ties, and ``hi`` wins where ``lo > hi``."""
    from .arithmetic import where

    out = as_tensor(a)
    if lo is not None:
        out = where(out < lo, lo, out)
    if hi is not None:
        out = where(out > hi, hi, out)
    return out


def clamp_method(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Values limited to ``[min, max]`` (either may be None), as ``torch.clamp``."""
    return clip(self, min, max)


def _function(op: Any, doc: str) -> Callable[[ArrayLike], Tensor]:
    """``ag.<op>(x)``: the unary primitive on a Tensor or anything ``np.asarray`` takes."""

    def fn(x: ArrayLike) -> Tensor:
        return apply(op, x if type(x) is Tensor else as_tensor(x))

    fn.__name__ = fn.__qualname__ = op.name  # errors name ag.<op>, not _function.<locals>
    fn.__doc__ = doc
    records(fn, op, UNARY)  # t.exp() calls apply itself (see ops.codegen)
    return fn


exp = _function(exp_op, "Elementwise e**x.")
log = _function(log_op, "Elementwise natural log (log(0) = -inf, gradient inf).")
sqrt = _function(sqrt_op, "Elementwise square root (gradient inf at 0).")
abs = _function(abs_op, "Elementwise |x| (gradient 0 at 0).")
tanh = _function(tanh_op, "Elementwise tanh.")
sigmoid = _function(sigmoid_op, "Elementwise 1 / (1 + e**-x), stable for large |x|.")
relu = _function(relu_op, "Elementwise max(x, 0) (gradient 0 at 0).")


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


def sin(x: ArrayLike) -> Tensor:
    """Elementwise sine; shape of ``x``."""
    return sin_op(as_tensor(x))


def cos(x: ArrayLike) -> Tensor:
    """Elementwise cosine; shape of ``x``."""
    return cos_op(as_tensor(x))


_BROADCAST_SHAPES = (Sample(((3, 4),)), Sample(((2, 1, 3),)), Sample(((),)))


def _unary(fn: Callable[..., Tensor], torch_name: str, domain: str = "real",
           numpy: Any = None) -> Entry:
    """The entry of a unary elementwise function: ``t.<name>()``, ``np.<name>``."""
    samples = tuple(Sample(s.args, domain=domain) for s in _BROADCAST_SHAPES)
    return Entry(fn.__name__, fn, methods=(fn.__name__,),
                 numpy=(numpy or getattr(np, fn.__name__),),
                 torch=lambda T, x: getattr(T, torch_name)(x), samples=samples)


ENTRIES = [
    _unary(sin, "sin"),
    _unary(cos, "cos"),
    _unary(exp, "exp"),
    _unary(log, "log", "pos"),
    _unary(sqrt, "sqrt", "pos"),
    Entry("abs", abs, methods=("abs",), operators=(("__abs__", abs),), numpy=(np.abs,),
          torch=lambda T, x: T.abs(x),
          samples=tuple(Sample(s.args, domain="away") for s in _BROADCAST_SHAPES)),
    _unary(tanh, "tanh"),
    Entry("sigmoid", sigmoid, methods=("sigmoid",), torch=lambda T, x: T.sigmoid(x),
          samples=_BROADCAST_SHAPES),
    Entry("relu", relu, methods=("relu",), torch=lambda T, x: T.relu(x),
          samples=tuple(Sample(s.args, domain="away") for s in _BROADCAST_SHAPES)),
    Entry("clip", clip, methods=(("clip", clamp_method), ("clamp", clamp_method)),
          numpy=(np.clip,), torch=lambda T, x, lo, hi: T.clamp(x, lo, hi),
          samples=(Sample(((3, 4), Lit(-0.55), Lit(0.65)), domain="distinct"),
                   Sample(((2, 3), Lit(None), Lit(0.3)), domain="distinct"))),
]
