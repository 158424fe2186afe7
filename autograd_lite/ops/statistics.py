"""More reductions: std, prod (exact with zeros), cumsum, logsumexp, argmax/argmin.

Every function takes NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``.
``std`` is composed (``sqrt(var)``); ``prod``, ``cumsum`` and ``logsumexp`` are
primitives because dividing by the input (zeros), a flip-and-add loop (speed) and a
naive log-of-sum (overflow) would not do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import (
    as_tensor,
    axis_spelling,
    call,
    ddof_spelling,
    kept_shape,
    normalize_axes,
    unrecorded,
)
from .arithmetic import where_op
from .elementwise import exp_op
from .reductions import _axes
from .shape import transpose_op
from .table import Entry, Sample

# ---- prod: the gradient is the product of the *other* elements ----------------------


def _order(ndim: int, axes: tuple) -> tuple:
    """The axis order that puts the reduced ``axes`` last."""
    return tuple(i for i in range(ndim) if i not in axes) + axes


def _grouped(x: Any, axes: tuple) -> Any:
    """``x`` (array or Tensor) with the reduced ``axes`` moved last and merged into one."""
    moved = call(transpose_op, x, axes=_order(x.ndim, axes))
    lead = moved.shape[:x.ndim - len(axes)]
    return moved.reshape(lead + (int(np.prod(moved.shape[len(lead):], dtype=np.int64)),))


def _ungrouped(y: Any, shape: tuple, axes: tuple) -> Any:
    """The inverse of :func:`_grouped`: ``y`` back in the layout of ``shape``."""
    order = _order(len(shape), axes)
    moved = y.reshape(tuple(shape[i] for i in order))
    return call(transpose_op, moved, axes=tuple(int(i) for i in np.argsort(order)))


@primitive("prod_others", saves=(0,), rule="prod_others: grad_in[k] = sum over i != k of "
           "grad_out[i] * (product of the elements other than i and k)")
def others_op(a, axes=()):
    """Each element replaced by the product of the other elements of its reduced group:
    exclusive cumulative products from both ends, exact whatever zeros ``a`` holds."""
    flat = _grouped(a, axes)
    n = flat.shape[-1]
    ones = np.ones((*flat.shape[:-1], 1), dtype=a.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return _ungrouped(left[..., :n] * right[..., :n], a.shape, axes)


@others_op.defvjp
def _others_vjp(g, out, a, axes=()):
    # Row k of `rows` is the group with element k replaced by 1, so others_op of a row gives,
    # at i != k, the product of everything but i and k. Written with others_op itself, the
    # VJP is differentiable again (third and higher derivatives stay exact with zeros).
    # Cost: an n x n array per group of n reduced elements, paid only by second and higher
    # derivatives (the first-order VJP of prod is O(n)); exactness at zeros is the point.
    flat = _grouped(a, axes)
    n = flat.shape[-1]
    eye = np.eye(n, dtype=flat.dtype)
    rows = flat.reshape((*flat.shape[:-1], 1, n)) * (1 - eye) + eye
    pairs = call(others_op, rows, axes=(rows.ndim - 1,))
    gflat = _grouped(g, axes)
    grad = (gflat.reshape((*gflat.shape[:-1], 1, n)) * (1 - eye) * pairs).sum(axis=-1)
    return (_ungrouped(grad, a.shape, axes),)


@primitive("prod", saves=(0,), kind="reduction",
           rule="prod: grad_in = grad_out * (product of the other elements)")
def prod_op(a, axes=(), keepdims=False):
    return np.prod(a, axis=axes, keepdims=keepdims)


@prod_op.defvjp
def _prod_vjp(g, out, a, axes=(), keepdims=False):
    return (g.reshape(kept_shape(a.shape, axes)) * call(others_op, a, axes=axes),)


# ---- cumsum and logsumexp -----------------------------------------------------------


@primitive("cumsum", rule="cumsum: grad_in = reversed cumsum of reversed grad_out")
def cumsum_op(a, axis=0):
    return np.cumsum(a, axis=axis)


@cumsum_op.defvjp
def _cumsum_vjp(g, out, a, axis=0):
    backwards = (slice(None),) * axis + (slice(None, None, -1),)
    return (call(cumsum_op, g[backwards], axis=axis)[backwards],)


@primitive("logsumexp", saves=(0,), needs_out=True, kind="reduction",
           rule="logsumexp: grad_in = grad_out * exp(x - out)")
def logsumexp_op(a, axes=(), keepdims=False):
    # Shift by the max so exp never overflows; an infinite max (all -inf, or +inf) is not
    # subtracted, so those slices give -inf / +inf rather than NaN.
    shift = np.max(a, axis=axes, keepdims=True, initial=-np.inf)  # empty: -inf, as torch
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.sum(np.exp(a - shift), axis=axes, keepdims=True)) + shift
    return total if keepdims else np.squeeze(total, axis=axes)


@logsumexp_op.defvjp
def _logsumexp_vjp(g, out, a, axes=(), keepdims=False):
    kept = kept_shape(a.shape, axes)
    return (g.reshape(kept) * call(exp_op, a - out.reshape(kept)),)


# ---- public functions ---------------------------------------------------------------


def _reduced(name: str, x: Any, axis: Any, keepdims: bool, dim: Any,
             keepdim: bool | None) -> tuple[Tensor, tuple, bool]:
    """``x`` as a Tensor, the normalized reduced axes and ``keepdims``, either spelling."""
    axis, keepdims = axis_spelling(name, axis, keepdims, dim, keepdim)
    x = as_tensor(x)
    return x, _axes(axis, x.shape, name), keepdims


def _single_axis(name: str, axis: Any, shape: tuple) -> int:
    """One axis (an int, negative counting from the end) of a tensor of ``shape``."""
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{name}: axis must be an int or None, got {axis!r}")
    (ax,) = normalize_axes(axis, shape or (1,), name)  # as NumPy, 0-d acts as 1-d here
    return ax


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int | None = None, *,
        dim: Any = None, keepdim: bool | None = None, unbiased: bool | None = None,
        correction: int | None = None) -> Tensor:
    """Standard deviation over ``axis`` (None: all; int; tuple), ``sqrt(var)``; ``ddof``
    defaults to 0 (NumPy); PyTorch's ``unbiased=``/``correction=`` are accepted. The
    result has ``x``'s shape without the reduced axes (kept as 1 with ``keepdims``)."""
    x, axes, keepdims = _reduced("std", x, axis, keepdims, dim, keepdim)
    ddof = ddof_spelling("std", ddof, unbiased, correction)
    return std_op(x, axes=axes, keepdims=keepdims, ddof=ddof)


@primitive("std", saves=(0,), needs_out=True, kind="reduction",
           rule="std: grad_in = grad_out * (x - mean) / ((n - ddof) * std) (0 where std is 0)")
def std_op(a, axes=(), keepdims=False, ddof=0):
    return np.std(a, axis=axes, keepdims=keepdims, ddof=ddof)


@std_op.defvjp
def _std_vjp(g, out, a, axes=(), keepdims=False, ddof=0):
    # sqrt(var) would give 0 * inf = NaN where the values are all equal; PyTorch gives 0
    # there, at every order: the scale is 0 where std is 0 (divided by 1 there, so no
    # inf enters the graph). n <= ddof: inf/NaN as torch.
    nonzero = (out.data if isinstance(out, Tensor) else out) != 0
    count = max(int(np.prod([a.shape[i] for i in axes])) - ddof, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = g / (call(where_op, out, 1.0, cond=nonzero) * np.float64(count))
        scale = call(where_op, scale, 0.0, cond=nonzero)
        centered = a - a.mean(axis=axes, keepdims=True)
        return (scale.reshape(kept_shape(a.shape, axes)) * centered,)


def prod(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: bool | None = None) -> Tensor:
    """Product over ``axis`` (None: all; int; tuple); shape as ``sum``. Gradients of
    every order are exact when ``x`` holds zeros (no division by ``x``)."""
    x, axes, keepdims = _reduced("prod", x, axis, keepdims, dim, keepdim)
    return prod_op(x, axes=axes, keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Cumulative sum along ``axis``; ``axis=None`` (NumPy's default) sums the flattened
    tensor (shape ``(x.size,)``, also for a 0-d ``x``), otherwise the shape of ``x``."""
    axis, _ = axis_spelling("cumsum", axis, False, dim)
    x = as_tensor(x)
    ax = 0 if axis is None else _single_axis("cumsum", axis, x.shape)
    if axis is None or x.ndim == 0:
        x = x.reshape(-1)
    return cumsum_op(x, axis=ax)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
              keepdim: bool | None = None) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis`` (None: all; int; tuple), without overflow;
    shape as ``sum``."""
    x, axes, keepdims = _reduced("logsumexp", x, axis, keepdims, dim, keepdim)
    return logsumexp_op(x, axes=axes, keepdims=keepdims)


def _arg_extreme(name: str, pick: Any, x: Any, axis: Any, keepdims: bool, dim: Any,
                 keepdim: bool | None) -> Tensor:
    axis, keepdims = axis_spelling(name, axis, keepdims, dim, keepdim)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.size == 0:
        raise ValueError(f"{name}: empty tensor of shape {data.shape} has no {name}")
    if axis is not None:
        axis = _single_axis(name, axis, data.shape)
    return unrecorded(pick, data, axis=axis, keepdims=keepdims)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
           keepdim: bool | None = None) -> Tensor:
    """Index of the (first) maximum along ``axis`` (None: of the flattened tensor), as an
    int64 Tensor that is not recorded (no gradient); shape as ``sum`` over ``axis``."""
    return _arg_extreme("argmax", np.argmax, x, axis, keepdims, dim, keepdim)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
           keepdim: bool | None = None) -> Tensor:
    """Index of the (first) minimum along ``axis`` (None: of the flattened tensor), as an
    int64 Tensor that is not recorded (no gradient); shape as ``sum`` over ``axis``."""
    return _arg_extreme("argmin", np.argmin, x, axis, keepdims, dim, keepdim)


# ---- the table ---------------------------------------------------------------------


def _torch_prod(T: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """torch.prod takes one dim: reduce the axes one at a time, last first."""
    for ax in sorted(normalize_axes(axis, tuple(x.shape), "prod"), reverse=True):
        x = T.prod(x, dim=ax, keepdim=keepdims)
    return x


def _all_dims(x: Any, axis: Any) -> Any:
    """PyTorch's spelling of NumPy's ``axis=None`` (every axis) for logsumexp."""
    return tuple(range(x.ndim)) if axis is None else axis


_REDUCE = (
    Sample(((3, 4),)),
    Sample(((3, 4),), {"axis": 1}),
    Sample(((2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    Sample(((2, 3, 4),), {"axis": -1}),
)
_PROD_ZEROS = (
    Sample(((3, 4),), {"axis": 1}, "zeros"),  # rows with two, one and one zeros
    Sample(((3, 4),), {"axis": 0, "keepdims": True}, "zeros"),  # one zero per column
    Sample(((3, 4),), {}, "zeros"),
    Sample(((2, 3, 4),), {"axis": (0, 2)}, "zeros"),
    Sample(((2, 3),), {"axis": -1}, "zeros"),  # a row with exactly two zeros
    Sample(((),)),
)
_ARG = (
    Sample(((3, 4),), domain="distinct"),
    Sample(((3, 4),), {"axis": 1}, "distinct"),
    Sample(((2, 3, 4),), {"axis": -2, "keepdims": True}, "distinct"),
)

ENTRIES = [
    Entry("std", std, methods=("std",), numpy=(np.std,),
          torch=lambda T, x, axis=None, keepdims=False, ddof=0:
          T.std(x, dim=axis, correction=ddof, keepdim=keepdims),
          samples=(*_REDUCE, Sample(((3, 4),), {"axis": 0, "ddof": 1}))),
    Entry("prod", prod, methods=("prod",), numpy=(np.prod,), torch=_torch_prod,
          samples=_REDUCE + _PROD_ZEROS),
    Entry("cumsum", cumsum, methods=("cumsum",), numpy=(np.cumsum,),
          torch=lambda T, x, axis=None: T.cumsum(x.reshape(-1), 0) if axis is None
          else T.cumsum(x, axis),
          samples=(Sample(((3, 4),)), Sample(((3, 4),), {"axis": 1}),
                   Sample(((2, 3, 4),), {"axis": -3}), Sample(((),)))),
    Entry("logsumexp", logsumexp, methods=("logsumexp",),
          torch=lambda T, x, axis=None, keepdims=False:
          T.logsumexp(x, dim=_all_dims(x, axis), keepdim=keepdims),
          samples=(*_REDUCE, Sample(((3, 4),), {"axis": -1}, "wide"))),
    Entry("argmax", argmax, methods=("argmax",), numpy=(np.argmax,),
          torch=lambda T, x, axis=None, keepdims=False: T.argmax(x, dim=axis, keepdim=keepdims),
          samples=_ARG, differentiable=False),
    Entry("argmin", argmin, methods=("argmin",), numpy=(np.argmin,),
          torch=lambda T, x, axis=None, keepdims=False: T.argmin(x, dim=axis, keepdim=keepdims),
          samples=_ARG, differentiable=False),
]
