"""Small helpers shared by the op families: operand conversion, method builders, axes.

VJPs are written once for arrays and Tensors; :func:`call` and :func:`const` let them
use other ops and non-differentiable NumPy functions on either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import engine
from ..engine import Op, apply, mode
from ..tensor import ArrayLike, Tensor

_SCALARS = (float, int, bool)


def call(op: Op, *args: Any, **params: Any) -> Any:
    """Run ``op`` on arrays directly, or recorded when any argument is a Tensor."""
    for a in args:
        if isinstance(a, Tensor):
            return apply(op, *args, **params)
    return op.forward(*args, **params)


def const(fn: Callable, x: Any) -> Any:
    """``fn`` applied to the values of ``x``, as a constant of the same kind (no gradient)."""
    if isinstance(x, Tensor):
        return unrecorded(fn, x)
    return fn(x)


def unrecorded(fn: Callable, *args: Any, **params: Any) -> Tensor:
    """``fn(*arrays, **params)`` on the arrays inside ``args``, as a Tensor with no gradient
    (comparisons, argmax, integer casts): not on the tape, but ``ag.compile`` replays it,
    so a mask computed this way follows the data instead of being frozen at trace time."""
    out = Tensor._make(fn(*[a.data if isinstance(a, Tensor) else a for a in args], **params),
                       None)
    if engine.tracer is not None:
        engine.tracer.computed(fn, args, params, out)
    return out


def operand(x: Any, like: Tensor) -> Any:
    """Make a non-Tensor operand ready for a binary op with ``like``.

    Python and NumPy scalars act as weak scalars (a float32 tensor stays float32, as in
    PyTorch); integer and boolean arrays take ``like``'s floating dtype.
    """
    if type(x) in _SCALARS:
        return x
    if isinstance(x, (list, tuple)):
        refuse_nested_tensors(x)
    arr = np.asarray(x)
    if arr.ndim == 0 and arr.dtype.kind in "biuf":
        return arr.item()
    if arr.dtype.kind in "biu" and like.data.dtype.kind == "f":
        out = arr.astype(like.data.dtype)
    elif arr.dtype.kind not in "biufc":
        raise TypeError(f"unsupported operand of type {type(x).__name__} with a Tensor")
    else:
        # A copy: the graph may lock what it saves read-only, and the caller's array is
        # theirs.
        out = arr.copy() if arr is x else arr
    if engine.tracer is not None:  # ag.compile redoes the conversion of an input array
        engine.tracer.converted(x, out)
    return out


def _holds_tensor(x: Any) -> bool:
    if isinstance(x, Tensor):
        return True
    return isinstance(x, (list, tuple)) and any(_holds_tensor(v) for v in x)


def refuse_nested_tensors(x: Any) -> None:
    """A list or tuple holding Tensors is no operand: ``np.asarray`` would read their
    values and silently cut them from the graph (PyTorch raises a ``TypeError`` too)."""
    if _holds_tensor(x):
        raise TypeError(
            f"a {type(x).__name__} holding Tensors cannot be an operand of a Tensor op: "
            f"its values would be copied without gradient; combine them with "
            f"ag.stack(...) first"
        )


# How a function marked by `records` applies its op; codegen writes the same body into
# the generated Tensor method, so an operator is one frame from `a * b` to the Node.
UNARY, BINARY, REFLECTED = "unary", "binary", "reflected"


def records(fn: Callable, op: Op, form: str) -> None:
    """Mark ``fn`` as exactly ``apply(op, ...)`` in ``form`` (UNARY ``op(self)``, BINARY
    ``op(self, other)``, REFLECTED ``op(other, self)``, ``other`` converted by
    :func:`operand` unless a Tensor), so the generated Tensor method can call
    ``engine.apply`` itself instead of calling ``fn``."""
    fn.records = (op, form)  # type: ignore[attr-defined]


def binary_method(op: Op, doc: str) -> Callable:
    """``self <op> other`` as a Tensor method."""

    def method(self: Tensor, other: ArrayLike) -> Tensor:
        if isinstance(other, Tensor):
            return apply(op, self, other)
        # No local keeps the converted operand: the graph's own references to it are all
        # the saved-array guard can vouch for, so a fresh copy is never checksummed.
        return apply(op, self, operand(other, self))

    method.__doc__ = doc
    records(method, op, BINARY)
    return method


def reflected_method(op: Op, doc: str) -> Callable:
    """``other <op> self`` as a Tensor method (``__radd__`` and friends)."""

    def method(self: Tensor, other: ArrayLike) -> Tensor:
        return apply(op, operand(other, self), self)

    method.__doc__ = doc
    records(method, op, REFLECTED)
    return method


def inplace_method(op: Op, symbol: str) -> Callable:
    """``self <op>= other``: rebinds ``self.data`` to a new array when nothing records it.

    The old array is never written, so a graph that saved it stays correct. On a leaf
    that requires grad while grad mode is on this is an error (as in PyTorch): do such
    updates under ``ag.no_grad()``.
    """

    def method(self: Tensor, other: ArrayLike) -> Tensor:
        if not isinstance(other, Tensor):
            other = operand(other, self)
        if mode.enabled and self.requires_grad:
            if self.node is None:
                raise RuntimeError(
                    f"'{symbol}' on a leaf tensor that requires grad would cut it from the "
                    f"graph; update parameters inside `with ag.no_grad():`"
                )
            return apply(op, self, other)
        other_data = other.data if isinstance(other, Tensor) else other
        self.data = op.forward(self.data, other_data).astype(self.data.dtype, copy=False)
        return self

    method.__doc__ = f"In-place ``{symbol}`` (out of place underneath; see inplace_method)."
    return method


def as_tensor(x: Any) -> Tensor:
    """``x`` if it is a Tensor, else a constant Tensor of it (dtype rule of ``Tensor``)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)):
        refuse_nested_tensors(x)
    return Tensor(x)


def normalize_axes(axis: Any, shape: tuple, opname: str) -> tuple:
    """``axis`` (None, int, negative, tuple) as a sorted tuple of non-negative axes."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for ax in items:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"{opname}: axis must be an int, a tuple of ints or None, got {ax!r}")
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise ValueError(f"{opname}: axis {ax} is out of range for a tensor of shape {shape}")
        if ndim == 0:  # axis 0 or -1 of a 0-d tensor names no axis (PyTorch allows it)
            continue
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{opname}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` kept as size 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def axis_spelling(opname: str, axis: Any = None, keepdims: bool = False, dim: Any = None,
                  keepdim: bool | None = None) -> tuple[Any, bool]:
    """NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``, whichever was given.

    Both spellings of one argument at once is a ``TypeError`` naming ``opname``.
    """
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{opname}: got both axis= and dim=; pass one of them")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{opname}: got both keepdims= and keepdim=; pass one of them")
        keepdims = keepdim
    return axis, bool(keepdims)


def pair(a: Any, b: Any) -> tuple:
    """Both operands of a binary function ready for its op: at least one Tensor, the
    other a Tensor or a converted constant (see :func:`operand`)."""
    if isinstance(a, Tensor):
        return a, (b if isinstance(b, Tensor) else operand(b, a))
    if isinstance(b, Tensor):
        return operand(a, b), b
    return as_tensor(a), as_tensor(b)


def ddof_spelling(opname: str, ddof: int | None, unbiased: bool | None = None,
                  correction: int | None = None) -> int:
    """NumPy's ``ddof`` or PyTorch's ``unbiased=``/``correction=``, whichever was given
    (default 0, NumPy's); more than one of them is a ``TypeError`` naming ``opname``."""
    given = {k: v for k, v in (("ddof", ddof), ("unbiased", unbiased),
                               ("correction", correction)) if v is not None}
    if len(given) > 1:
        raise TypeError(f"{opname}: got {' and '.join(f'{k}=' for k in given)}; pass one of them")
    if unbiased is not None:
        return int(bool(unbiased))
    return int(ddof if ddof is not None else correction if correction is not None else 0)
