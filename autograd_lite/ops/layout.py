"""Layout ops: moving, adding and dropping axes, repeating, rolling, flipping, padding,
sorting and taking. Most are reshape, transpose, broadcast_to or indexing underneath
(their VJPs already exist and compose to any order); flip, roll and pad are primitives of
their own so their gradients stay exact copies instead of scatter-adds.

``ag.*`` functions follow NumPy; the Tensor methods listed in ``ENTRIES`` follow PyTorch
(``t.repeat`` tiles, ``t.squeeze(d)`` of a size-3 axis does nothing, ``t.expand(-1, 4)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import as_tensor, axis_spelling, call, normalize_axes
from .shape import broadcast_to_op, getitem_op, reshape_op, transpose_op
from .table import Entry, Lit, Sample

# ---- helpers shared with contractions and linalg ------------------------------------------


def ordered_axes(axes: Any, shape: tuple, opname: str) -> tuple[int, ...]:
    """``axes`` (an int or a sequence) of a tensor of ``shape`` as non-negative axes, in
    the order given (``normalize_axes`` sorts them)."""
    items = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    normalize_axes(items, shape, opname)  # type, range and repeats, named after opname
    return tuple(int(a) % max(len(shape), 1) for a in items)


def one_of(opname: str, torch_name: str, torch_value: Any, np_name: str, np_value: Any,
           default: Any) -> Any:
    """One argument given under its PyTorch or its NumPy name (not both), else default."""
    if torch_value is not None and np_value is not None:
        raise TypeError(f"{opname}: got both {torch_name}= and {np_name}=; pass one of them")
    value = torch_value if torch_value is not None else np_value
    return default if value is None else value


def axis_or_dim(opname: str, axis: Any, dim: Any, default: Any = None) -> Any:
    """NumPy's ``axis`` or PyTorch's ``dim``: ``dim`` replaces an ``axis`` left at its
    ``default``; both given is a TypeError naming ``opname``."""
    left = axis is None or (isinstance(axis, int) and axis == default)
    return axis_spelling(opname, None if left else axis, False, dim)[0] if dim is not None \
        else axis


def sizes_arg(args: tuple) -> tuple:
    """PyTorch's ``*sizes``: ``t.expand(2, 3)`` and ``t.expand((2, 3))`` alike."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _int_array(indices: Any, opname: str) -> np.ndarray:
    """Index values (Tensor, array, list or int) as an integer array."""
    arr = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"{opname}: indices must be integers, got dtype {arr.dtype}")
    return arr


def _check_bounds(idx: np.ndarray, n: int, opname: str, axis: int, shape: tuple) -> None:
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"{opname}: index {bad} is out of bounds for axis {axis} with size "
                         f"{n} (tensor of shape {shape})")


# ---- primitives: flip, roll, pad ----------------------------------------------------------


@primitive("flip", kind="shape", rule="flip: grad_in = flip(grad_out) along the same axes")
def flip_op(a, axes=()):
    return np.flip(a, axes).copy()  # a copy: never a view of the caller's array


@flip_op.defvjp
def _flip_vjp(g, out, a, axes=()):
    return (call(flip_op, g, axes=axes),)


@primitive("roll", kind="shape", rule="roll: grad_in = roll(grad_out) by the opposite shift")
def roll_op(a, shift=(), axes=()):
    return np.roll(a, shift, axes)


@roll_op.defvjp
def _roll_vjp(g, out, a, shift=(), axes=()):
    return (call(roll_op, g, shift=tuple(-s for s in shift), axes=axes),)


@primitive("pad", kind="shape", rule="pad: grad_in = grad_out without the padding")
def pad_op(a, widths=(), value=0):
    return np.pad(a, widths, mode="constant", constant_values=value)


@pad_op.defvjp
def _pad_vjp(g, out, a, widths=(), value=0):
    inside = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))
    return (call(getitem_op, g, index=inside),)


# ---- axes ----------------------------------------------------------------------------------


def swapaxes(a: Any, axis1: int, axis2: int) -> Tensor:
    """``np.swapaxes``: axes ``axis1`` and ``axis2`` exchanged."""
    a = as_tensor(a)
    i, j = (ordered_axes(ax, a.shape, "swapaxes")[0] for ax in (axis1, axis2))
    perm = list(range(a.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose_op(a, axes=tuple(perm))


def moveaxis(a: Any, source: Any, destination: Any) -> Tensor:
    """``np.moveaxis``: axes ``source`` moved to positions ``destination`` (ints or
    sequences of equal length), the others keeping their order."""
    a = as_tensor(a)
    src = ordered_axes(source, a.shape, "moveaxis")
    dst = ordered_axes(destination, a.shape, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} "
                         f"have different lengths")
    perm = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return transpose_op(a, axes=tuple(perm))


def squeeze(a: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.squeeze``: size-1 axes removed (all of them, or ``axis``, which must be 1)."""
    a = as_tensor(a)
    axis = axis_or_dim("squeeze", axis, dim)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = normalize_axes(axis, a.shape, "squeeze")
        for i in axes:
            if a.shape[i] != 1:
                raise ValueError(f"squeeze: axis {i} has size {a.shape[i]}, not 1 "
                                 f"(tensor of shape {a.shape})")
    return reshape_op(a, shape=tuple(n for i, n in enumerate(a.shape) if i not in axes))


def expand_dims(a: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.expand_dims``: size-1 axes inserted so they sit at ``axis`` (int or tuple)
    of the result."""
    a = as_tensor(a)
    axis = axis_or_dim("expand_dims", axis, dim)
    if axis is None:
        raise TypeError("expand_dims: missing the axis argument (expand_dims(x, 0))")
    ndim = a.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    try:
        new = normalize_axes(axis, (1,) * ndim, "expand_dims")
    except ValueError:
        raise ValueError(f"expand_dims: axis {axis!r} does not fit a result of {ndim} axes "
                         f"(tensor of shape {a.shape}), or repeats an axis") from None
    rest = iter(a.shape)
    return reshape_op(a, shape=tuple(1 if i in new else next(rest) for i in range(ndim)))


def ravel(a: Any) -> Tensor:
    """``np.ravel``: the elements as one axis (C order)."""
    return reshape_op(as_tensor(a), shape=(-1,))


# ---- repeating, rolling, flipping ------------------------------------------------------------


def _along(a: Tensor, idx: np.ndarray, axis: int) -> Tensor:
    """``a`` indexed by ``idx`` along ``axis`` (``np.take``); gradient a scatter-add."""
    return getitem_op(a, index=(slice(None),) * axis + (idx,))


def _one_axis_or_flat(name: str, a: Any, axis: Any, dim: Any) -> tuple[Tensor, int]:
    """``a`` as a Tensor and its one axis (``axis``/``dim``, non-negative); with neither
    given, NumPy's convention for repeat and take: the flattened tensor's axis 0."""
    a = as_tensor(a)
    axis = axis_or_dim(name, axis, dim)
    if axis is None:
        a, axis = ravel(a), 0
    (ax,) = normalize_axes(axis, a.shape, name)
    return a, ax


def repeat(a: Any, repeats: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.repeat``: each element repeated ``repeats`` times (an int, or one count per
    element) along ``axis`` (None: of the flattened tensor)."""
    a, ax = _one_axis_or_flat("repeat", a, axis, dim)
    counts = _int_array(repeats, "repeat")
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative, got {repeats!r}")
    try:
        idx = np.repeat(np.arange(a.shape[ax]), counts)
    except ValueError:
        raise ValueError(f"repeat: repeats of shape {counts.shape} do not match axis {ax} "
                         f"of size {a.shape[ax]} (tensor of shape {a.shape})") from None
    return _along(a, idx, ax)


def tile(A: Any, reps: Any) -> Tensor:
    """``np.tile``: ``A`` repeated ``reps`` times per axis (reps and shape padded with
    leading 1s to the same length); shape: elementwise product."""
    A = as_tensor(A)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    d = max(len(reps), A.ndim)
    shape = (1,) * (d - A.ndim) + A.shape
    reps = (1,) * (d - len(reps)) + reps
    # Interleave a size-1 axis before each one, broadcast it to the repeat count, merge.
    spread = reshape_op(A, shape=tuple(x for n in shape for x in (1, n)))
    spread = broadcast_to_op(spread, shape=tuple(x for pair in zip(reps, shape) for x in pair))
    return reshape_op(spread, shape=tuple(r * n for r, n in zip(reps, shape)))


def roll(a: Any, shift: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.roll``: elements shifted by ``shift`` along ``axis`` (ints or sequences,
    broadcast together), wrapping around; None: the flattened tensor, shape kept."""
    a = as_tensor(a)
    axis = axis_or_dim("roll", axis, dim)
    if axis is None:
        return reshape_op(roll(ravel(a), shift, 0), shape=a.shape)
    # One axis at a time: NumPy lets an axis repeat (its shifts add up).
    each = [ordered_axes(x, a.shape, "roll")[0]
            for x in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    try:
        shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(each))
    except ValueError:
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} do not broadcast "
                         f"together") from None
    return roll_op(a, shift=tuple(int(s) for s in shifts.ravel()),
                   axes=tuple(int(x) for x in axes.ravel()))


def flip(m: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.flip``: the order of elements reversed along ``axis`` (None: every axis)."""
    m = as_tensor(m)
    return flip_op(m, axes=normalize_axes(axis_or_dim("flip", axis, dim), m.shape, "flip"))


def _flip_one(name: str, m: Any, axis: int) -> Tensor:
    m = as_tensor(m)
    if m.ndim <= axis:
        raise ValueError(f"{name}: needs at least {axis + 1} axes, got shape {m.shape}")
    return flip_op(m, axes=(axis,))


def fliplr(m: Any) -> Tensor:
    """``np.fliplr``: columns (axis 1) reversed; needs 2 axes or more."""
    return _flip_one("fliplr", m, 1)


def flipud(m: Any) -> Tensor:
    """``np.flipud``: rows (axis 0) reversed; needs 1 axis or more."""
    return _flip_one("flipud", m, 0)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Tensor:
    """``np.rot90``: rotated ``k`` quarter turns from ``axes[0]`` towards ``axes[1]``;
    shape: those two sizes exchanged when ``k`` is odd."""
    m = as_tensor(m)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes!r}")
    if m.ndim < 2:
        raise ValueError(f"rot90: needs at least 2 axes, got shape {m.shape}")
    i, j = ordered_axes(axes, m.shape, "rot90")
    k %= 4
    if k == 0:
        return reshape_op(m, shape=m.shape)  # a new tensor, as NumPy returns a new view
    if k == 2:
        return flip_op(m, axes=tuple(sorted((i, j))))
    perm = list(range(m.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    if k == 1:
        return transpose_op(flip_op(m, axes=(j,)), axes=tuple(perm))
    return flip_op(transpose_op(m, axes=tuple(perm)), axes=(j,))


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """``np.pad`` in constant mode: ``pad_width`` (an int, a (before, after) pair, or one
    pair per axis) filled with ``constant_values``; each axis grows by before + after."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    array = as_tensor(array)
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (array.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape "
                         f"{array.shape} (give an int, a pair or one pair per axis)") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative integers, got {pad_width!r}")
    value = constant_values.item() if isinstance(constant_values, np.ndarray) and \
        constant_values.ndim == 0 else constant_values
    return pad_op(array, widths=tuple((int(lo), int(hi)) for lo, hi in widths), value=value)


# ---- sorting and taking ----------------------------------------------------------------------


def take(a: Any, indices: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
    """``np.take``: entries at ``indices`` along ``axis`` (None: of the flattened tensor);
    shape: a's with that axis replaced by the indices' shape. Repeated indices add up
    in the gradient."""
    a, ax = _one_axis_or_flat("take", a, axis, dim)
    idx = _int_array(indices, "take")
    _check_bounds(idx, a.shape[ax], "take", ax, a.shape)
    return _along(a, idx, ax)


def take_along_axis(arr: Any, indices: Any, axis: Any = -1, *, dim: Any = None) -> Tensor:
    """``np.take_along_axis``: ``arr`` picked at ``indices`` (same number of axes,
    broadcasting elsewhere) along ``axis``; None: of the flattened tensor with 1-D
    indices. Shape: the broadcast of both, with the indices' size on ``axis``."""
    arr = as_tensor(arr)
    idx = _int_array(indices, "take_along_axis")
    axis = axis_or_dim("take_along_axis", axis, dim, -1)
    if axis is None:
        arr, axis = ravel(arr), 0
    if idx.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} need as many axes "
                         f"as the tensor of shape {arr.shape}")
    (ax,) = normalize_axes(axis, arr.shape, "take_along_axis")
    _check_bounds(idx, arr.shape[ax], "take_along_axis", ax, arr.shape)
    # One index array per axis, shaped to broadcast against ``idx`` (NumPy's own recipe).
    index = tuple(idx if i == ax else np.arange(n).reshape([-1 if j == i else 1
                                                            for j in range(arr.ndim)])
                  for i, n in enumerate(arr.shape))
    try:
        np.broadcast_shapes(*(x.shape for x in index))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast "
                         f"against the tensor of shape {arr.shape} off axis {ax}") from None
    return getitem_op(arr, index=index)


def sort(a: Any, axis: Any = -1, *, dim: Any = None) -> Tensor:
    """``np.sort`` (values): sorted along ``axis`` (None: flattened); the gradient goes
    back through the sorting permutation."""
    a = as_tensor(a)
    axis = axis_or_dim("sort", axis, dim, -1)
    if axis is None:
        a, axis = ravel(a), 0
    (ax,) = normalize_axes(axis, a.shape, "sort")
    return take_along_axis(a, np.argsort(a.data, axis=ax, kind="stable"), ax)


# ---- PyTorch-signature methods -----------------------------------------------------------


def unsqueeze_method(self: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """``t.unsqueeze(dim)``: a size-1 axis inserted at ``dim`` (``axis=`` also accepted)."""
    d = one_of("unsqueeze", "dim", dim, "axis", axis, None)
    if d is None:
        raise TypeError("unsqueeze: missing the dim argument (t.unsqueeze(0))")
    return expand_dims(self, d)


def squeeze_method(self: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """``t.squeeze(dim=None)`` as PyTorch: size-1 axes among ``dim`` (None: all) removed;
    an axis whose size is not 1 is left alone."""
    axes = normalize_axes(axis_or_dim("squeeze", axis, dim), self.shape, "squeeze")
    return squeeze(self, tuple(i for i in axes if self.shape[i] == 1))


def expand_method(self: Tensor, *sizes: Any) -> Tensor:
    """``t.expand(*sizes)`` as PyTorch: broadcast to ``sizes``; -1 keeps an axis' size."""
    sizes = sizes_arg(sizes)
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape "
                         f"{self.shape}; give at least one per axis")
    shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    if any(n < 0 for n in shape):
        raise ValueError(f"expand: -1 is not allowed for the new leading axes in {sizes}")
    return broadcast_to_op(self, shape=shape)


def repeat_method(self: Tensor, *reps: Any) -> Tensor:
    """``t.repeat(*reps)`` as PyTorch: tiles (``np.tile``), one count per axis or more."""
    reps = sizes_arg(reps)
    if len(reps) < self.ndim:
        raise ValueError(f"repeat: {len(reps)} repeat counts for a tensor of shape "
                         f"{self.shape}; PyTorch's repeat needs one per axis (use "
                         f"ag.repeat for NumPy's element repeat)")
    return tile(self, reps)


def tile_method(self: Tensor, *reps: Any) -> Tensor:
    """``t.tile(*reps)`` as PyTorch (= ``np.tile``)."""
    return tile(self, sizes_arg(reps))


def flip_method(self: Tensor, *dims: Any, axis: Any = None) -> Tensor:
    """``t.flip(dims)`` as PyTorch (``t.flip(0, 1)``, ``t.flip((0, 1))``, ``axis=``)."""
    d = one_of("flip", "dims", sizes_arg(dims) or None, "axis", axis, None)
    if d is None:
        raise TypeError("flip: missing the dims argument (t.flip(0) or t.flip((0, 1)))")
    return flip(self, d)


def roll_method(self: Tensor, shifts: Any = None, dims: Any = None, *, shift: Any = None,
                 axis: Any = None) -> Tensor:
    """``t.roll(shifts, dims=None)`` as PyTorch (``shift=``/``axis=`` also accepted)."""
    s = one_of("roll", "shifts", shifts, "shift", shift, None)
    if s is None:
        raise TypeError("roll: missing the shifts argument")
    return roll(self, s, one_of("roll", "dims", dims, "axis", axis, None))


def swapaxes_method(self: Tensor, axis0: int, axis1: int) -> Tensor:
    """``t.swapaxes(axis0, axis1)`` as PyTorch."""
    return swapaxes(self, axis0, axis1)


def rot90_method(self: Tensor, k: int = 1, dims: Any = None, *, axes: Any = None) -> Tensor:
    """``t.rot90(k=1, dims=(0, 1))`` as PyTorch (``axes=`` also accepted)."""
    return rot90(self, k, one_of("rot90", "dims", dims, "axes", axes, (0, 1)))


def take_along_dim_method(self: Tensor, indices: Any, dim: Any = None) -> Tensor:
    """``t.take_along_dim(indices, dim=None)`` as PyTorch (= ``np.take_along_axis``)."""
    return take_along_axis(self, indices, dim)


# ---- the table ----------------------------------------------------------------------------


def _tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _torch_pad(T: Any, x: Any, pad_width: Any, mode: str = "constant",
               constant_values: Any = 0) -> Any:
    """np.pad's per-axis (before, after) pairs in torch.nn.functional.pad's order."""
    widths = np.broadcast_to(np.asarray(pad_width), (x.dim(), 2))
    flat = [int(w) for lo, hi in widths[::-1] for w in (lo, hi)]
    return T.nn.functional.pad(x, flat, mode=mode, value=constant_values)


def _torch_repeat(T: Any, x: Any, repeats: Any, axis: Any = None) -> Any:
    return T.repeat_interleave(x, T.as_tensor(repeats), dim=axis)


def _torch_take(T: Any, x: Any, indices: Any, axis: Any = None) -> Any:
    if axis is None:
        return x.reshape(-1)[T.as_tensor(indices)]
    return T.index_select(x, axis, T.as_tensor(indices).reshape(-1)).reshape(
        *x.shape[:axis % x.dim()], *np.shape(indices), *x.shape[axis % x.dim() + 1:])


_IDX = np.array([[2, 0, 2], [1, 1, 0]])

ENTRIES = [
    Entry("swapaxes", swapaxes, methods=(("swapaxes", swapaxes_method),),
          numpy=(np.swapaxes,), torch=lambda T, a, i, j: T.swapaxes(a, i, j),
          samples=(Sample(((2, 3, 4), Lit(0), Lit(-1))), Sample(((2, 3), Lit(1), Lit(1))))),
    Entry("moveaxis", moveaxis, methods=("moveaxis",), numpy=(np.moveaxis,),
          torch=lambda T, a, s, d: T.moveaxis(a, s, d),
          samples=(Sample(((2, 3, 4), Lit(0), Lit(-1))),
                   Sample(((2, 3, 4, 5), Lit((0, 3)), Lit((2, 0)))))),
    Entry("squeeze", squeeze, methods=(("squeeze", squeeze_method),), numpy=(np.squeeze,),
          torch=lambda T, a, axis=None: a.squeeze() if axis is None else a.squeeze(axis),
          samples=(Sample(((2, 1, 3, 1),)), Sample(((2, 1, 3, 1),), {"axis": -1}),
                   Sample(((1, 3, 1),), {"axis": (0, 2)}))),
    Entry("expand_dims", expand_dims, methods=(("unsqueeze", unsqueeze_method),),
          numpy=(np.expand_dims,), torch=lambda T, a, axis: _torch_unsqueeze(a, axis),
          samples=(Sample(((2, 3), Lit(0))), Sample(((2, 3), Lit(-1))),
                   Sample(((2, 3), Lit((0, 3)))))),
    Entry("ravel", ravel, methods=("ravel",), numpy=(np.ravel,),
          torch=lambda T, a: T.ravel(a), samples=(Sample(((2, 3, 4),)),)),
    # A Tensor method only: ag.broadcast_to (ops/shape.py) is NumPy's spelling of it.
    Entry("expand", expand_method, methods=("expand",), namespace="Tensor",
          torch=lambda T, a, *sizes: a.expand(*sizes),
          samples=(Sample(((3, 1), Lit(2), Lit(-1), Lit(4))), Sample(((), Lit(3))),
                   Sample(((2, 1), Lit((-1, 5)))))),
    Entry("repeat", repeat, methods=(("repeat", repeat_method),), numpy=(np.repeat,),
          torch=_torch_repeat,
          samples=(Sample(((2, 3), Lit(2))), Sample(((2, 3), Lit(2)), {"axis": 0}),
                   Sample(((2, 3), Lit([1, 0, 3])), {"axis": -1}))),
    Entry("tile", tile, methods=(("tile", tile_method),), numpy=(np.tile,),
          torch=lambda T, a, reps: T.tile(a, _tuple(reps)),
          samples=(Sample(((2, 3), Lit(2))), Sample(((2, 3), Lit((2, 1, 3)))),
                   Sample(((2, 1, 3), Lit((3, 2)))))),
    Entry("roll", roll, methods=(("roll", roll_method),), numpy=(np.roll,),
          torch=lambda T, a, shift, axis=None: T.roll(a, shift, axis),
          samples=(Sample(((2, 5), Lit(2))), Sample(((3, 4), Lit(-1)), {"axis": 1}),
                   Sample(((3, 4, 2), Lit((1, -2))), {"axis": (0, 1)}))),
    Entry("flip", flip, methods=(("flip", flip_method),), numpy=(np.flip,),
          torch=lambda T, a, axis=None: T.flip(a, tuple(range(a.dim())) if axis is None
                                                 else _tuple(axis)),
          samples=(Sample(((2, 3),)), Sample(((2, 3, 4),), {"axis": (0, -1)}),
                   Sample(((2, 3),), {"axis": 1}))),
    Entry("fliplr", fliplr, methods=("fliplr",), numpy=(np.fliplr,),
          torch=lambda T, a: T.fliplr(a), samples=(Sample(((2, 3, 2),)),)),
    Entry("flipud", flipud, methods=("flipud",), numpy=(np.flipud,),
          torch=lambda T, a: T.flipud(a), samples=(Sample(((3, 2),)), Sample(((4,),)))),
    Entry("rot90", rot90, methods=(("rot90", rot90_method),), numpy=(np.rot90,),
          torch=lambda T, m, k=1, axes=(0, 1): T.rot90(m, k, axes),
          samples=(Sample(((2, 3),)), Sample(((2, 3, 4),), {"k": 2, "axes": (1, 2)}),
                   Sample(((2, 3, 4),), {"k": -1, "axes": (2, 0)}),
                   Sample(((2, 3),), {"k": 4}))),
    Entry("pad", pad, numpy=(np.pad,), torch=_torch_pad,
          samples=(Sample(((2, 3), Lit(1))), Sample(((2, 3), Lit(((1, 0), (2, 3))))),
                   Sample(((2, 3, 2), Lit((0, 2))), {"constant_values": 1.5}))),
    Entry("sort", sort, numpy=(np.sort,),
          torch=lambda T, a, axis=-1: (T.sort(a.reshape(-1)) if axis is None
                                       else T.sort(a, dim=axis)).values,
          samples=(Sample(((3, 4),), domain="distinct"),
                   Sample(((3, 4),), {"axis": 0}, domain="distinct"),
                   Sample(((3, 4),), {"axis": None}, domain="distinct"))),
    Entry("take", take, methods=("take",), numpy=(np.take,), torch=_torch_take,
          samples=(Sample(((3, 4), Lit([0, 5, 5, -1]))),
                   Sample(((3, 4), Lit(_IDX)), {"axis": 1}),
                   Sample(((3, 4), Lit(2)), {"axis": 0}))),
    Entry("take_along_axis", take_along_axis,
          methods=(("take_along_dim", take_along_dim_method),),
          numpy=(np.take_along_axis,),
          torch=lambda T, a, idx, axis: T.take_along_dim(a, T.as_tensor(idx), axis),
          samples=(Sample(((2, 4), Lit(_IDX), Lit(1))),
                   Sample(((3, 3), Lit(_IDX), Lit(0))),
                   Sample(((1, 4), Lit(_IDX), Lit(1))),
                   Sample(((6,), Lit(np.array([5, 0, 0, 2])), Lit(None))))),
]


def _torch_unsqueeze(a: Any, axis: Any) -> Any:
    """np.expand_dims in PyTorch terms: one unsqueeze per new axis, in increasing order."""
    ndim = a.dim() + len(_tuple(axis))
    for ax in sorted(x % ndim for x in _tuple(axis)):
        a = a.unsqueeze(ax)
    return a
