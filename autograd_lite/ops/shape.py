"""Shape ops: reshape, transpose, indexing (scatter-add gradient), concatenate, stack,
broadcast_to and astype: forward beside VJP."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import as_tensor, call, normalize_axes


def _shape_arg(shape: tuple) -> tuple:
    """Accept ``reshape(2, 3)`` and ``reshape((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@primitive("reshape")
def reshape_op(a, shape=()):
    try:
        return np.reshape(a, shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                         f"({a.size} elements) into shape {shape}") from None


@reshape_op.defvjp
def _reshape_vjp(g, out, a, shape=()):
    return (g.reshape(a.shape),)


@primitive("transpose")
def transpose_op(a, axes=None):
    return np.transpose(a, axes)


@transpose_op.defvjp
def _transpose_vjp(g, out, a, axes=None):
    inverse = None if axes is None else tuple(np.argsort(axes))
    return (call(transpose_op, g, axes=inverse),)


@primitive("broadcast_to")
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


@primitive("astype")
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


@primitive("getitem")
def getitem_op(a, index=()):
    try:
        return a[index]
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {a.shape})") from None


@getitem_op.defvjp
def _getitem_vjp(g, out, a, index=()):
    return (call(scatter_add_op, g, shape=a.shape, index=index),)


@primitive("scatter_add")
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


def _getitem_method(self: Tensor, index: Any) -> Tensor:
    """``self[index]``: basic, integer-array and boolean-mask indexing.

    The gradient is a scatter-add, so repeated indices accumulate.
    """
    parts = index if isinstance(index, tuple) else (index,)
    return getitem_op(self, index=tuple(_index_part(i) for i in parts))


def _setitem_method(self: Tensor, index: Any, value: Any) -> None:
    raise TypeError(
        "Tensor does not support item assignment (it would change arrays saved for "
        "backward); build a new tensor, e.g. with ag.where"
    )


# ---- joining ------------------------------------------------------------------------


@primitive("concatenate")
def concatenate_op(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


@concatenate_op.defvjp
def _concatenate_vjp(g, out, *arrays, axis=0):
    bounds = np.cumsum([0] + [a.shape[axis] for a in arrays])
    lead = (slice(None),) * axis
    return tuple(g[(*lead, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:]))


@primitive("stack")
def stack_op(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


@stack_op.defvjp
def _stack_vjp(g, out, *arrays, axis=0):
    lead = (slice(None),) * axis
    return tuple(g[(*lead, i)] for i in range(len(arrays)))


def _join_check(name: str, tensors: Any) -> list:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    return tensors


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``: shapes must agree elsewhere."""
    tensors = _join_check("concatenate", tensors)
    (ax,) = normalize_axes(axis, tensors[0].shape, "concatenate")
    try:
        return concatenate_op(*tensors, axis=ax)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} differ off axis {axis}") from None


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis``."""
    tensors = _join_check("stack", tensors)
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


# ---- methods --------------------------------------------------------------------------


def _reshape_method(self: Tensor, *shape: Any) -> Tensor:
    """The same values in a new ``shape`` (one entry may be -1)."""
    return reshape_op(self, shape=_shape_arg(shape))


def _transpose_method(self: Tensor, *axes: Any) -> Tensor:
    """Permute axes (no ``axes``: reverse them)."""
    axes = _shape_arg(axes) if axes else None
    if axes is not None and sorted(normalize_axes(axes, self.shape, "transpose")) != list(
        range(self.ndim)
    ):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {self.ndim} axes")
    if axes is not None:
        axes = tuple(a % self.ndim for a in axes)
    return transpose_op(self, axes=axes)


def _flatten_method(self: Tensor) -> Tensor:
    """A 1-D view of all elements."""
    return reshape_op(self, shape=(-1,))


def _astype_method(self: Tensor, dtype: Any) -> Tensor:
    """A copy with ``dtype``; the gradient is cast back to this tensor's dtype.

    Casting to a non-floating dtype cuts the graph: integers carry no gradient.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        return Tensor._make(self.data.astype(dtype), None)
    return astype_op(self, dtype=dtype)


def _broadcast_to_method(self: Tensor, *shape: Any) -> Tensor:
    """This tensor broadcast to ``shape``; the gradient sums back."""
    return broadcast_to_op(self, shape=_shape_arg(shape))


Tensor.reshape = _reshape_method
Tensor.transpose = _transpose_method
Tensor.flatten = _flatten_method
Tensor.astype = _astype_method
Tensor.broadcast_to = _broadcast_to_method
Tensor.T = property(lambda self: transpose_op(self, axes=None), doc="Axes reversed.")
Tensor.__getitem__ = _getitem_method
Tensor.__setitem__ = _setitem_method
