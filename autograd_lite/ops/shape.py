"""Shape ops: reshape, transpose, indexing (scatter-add gradient), concatenate, stack,
broadcast_to and astype: forward beside VJP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import ArrayLike, Tensor
from ._support import as_tensor, call, normalize_axes, unrecorded
from .table import Entry, Lit, Sample


def _shape_arg(shape: tuple) -> tuple:
    """Accept ``reshape(2, 3)`` and ``reshape((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@primitive("reshape", kind="shape", rule="reshape: grad_in = grad_out.reshape(x.shape)")
def reshape_op(a, shape=()):
    try:
        return np.reshape(a, shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                         f"({a.size} elements) into shape {shape}") from None


@reshape_op.defvjp
def _reshape_vjp(g, out, a, shape=()):
    return (g.reshape(a.shape),)


@primitive("transpose", kind="shape",
           rule="transpose: grad_in = grad_out transposed by the inverse permutation")
def transpose_op(a, axes=None):
    return np.transpose(a, axes)


@transpose_op.defvjp
def _transpose_vjp(g, out, a, axes=None):
    inverse = None if axes is None else tuple(np.argsort(axes))
    return (call(transpose_op, g, axes=inverse),)


@primitive("broadcast_to", kind="shape",
           rule="broadcast_to: grad_in = grad_out summed over the broadcast axes")
def broadcast_to_op(a, shape=()):
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: shape {a.shape} cannot be broadcast to {shape}") from None


@broadcast_to_op.defvjp
def _broadcast_to_vjp(g, out, a, shape=()):
    return (g,)  # the engine sums g back to a's shape


def expand(g: Any, shape: tuple) -> Any:
    """``g`` broadcast to ``shape`` (a read-only view for arrays, recorded for Tensors)."""
    return call(broadcast_to_op, g, shape=shape)


@primitive("astype", kind="elementwise", rule="astype: grad_in = grad_out cast to x.dtype")
def astype_op(a, dtype=None):
    return a.astype(dtype)


@astype_op.defvjp
def _astype_vjp(g, out, a, dtype=None):
    return (call(astype_op, g, dtype=a.dtype),)


# ---- indexing -----------------------------------------------------------------------


def _is_basic(index: tuple) -> bool:
    """True for ints, slices, None and Ellipsis only: no index can repeat."""
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
               for i in index)


@primitive("getitem", kind="index",
           rule="getitem: grad_in = zeros with grad_out added at index (repeats add up)")
def getitem_op(a, index=()):
    try:
        return a[index]
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {a.shape})") from None


@getitem_op.defvjp
def _getitem_vjp(g, out, a, index=()):
    return (call(scatter_add_op, g, shape=a.shape, index=index),)


@primitive("scatter_add", kind="index", rule="scatter_add: grad_in = grad_out[index]")
def scatter_add_op(g, shape=(), index=()):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        z[index] = g
    else:
        np.add.at(z, index, g)
    return z


@scatter_add_op.defvjp
def _scatter_add_vjp(g, out, grad, shape=(), index=()):
    return (call(getitem_op, g, index=index),)


def _index_part(i: Any) -> Any:
    if isinstance(i, Tensor):
        i = i.data
    if isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
        raise IndexError(
            f"getitem: index arrays must be integer or boolean, got {i.dtype}; "
            f"build them with dtype=np.int64 (a Tensor of floats cannot index)"
        )
    return i


def getitem(x: ArrayLike, index: Any) -> Tensor:
    """``x[index]``: basic, integer-array and boolean-mask indexing.

    The gradient is a scatter-add, so repeated indices accumulate.
    """
    parts = index if isinstance(index, tuple) else (index,)
    return getitem_op(as_tensor(x), index=tuple(_index_part(i) for i in parts))


def setitem_method(self: Tensor, index: Any, value: Any) -> None:
    """Refused: item assignment would change arrays saved for backward."""
    raise TypeError(
        "Tensor does not support item assignment (it would change arrays saved for "
        "backward); build a new tensor, e.g. with ag.where"
    )


# ---- joining ------------------------------------------------------------------------


@primitive("concatenate", kind="join",
           rule="concatenate: each input gets its slice of grad_out along axis")
def concatenate_op(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


@concatenate_op.defvjp
def _concatenate_vjp(g, out, *arrays, axis=0):
    axis %= g.ndim  # the primitive may be called with a negative axis
    bounds = np.cumsum([0] + [a.shape[axis] for a in arrays])
    lead = (slice(None),) * axis
    return tuple(g[(*lead, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:]))


@primitive("stack", kind="join", rule="stack: input i gets grad_out[i] along axis")
def stack_op(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


@stack_op.defvjp
def _stack_vjp(g, out, *arrays, axis=0):
    lead = (slice(None),) * (axis % g.ndim)  # the primitive may be called with axis < 0
    return tuple(g[(*lead, i)] for i in range(len(arrays)))


def _join_check(name: str, tensors: Any) -> list:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    return tensors


def _join_axis(name: str, axis: Any, dim: Any) -> Any:
    """``dim`` (PyTorch's spelling) or ``axis``; both given is a TypeError."""
    if axis is None:
        raise TypeError(f"{name}: axis=None (join flattened inputs) is not supported; "
                        f"ravel the inputs first")
    if dim is None:
        return axis
    if axis != 0:
        raise TypeError(f"{name}: got both axis= and dim=; pass one of them")
    return dim


def concatenate(arrays: Sequence[ArrayLike], axis: int = 0, *,
                dim: int | None = None) -> Tensor:
    """Join tensors along an existing ``axis`` (or ``dim``): shapes must agree elsewhere."""
    tensors = _join_check("concatenate", arrays)
    axis = _join_axis("concatenate", axis, dim)
    (ax,) = normalize_axes(axis, tensors[0].shape, "concatenate")
    try:
        return concatenate_op(*tensors, axis=ax)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} differ off axis {axis}") from None


def stack(arrays: Sequence[ArrayLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new ``axis`` (or ``dim``)."""
    tensors = _join_check("stack", arrays)
    axis = _join_axis("stack", axis, dim)
    ndim = tensors[0].ndim
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"stack: axis must be an int, got {axis!r}")
    if not -ndim - 1 <= axis <= ndim:
        raise ValueError(f"stack: axis {axis} is out of range for tensors of shape "
                         f"{tensors[0].shape} (valid: {-ndim - 1}..{ndim})")
    ax = int(axis) % (ndim + 1)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all shapes must be equal, got {sorted(shapes)}")
    return stack_op(*tensors, axis=ax)


# ---- public functions and methods ------------------------------------------------------


def reshape(a: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """The same values in a new ``shape`` (one entry may be -1)."""
    return reshape_op(as_tensor(a), shape=_shape_arg((shape,)))


def reshape_method(self: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
    return reshape_op(self, shape=_shape_arg(shape))


def transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """NumPy's transpose: axes permuted by ``axes`` (None: reversed)."""
    a = as_tensor(a)
    if axes is None:
        return transpose_op(a, axes=None)
    return transpose_op(a, axes=_permutation(a, tuple(axes)))


def _permutation(a: Tensor, axes: tuple) -> tuple:
    if len(axes) != a.ndim or sorted(normalize_axes(axes, a.shape, "transpose")) != list(
            range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes "
                         f"of a tensor of shape {a.shape}")
    return tuple(int(ax) % a.ndim for ax in axes)


def transpose_method(self: Tensor, *dims: Any) -> Tensor:
    """No dims: axes reversed; two: those axes swapped (PyTorch); one per axis: permuted."""
    dims = _shape_arg(dims) if dims else ()
    if not dims:
        return transpose_op(self, axes=None)
    if len(dims) == 2:
        d0, d1 = normalize_axes(dims[0], self.shape, "transpose") + normalize_axes(
            dims[1], self.shape, "transpose")
        perm = list(range(self.ndim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return transpose_op(self, axes=tuple(perm))
    return transpose_op(self, axes=_permutation(self, dims))


def permute_method(self: Tensor, *dims: Any) -> Tensor:
    """Axes permuted by ``dims`` (one entry per axis), as ``torch.permute``."""
    return transpose_op(self, axes=_permutation(self, _shape_arg(dims)))


def t_method(self: Tensor) -> Tensor:
    """The transpose of a tensor of at most 2 axes, as ``torch.Tensor.t``."""
    if self.ndim > 2:
        raise ValueError(f"t(): expects a tensor of at most 2 axes, got shape {self.shape}; "
                         f"use transpose(d0, d1) or permute")
    return transpose_op(self, axes=None)


def flatten(x: ArrayLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes ``start_dim..end_dim`` joined into one, as ``torch.flatten`` (by default all:
    a 1-D view of every element; ``x.flatten(1)`` keeps the batch axis)."""
    x = as_tensor(x)
    if x.ndim == 0:
        normalize_axes(start_dim, (1,), "flatten")
        normalize_axes(end_dim, (1,), "flatten")
        return reshape_op(x, shape=(1,))
    (start,) = normalize_axes(start_dim, x.shape, "flatten")
    (end,) = normalize_axes(end_dim, x.shape, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for a tensor of shape {x.shape}")
    joined = int(np.prod(x.shape[start:end + 1]))
    return reshape_op(x, shape=x.shape[:start] + (joined,) + x.shape[end + 1:])


def astype(x: ArrayLike, dtype: Any) -> Tensor:
    """A copy with ``dtype``; the gradient is cast back to this tensor's dtype.

    Casting to a non-floating dtype cuts the graph: integers carry no gradient.
    """
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        return unrecorded(np.ndarray.astype, x, dtype)
    return astype_op(x, dtype=dtype)


def float_method(self: Tensor) -> Tensor:
    """Cast to float32 (differentiable), as ``torch.Tensor.float``."""
    return astype(self, np.float32)


def double_method(self: Tensor) -> Tensor:
    """Cast to float64 (differentiable), as ``torch.Tensor.double``."""
    return astype(self, np.float64)


def broadcast_to(array: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """``array`` broadcast to ``shape``; the gradient sums back."""
    return broadcast_to_op(as_tensor(array), shape=_shape_arg((shape,)))


def broadcast_to_method(self: Tensor, *shape: Any) -> Tensor:
    """This tensor broadcast to ``shape``; the gradient sums back."""
    return broadcast_to_op(self, shape=_shape_arg(shape))


# ---- the op table --------------------------------------------------------------------

_CUBE = (2, 3, 4)
_MASK = np.array([[True, False, True], [False, True, True]])
ENTRIES = [
    Entry("reshape", reshape, methods=(("reshape", reshape_method), ("view", reshape_method)),
          numpy=(np.reshape,), torch=lambda T, x, s: T.reshape(x, np.atleast_1d(s).tolist()),
          samples=(Sample(((3, 4), Lit((2, 6)))), Sample((_CUBE, Lit((-1, 4)))),
                   Sample(((6,), Lit(6))))),
    Entry("transpose", transpose,
          methods=(("transpose", transpose_method), ("permute", permute_method),
                   ("t", t_method)),
          properties=(("T", transpose),), numpy=(np.transpose,),
          torch=lambda T, x, axes=None: x.permute(*(axes or range(x.ndim)[::-1])),
          samples=(Sample(((3, 4),)), Sample((_CUBE,)), Sample((_CUBE, Lit((1, 2, 0)))),
                   Sample((_CUBE, Lit((-1, 0, 1)))))),
    Entry("flatten", flatten, methods=("flatten",), namespace="Tensor",
          torch=lambda T, x, start_dim=0, end_dim=-1: T.flatten(x, start_dim, end_dim),
          samples=(Sample(((3, 4),)), Sample((_CUBE,)), Sample((_CUBE, Lit(1))),
                   Sample(((2, 3, 2, 2), Lit(1), Lit(-2))))),
    Entry("astype", astype,
          methods=("astype", ("float", float_method), ("double", double_method)),
          numpy=(np.astype,) if hasattr(np, "astype") else (),
          torch=lambda T, x, dtype: x.to(T.float64),
          samples=(Sample(((3, 4), Lit(np.float64))), Sample(((2, 1, 3), Lit("float64"))))),
    Entry("broadcast_to", broadcast_to, methods=(("broadcast_to", broadcast_to_method),),
          numpy=(np.broadcast_to,), torch=lambda T, x, s: T.broadcast_to(x, s),
          samples=(Sample(((3, 1), Lit((2, 3, 4)))), Sample(((4,), Lit((3, 4)))))),
    Entry("getitem", getitem, namespace="Tensor",
          operators=(("__getitem__", getitem), ("__setitem__", setitem_method)),
          torch=lambda T, x, i: x[i],
          samples=(Sample(((3, 4), Lit((slice(None), 1)))),
                   Sample(((5, 3), Lit((np.array([0, 2, 0, 4]),)))),
                   Sample(((2, 3), Lit(_MASK))))),
    Entry("concatenate", concatenate, numpy=(np.concatenate,),
          torch=lambda T, xs, axis=0, dim=None: T.cat(xs, dim=axis if dim is None else dim),
          samples=(Sample(([(2, 3), (4, 3)],)), Sample(([(2, 3), (2, 1)],), {"axis": 1}),
                   Sample(([(2, 3), (2, 2)],), {"dim": -1}))),
    Entry("stack", stack, numpy=(np.stack,),
          torch=lambda T, xs, axis=0, dim=None: T.stack(xs, dim=axis if dim is None else dim),
          samples=(Sample(([(2, 3), (2, 3)],)),
                   Sample(([(2, 3), (2, 3), (2, 3)],), {"axis": -1}),
                   Sample(([(3,), (3,)],), {"dim": 1}))),
]
