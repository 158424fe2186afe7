"""Joining and splitting, composed from ``concatenate``, ``reshape`` and indexing (no
primitive of their own): split and array_split (pieces are recorded slices, so their
gradients flow back), cat, vstack, hstack, dstack, column_stack, atleast_1d/2d/3d.

``ag.split`` follows NumPy (an int is a number of equal sections, a list holds split
indices); the method ``t.split`` follows PyTorch (an int is a piece size, a list holds
piece sizes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._support import as_tensor, axis_spelling, normalize_axes
from .shape import concatenate
from .table import Entry, Lit, Sample

# ---- splitting ------------------------------------------------------------------------


def _split_axis(name: str, x: Tensor, axis: Any, dim: Any = None) -> int:
    """The one axis to split along, from ``axis`` or ``dim`` (default 0)."""
    axis, _ = axis_spelling(name, axis, False, dim)
    axis = 0 if axis is None else axis
    if x.ndim == 0:
        raise ValueError(f"{name}: cannot split a 0-d tensor")
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    (ax,) = normalize_axes(axis, x.shape, name)
    return ax


def _pieces(x: Tensor, ax: int, bounds: Sequence[int]) -> list[Tensor]:
    """The slices ``bounds[i]:bounds[i+1]`` of ``x`` along ``ax`` (recorded getitems)."""
    lead = (slice(None),) * ax
    return [x[(*lead, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:])]


def _section_bounds(name: str, x: Tensor, ax: int, sections: Any, equal: bool) -> list[int]:
    """NumPy's split points: ``sections`` pieces (the first ``n % sections`` one longer),
    or the given indices."""
    n = x.shape[ax]
    if not isinstance(sections, (int, np.integer)):
        return [0, *(int(i) for i in sections), n]
    if sections <= 0:
        raise ValueError(f"{name}: the number of sections must be positive, got {sections}")
    size, extra = divmod(n, int(sections))
    if equal and extra:
        raise ValueError(f"{name}: axis {ax} of length {n} (shape {x.shape}) does not divide "
                         f"into {sections} equal sections; use array_split")
    sizes = [size + 1] * extra + [size] * (int(sections) - extra)
    return [0, *np.cumsum(sizes).tolist()]


def split(ary: Any, indices_or_sections: Any, axis: int | None = None, *,
          dim: int | None = None) -> list[Tensor]:
    """NumPy's split along ``axis`` (or ``dim``; default 0): ``indices_or_sections`` an int
    (that many equal pieces; the length along ``axis`` must divide) or a list of split
    indices. Returns a list of Tensors, the pieces of ``ary`` (shapes differ only there)."""
    x = as_tensor(ary)
    ax = _split_axis("split", x, axis, dim)
    return _pieces(x, ax, _section_bounds("split", x, ax, indices_or_sections, equal=True))


def array_split(ary: Any, indices_or_sections: Any, axis: int | None = None, *,
                dim: int | None = None) -> list[Tensor]:
    """Like :func:`split`, but an int need not divide the length: the first
    ``length % sections`` pieces are one longer. Returns a list of Tensors."""
    x = as_tensor(ary)
    ax = _split_axis("array_split", x, axis, dim)
    return _pieces(x, ax, _section_bounds("array_split", x, ax, indices_or_sections,
                                          equal=False))


def _split_method(self: Tensor, split_size_or_sections: Any, dim: int | None = None, *,
                  axis: int | None = None) -> tuple[Tensor, ...]:
    """PyTorch's ``t.split``: an int is the size of each piece (the last may be smaller),
    a list gives every piece's size (they must add up to the length along ``dim``)."""
    ax = _split_axis("split", self, axis, dim)
    n = self.shape[ax]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: the piece size must be positive, got "
                             f"{split_size_or_sections}")
        bounds = [*range(0, n, int(split_size_or_sections)), n]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim {ax} of "
                             f"shape {self.shape} has length {n}")
        bounds = [0, *np.cumsum(sizes).tolist()]
    return tuple(_pieces(self, ax, bounds))


# ---- joining --------------------------------------------------------------------------


def _join(name: str, parts: list[Tensor], axis: int) -> Tensor:
    """``concatenate(parts, axis)``, with errors naming ``name`` and the shapes."""
    try:
        return concatenate(parts, axis=axis)
    except ValueError:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ValueError(f"{name}: cannot join tensors of shapes {shapes} "
                         f"(along axis {axis} after promotion)") from None


def _tensors(name: str, tup: Any) -> list[Tensor]:
    parts = [as_tensor(t) for t in tup]
    if not parts:
        raise ValueError(f"{name}: needs at least one tensor")
    return parts


def cat(tensors: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """PyTorch's ``cat``: ``concatenate`` along ``dim`` (or ``axis``; default 0)."""
    dim, _ = axis_spelling("cat", axis, False, dim)
    return _join("cat", _tensors("cat", tensors), 0 if dim is None else dim)


# Where atleast_Nd puts a tensor's existing axes among the N: NumPy's rules.
_PROMOTE = {
    1: {0: lambda s: (1,)},
    2: {0: lambda s: (1, 1), 1: lambda s: (1, *s)},
    3: {0: lambda s: (1, 1, 1), 1: lambda s: (1, *s, 1), 2: lambda s: (*s, 1)},
}


def _at_least(x: Any, ndim: int) -> Tensor:
    x = as_tensor(x)
    promote = _PROMOTE[ndim].get(x.ndim)
    return x if promote is None else x.reshape(promote(x.shape))


def _each(arys: tuple, ndim: int) -> Tensor | list[Tensor]:
    """NumPy's atleast_Nd result: one Tensor for one argument, else a list."""
    outs = [_at_least(a, ndim) for a in arys]
    return outs[0] if len(outs) == 1 else outs


def atleast_1d(*arys: Any) -> Tensor | list[Tensor]:
    """Each argument with at least one axis (0-d becomes shape (1,))."""
    return _each(arys, 1)


def atleast_2d(*arys: Any) -> Tensor | list[Tensor]:
    """Each argument with at least two axes ((n,) becomes (1, n))."""
    return _each(arys, 2)


def atleast_3d(*arys: Any) -> Tensor | list[Tensor]:
    """Each argument with at least three axes ((n,) becomes (1, n, 1), (m, n) (m, n, 1))."""
    return _each(arys, 3)


def vstack(tup: Any) -> Tensor:
    """Rows on top of each other: 1-D (n,) tensors become rows (1, n), then join on axis 0."""
    return _join("vstack", [_at_least(t, 2) for t in _tensors("vstack", tup)], 0)


def hstack(tup: Any) -> Tensor:
    """Side by side: 1-D tensors join along axis 0, others along axis 1."""
    parts = [_at_least(t, 1) for t in _tensors("hstack", tup)]
    return _join("hstack", parts, 0 if parts[0].ndim == 1 else 1)


def dstack(tup: Any) -> Tensor:
    """Along the third axis, after making each tensor at least 3-D (see atleast_3d)."""
    return _join("dstack", [_at_least(t, 3) for t in _tensors("dstack", tup)], 2)


def column_stack(tup: Any) -> Tensor:
    """1-D tensors (n,) as columns (n, 1) beside 2-D ones, joined along axis 1."""
    parts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _tensors("column_stack", tup)]
    return _join("column_stack", parts, 1)


# ---- the table ---------------------------------------------------------------------


def _torch_cat(T: Any, tensors: list, dim: int | None = None, axis: int | None = None) -> Any:
    return T.cat(tensors, dim=dim if dim is not None else axis if axis is not None else 0)


_SPLITS = (
    Sample(((6, 4), Lit(3))),
    Sample(((3, 5), Lit([1, 3])), {"axis": 1}),
)


def _stack_entry(name: str, function: Any, ufunc: Any, shapes: tuple) -> Entry:
    """A joining function of NumPy's (one list of tensors) with ``torch.<name>`` as reference."""
    return Entry(name, function, numpy=(ufunc,),
                 torch=lambda T, tensors: getattr(T, name)(tensors),
                 samples=tuple(Sample((list(s),)) for s in shapes))


def _atleast_entry(name: str, function: Any, ufunc: Any) -> Entry:
    return Entry(name, function, numpy=(ufunc,),
                 torch=lambda T, *xs: getattr(T, name)(*xs),
                 samples=(Sample(((),)), Sample(((3,),)), Sample(((2, 3),)),
                          Sample(((2, 3, 4),)), Sample(((), (3,), (2, 3)))))


ENTRIES = [
    Entry("split", split, methods=(("split", _split_method),), numpy=(np.split,),
          torch=lambda T, x, sections, axis=0: T.tensor_split(x, sections, dim=axis),
          samples=_SPLITS),
    Entry("array_split", array_split, numpy=(np.array_split,),
          torch=lambda T, x, sections, axis=0: T.tensor_split(x, sections, dim=axis),
          samples=(*_SPLITS, Sample(((7, 2), Lit(3))), Sample(((2, 5, 3), Lit(2)), {"axis": -2}),
                   Sample(((5,), Lit([2, 4]))))),
    Entry("cat", cat, torch=_torch_cat,
          samples=(Sample(([(2, 3), (4, 3)],)), Sample(([(2, 3), (2, 1)],), {"dim": 1}),
                   Sample(([(2, 3), (2, 2)],), {"axis": -1}))),
    _stack_entry("vstack", vstack, np.vstack, ([(3,), (3,)], [(2, 3), (1, 3)])),
    _stack_entry("hstack", hstack, np.hstack, ([(3,), (2,)], [(2, 3), (2, 1)])),
    _stack_entry("dstack", dstack, np.dstack, ([(3,), (3,)], [(2, 3), (2, 3)],
                                               [(2, 3, 1), (2, 3, 2)])),
    _stack_entry("column_stack", column_stack, np.column_stack, ([(3,), (3, 2)], [(3,), (3,)])),
    _atleast_entry("atleast_1d", atleast_1d, np.atleast_1d),
    _atleast_entry("atleast_2d", atleast_2d, np.atleast_2d),
    _atleast_entry("atleast_3d", atleast_3d, np.atleast_3d),
]
