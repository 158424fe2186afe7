"""Reductions (sum, mean, max, min, var) and the along-an-axis softmax family.

``axis`` is None, an int (negative counts from the end) or a tuple; ``keepdims``
keeps reduced axes as size 1. Every VJP first reshapes the incoming gradient to the
keepdims shape, then lets broadcasting spread it over the reduced axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import ArrayLike, Tensor
from ._support import as_tensor, axis_spelling, const, kept_shape, normalize_axes
from .shape import expand
from .table import Entry, Sample


def _spread(g: Any, shape: tuple, axes: tuple, count: int | None = None) -> Any:
    """The gradient of a reduction over ``axes`` (divided by ``count`` for a mean),
    broadcast back to ``shape``.

    A Tensor ``g`` that records nothing (create_graph's seed of a loss) is spread as its
    array and wrapped: no ops to run through the engine for a constant.
    """
    if type(g) is Tensor and not g.requires_grad:
        return Tensor._make(_spread(g.data, shape, axes, count), None)
    if count is not None:
        g = g / count
    return expand(g.reshape(kept_shape(shape, axes)), shape)


@primitive("sum", kind="reduction", rule="sum: grad_in = grad_out broadcast over the summed axes")
def sum_op(a, axes=(), keepdims=False):
    return np.sum(a, axis=axes, keepdims=keepdims)


@sum_op.defvjp
def _sum_vjp(g, out, a, axes=(), keepdims=False):
    return (_spread(g, a.shape, axes),)


@primitive("mean", kind="reduction",
           rule="mean: grad_in = grad_out / n broadcast over the averaged axes")
def mean_op(a, axes=(), keepdims=False):
    return np.mean(a, axis=axes, keepdims=keepdims)


@mean_op.defvjp
def _mean_vjp(g, out, a, axes=(), keepdims=False):
    return (_spread(g, a.shape, axes, math.prod([a.shape[i] for i in axes])),)


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


@primitive("max", saves=(0,), kind="reduction",
           rule="max: grad_in = grad_out at the maxima (split equally on ties), else 0")
def max_op(a, axes=(), keepdims=False):
    return np.max(a, axis=axes, keepdims=keepdims)


@primitive("min", saves=(0,), kind="reduction",
           rule="min: grad_in = grad_out at the minima (split equally on ties), else 0")
def min_op(a, axes=(), keepdims=False):
    return np.min(a, axis=axes, keepdims=keepdims)


max_op.defvjp(_extreme_vjp(np.max))
min_op.defvjp(_extreme_vjp(np.min))


@primitive("var", saves=(0,), kind="reduction",
           rule="var: grad_in = grad_out * 2 * (x - mean) / (n - ddof)")
def var_op(a, axes=(), keepdims=False, ddof=0):
    return np.var(a, axis=axes, keepdims=keepdims, ddof=ddof)


@var_op.defvjp
def _var_vjp(g, out, a, axes=(), keepdims=False, ddof=0):
    # n <= ddof (an empty axis, one value with ddof=1): inf or NaN as the value, not
    # ZeroDivisionError; the divisor is max(n - ddof, 0) as in np.var and torch.var.
    # Not max(): this module's ag.max shadows the builtin (it recorded a max op here).
    count = int(np.prod([a.shape[i] for i in axes])) - ddof
    count = count if count > 0 else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        centered = a - a.mean(axis=axes, keepdims=True)
        # Scale the reduced gradient before spreading it: one full-size multiply fewer.
        scale = _spread(g * float(np.divide(2.0, count)), a.shape, axes)
        if isinstance(centered, Tensor):
            return (scale * centered,)
        # In place into the array this VJP just made (nobody else holds it): one full-size
        # allocation fewer, and a's dtype kept (float32 stays float32, no cast back).
        centered *= scale
        return (centered,)


@primitive("softmax", needs_out=True, kind="other",
           rule="softmax: grad_in = out * (grad_out - sum(grad_out * out, axis))")
def softmax_op(a, axis=-1):
    # initial=-inf: a zero-length axis gives an empty result (as PyTorch), not an error
    shifted = a - a.max(axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


@softmax_op.defvjp
def _softmax_vjp(g, out, a, axis=-1):
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@primitive("log_softmax", needs_out=True, kind="other",
           rule="log_softmax: grad_in = grad_out - exp(out) * sum(grad_out, axis)")
def log_softmax_op(a, axis=-1):
    shifted = a - a.max(axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # log(0) of an empty axis's sum; the result is empty
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@log_softmax_op.defvjp
def _log_softmax_vjp(g, out, a, axis=-1):
    probs = out.exp() if isinstance(out, Tensor) else np.exp(out)
    return (g - probs * g.sum(axis=axis, keepdims=True),)


# ---- public functions: NumPy's axis/keepdims or PyTorch's dim/keepdim -------------------

Axis = Any  # None (every axis), an int (negative counts from the end) or a tuple of ints


def _axes(axis: Any, shape: tuple, opname: str) -> tuple:
    """``normalize_axes``, except that a 0-d tensor reduces over axis 0 or -1 as a no-op
    (as PyTorch allows)."""
    if shape == () and axis is not None:
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        if all(isinstance(ax, (int, np.integer)) and not isinstance(ax, bool) and ax in (0, -1)
               for ax in items):
            return ()
    return normalize_axes(axis, shape, opname)


def _reduce(op: Any, x: ArrayLike, axis: Axis, keepdims: bool, dim: Axis,
            keepdim: bool | None, **params: Any) -> Tensor:
    x = as_tensor(x)
    axis, keepdims = axis_spelling(op.name, axis, keepdims, dim, keepdim)
    axes = _axes(axis, x.shape, op.name)
    return op(x, axes=axes, keepdims=keepdims, **params)


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None) -> Tensor:
    """Sum over ``axis`` (None: all; int; tuple); ``keepdims`` keeps them as size 1."""
    return _reduce(sum_op, x, axis, keepdims, dim, keepdim)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
         keepdim: bool | None = None) -> Tensor:
    """Mean over ``axis`` (None: all; int; tuple); ``keepdims`` keeps them as size 1."""
    return _reduce(mean_op, x, axis, keepdims, dim, keepdim)


def _extreme(op: Any, x: ArrayLike, axis: Axis, keepdims: bool, dim: Axis,
             keepdim: bool | None) -> Tensor:
    x = as_tensor(x)
    axes = _axes(axis_spelling(op.name, axis, keepdims, dim, keepdim)[0], x.shape, op.name)
    # Over a non-empty axis of an empty tensor the result is empty (as PyTorch); over a
    # zero-length axis there is no extreme to take.
    if any(x.shape[i] == 0 for i in axes):
        raise ValueError(f"{op.name}: cannot reduce over a zero-length axis of a tensor of "
                         f"shape {x.shape}; pick a non-empty axis")
    return _reduce(op, x, axis, keepdims, dim, keepdim)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None) -> Tensor:
    """Max over ``axis`` (values only, as ``torch.amax``); ties share the gradient."""
    return _extreme(max_op, x, axis, keepdims, dim, keepdim)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None) -> Tensor:
    """Min over ``axis`` (values only, as ``torch.amin``); ties share the gradient."""
    return _extreme(min_op, x, axis, keepdims, dim, keepdim)


def var(x: ArrayLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0, *,
        dim: Axis = None, keepdim: bool | None = None, unbiased: bool | None = None,
        correction: int | None = None) -> Tensor:
    """Variance over ``axis`` with ``ddof`` (PyTorch's ``unbiased``/``correction``)."""
    given = [k for k, v in (("ddof", ddof or None), ("unbiased", unbiased),
                            ("correction", correction)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"var: got {' and '.join(given)}; pass one of them")
    if unbiased is not None:
        ddof = int(bool(unbiased))
    elif correction is not None:
        ddof = int(correction)
    return _reduce(var_op, x, axis, keepdims, dim, keepdim, ddof=ddof)


def _along_axis(op: Any, x: ArrayLike, axis: int | None, dim: int | None) -> Tensor:
    x = as_tensor(x)
    axis, _ = axis_spelling(op.name, axis, False, dim)
    axis = -1 if axis is None else axis
    if x.ndim == 0:
        raise ValueError(f"{op.name}: needs at least one axis, got a 0-d tensor")
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op.name}: axis must be a single int, got {axis!r}")
    (ax,) = normalize_axes(axis, x.shape, op.name)
    return op(x, axis=ax)


def softmax(x: ArrayLike, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Softmax along ``axis`` (default the last; stable for large logits); shape of ``x``."""
    return _along_axis(softmax_op, x, axis, dim)


def log_softmax(x: ArrayLike, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Log-softmax along ``axis`` (default the last; stable); shape of ``x``."""
    return _along_axis(log_softmax_op, x, axis, dim)


# ---- the op table --------------------------------------------------------------------

_AXES = (Sample(((3, 4),)), Sample(((2, 3, 4),), {"axis": 1}),
         Sample(((2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
         Sample(((3, 4),), {"dim": -1, "keepdim": True}))


def _torch_reduction(name: str) -> Callable[..., Any]:
    """PyTorch's reduction under NumPy's keywords (``axis=None`` means every axis)."""

    def ref(T: Any, x: Any, axis: Any = None, keepdims: bool = False, dim: Any = None,
            keepdim: bool = False, ddof: int = 0) -> Any:
        axis = dim if dim is not None else axis
        axis = tuple(range(x.ndim)) if axis is None else axis
        keep = keepdims or keepdim
        if name == "var":
            return T.var(x, dim=axis, keepdim=keep, correction=ddof)
        return getattr(T, name)(x, dim=axis, keepdim=keep)

    return ref


ENTRIES = [
    Entry("sum", sum, methods=("sum",), numpy=(np.sum,), torch=_torch_reduction("sum"),
          samples=_AXES),
    Entry("mean", mean, methods=("mean",), numpy=(np.mean,), torch=_torch_reduction("mean"),
          samples=_AXES),
    Entry("max", max, methods=("max",), numpy=(np.max, np.amax),
          torch=_torch_reduction("amax"),
          samples=tuple(Sample(s.args, s.kwargs, "distinct") for s in _AXES)),
    Entry("min", min, methods=("min",), numpy=(np.min, np.amin),
          torch=_torch_reduction("amin"),
          samples=tuple(Sample(s.args, s.kwargs, "distinct") for s in _AXES)),
    Entry("var", var, methods=("var",), numpy=(np.var,), torch=_torch_reduction("var"),
          samples=(*_AXES, Sample(((3, 4),), {"axis": 0, "ddof": 1}))),
    Entry("softmax", softmax, methods=("softmax",), namespace="Tensor",
          torch=lambda T, x, axis=-1, dim=None: T.softmax(x, dim=dim if dim is not None
                                                          else axis),
          samples=(Sample(((3, 4),)), Sample(((2, 3, 4),), {"axis": 1}),
                   Sample(((2, 3),), {"dim": 0}))),
    Entry("log_softmax", log_softmax, methods=("log_softmax",), namespace="Tensor",
          torch=lambda T, x, axis=-1, dim=None: T.log_softmax(x, dim=dim if dim is not None
                                                              else axis),
          samples=(Sample(((3, 4),)), Sample(((2, 3, 4),), {"axis": 1}),
                   Sample(((2, 3),), {"dim": 0}))),
]
