"""Reductions (sum, mean, max, min, var) and the along-an-axis softmax family.

``axis`` is None, an int (negative counts from the end) or a tuple; ``keepdims``
keeps reduced axes as size 1. Every VJP first reshapes the incoming gradient to the
keepdims shape, then lets broadcasting spread it over the reduced axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import const, kept_shape, normalize_axes
from .shape import expand


def _spread(g: Any, shape: tuple, axes: tuple) -> Any:
    """The gradient of a reduction over ``axes``, broadcast back to ``shape``."""
    return expand(g.reshape(kept_shape(shape, axes)), shape)


@primitive("sum")
def sum_op(a, axes=(), keepdims=False):
    return np.sum(a, axis=axes, keepdims=keepdims)


@sum_op.defvjp
def _sum_vjp(g, out, a, axes=(), keepdims=False):
    return (_spread(g, a.shape, axes),)


@primitive("mean")
def mean_op(a, axes=(), keepdims=False):
    return np.mean(a, axis=axes, keepdims=keepdims)


@mean_op.defvjp
def _mean_vjp(g, out, a, axes=(), keepdims=False):
    count = int(np.prod([a.shape[i] for i in axes]))
    return (_spread(g / count, a.shape, axes),)


def _extreme_vjp(pick: np.ufunc):
    """The VJP of a max (``pick=np.max``) or min reduction.

    Ties share the gradient equally, as torch.amax/amin do.
    """

    def vjp(g, out, a, axes=(), keepdims=False):
        return (_spread(g, a.shape, axes) * const(lambda v: _winners(v, axes, pick), a),)

    return vjp


def _winners(v: np.ndarray, axes: tuple, pick: Any) -> np.ndarray:
    """1/k at each of the k positions holding the picked extreme of their slice, else 0."""
    is_best = np.equal(v, pick(v, axis=axes, keepdims=True))
    return is_best / is_best.sum(axis=axes, keepdims=True)


@primitive("max", saves=(0,))
def max_op(a, axes=(), keepdims=False):
    return np.max(a, axis=axes, keepdims=keepdims)


@primitive("min", saves=(0,))
def min_op(a, axes=(), keepdims=False):
    return np.min(a, axis=axes, keepdims=keepdims)


max_op.defvjp(_extreme_vjp(np.max))
min_op.defvjp(_extreme_vjp(np.min))


@primitive("var", saves=(0,))
def var_op(a, axes=(), keepdims=False, ddof=0):
    return np.var(a, axis=axes, keepdims=keepdims, ddof=ddof)


@var_op.defvjp
def _var_vjp(g, out, a, axes=(), keepdims=False, ddof=0):
    count = int(np.prod([a.shape[i] for i in axes]))
    centered = a - a.mean(axis=axes, keepdims=True)
    # Scale the reduced gradient before spreading it: one full-size multiply fewer.
    return (_spread(g * (2.0 / (count - ddof)), a.shape, axes) * centered,)


@primitive("softmax", needs_out=True)
def softmax_op(a, axis=-1):
    # initial=-inf: a zero-length axis gives an empty result (as PyTorch), not an error
    shifted = a - a.max(axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


@softmax_op.defvjp
def _softmax_vjp(g, out, a, axis=-1):
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@primitive("log_softmax", needs_out=True)
def log_softmax_op(a, axis=-1):
    shifted = a - a.max(axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # log(0) of an empty axis's sum; the result is empty
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@log_softmax_op.defvjp
def _log_softmax_vjp(g, out, a, axis=-1):
    probs = out.exp() if isinstance(out, Tensor) else np.exp(out)
    return (g - probs * g.sum(axis=axis, keepdims=True),)


# ---- methods --------------------------------------------------------------------------


def _axes(axis: Any, shape: tuple, opname: str) -> tuple:
    """``normalize_axes``, except that a 0-d tensor reduces over axis 0 or -1 as a no-op
    (as PyTorch allows)."""
    if shape == () and axis is not None:
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        if all(isinstance(ax, (int, np.integer)) and not isinstance(ax, bool) and ax in (0, -1)
               for ax in items):
            return ()
    return normalize_axes(axis, shape, opname)


def _reduction(op: Any, doc: str):
    def method(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = _axes(axis, self.shape, op.name)
        return op(self, axes=axes, keepdims=keepdims)

    method.__doc__ = doc
    return method


def _extreme(op: Any, doc: str):
    plain = _reduction(op, doc)

    def method(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = _axes(axis, self.shape, op.name)
        if any(self.shape[i] == 0 for i in axes):
            raise ValueError(f"{op.name}: cannot reduce over a zero-length axis of a tensor of "
                             f"shape {self.shape}; pick a non-empty axis")
        return plain(self, axis, keepdims)

    method.__doc__ = doc
    return method


def _var_method(self: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (shape as sum)."""
    axes = _axes(axis, self.shape, "var")
    return var_op(self, axes=axes, keepdims=keepdims, ddof=ddof)


def _along_axis(op: Any, doc: str):
    def method(self: Tensor, axis: int = -1) -> Tensor:
        if self.ndim == 0:
            raise ValueError(f"{op.name}: needs at least one axis, got a 0-d tensor")
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"{op.name}: axis must be a single int, got {axis!r}")
        (ax,) = normalize_axes(axis, self.shape, op.name)
        return op(self, axis=ax)

    method.__doc__ = doc
    return method


Tensor.sum = _reduction(sum_op, "Sum over ``axis`` (None: all; int; tuple); ``keepdims``.")
Tensor.mean = _reduction(mean_op, "Mean over ``axis`` (None: all; int; tuple); ``keepdims``.")
Tensor.max = _extreme(max_op, "Max over ``axis``; ties share the gradient equally.")
Tensor.min = _extreme(min_op, "Min over ``axis``; ties share the gradient equally.")
Tensor.var = _var_method
Tensor.softmax = _along_axis(softmax_op, "Softmax along ``axis`` (stable for large logits).")
Tensor.log_softmax = _along_axis(log_softmax_op, "Log-softmax along ``axis`` (stable).")
