"""Contractions and matrix parts: einsum (the one contraction primitive), tensordot, dot,
inner, outer, and trace, diag, diagonal, tril, triu built on indexing and ``where``.

``einsum``'s VJP is an einsum with the roles swapped (the output gradient contracted
with the other operands), so every derivative order is again an einsum.
"""

from __future__ import annotations

import functools
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Op, primitive
from ..tensor import Tensor
from ._support import as_tensor, call
from .arithmetic import where
from .layout import one_of, ordered_axes
from .reductions import sum_op
from .shape import getitem_op, reshape_op, scatter_add_op, transpose_op
from .table import Entry, Lit, Sample

_LETTERS = string.ascii_letters  # NumPy's order for implicit outputs: A-Z before a-z


# ---- einsum ---------------------------------------------------------------------------


def _einsum_forward(*operands, spec=""):
    # Path search pays off only from three operands on; two go straight to NumPy's loop.
    return np.einsum(spec, *operands, optimize=len(operands) > 2)


@functools.cache
def einsum_op(count: int) -> Op:
    """The einsum primitive for ``count`` operands (so it can lock every one it saves).

    ``spec`` is fully explicit: letters only, one term per operand, and an output.
    """
    op = primitive("einsum", saves=tuple(range(count)), needs_mask=True, kind="contraction",
                   rule="einsum: grad_operand = einsum(grad_out, other operands)")(
        _einsum_forward)
    op.defvjp(_einsum_vjp)
    return op


def _einsum_vjp(g, out, *operands, spec="", needs=()):
    lhs, target_out = spec.split("->")
    terms = lhs.split(",")
    sizes = _letter_sizes(terms, [o.shape for o in operands])
    grads = []
    for k, term in enumerate(terms):
        if not needs[k]:
            grads.append(None)
            continue
        fresh = iter(c for c in _LETTERS if c not in spec)
        subs = [target_out] + terms[:k] + terms[k + 1:]
        args = [g, *operands[:k], *operands[k + 1:]]
        target = ""
        for c in term:
            if c in target:
                # A repeated index ('ii'): the gradient lives on the diagonal, so route it
                # through an identity that ties c to a fresh output letter.
                f = next(fresh)
                subs.append(c + f)
                args.append(np.eye(sizes[c], dtype=g.dtype))
                target += f
                continue
            if c not in "".join(subs):
                # Summed out within this operand only: the gradient is constant along it.
                subs.append(c)
                args.append(np.ones(sizes[c], dtype=g.dtype))
            target += c
        grads.append(call(einsum_op(len(args)), *args, spec=",".join(subs) + "->" + target))
    return tuple(grads)


def _letter_sizes(terms: Sequence[str], shapes: Sequence[tuple]) -> dict:
    """Each index letter's size (the broadcast one: 1 gives way to n)."""
    sizes: dict = {}
    for term, shape in zip(terms, shapes):
        for c, n in zip(term, shape):
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


def _parse_einsum(subscripts: str, shapes: list[tuple]) -> str:
    """``subscripts`` made fully explicit for operands of ``shapes``: '...' becomes
    letters (right-aligned, as broadcasting aligns), the implicit output is written out
    (ellipsis axes first, then the indices used once, in NumPy's order). Errors name
    einsum, the subscripts and the shapes."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string like 'ij,jk->ik', got "
                        f"{subscripts!r}")
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    context = f"einsum: subscripts {subscripts!r} for shapes {', '.join(map(str, shapes))}"
    bad = set(spec.replace("...", "").replace("->", "").replace(",", "")) - set(_LETTERS)
    if bad:
        raise ValueError(f"{context}: invalid character(s) {sorted(bad)}; use letters, ',', "
                         f"'->' and '...'")
    if len(terms) != len(shapes):
        raise ValueError(f"{context}: the subscripts name {len(terms)} operand(s) but "
                         f"{len(shapes)} were given")
    if any(t.count("...") > 1 for t in [*terms, rhs]):
        raise ValueError(f"{context}: '...' may appear once per term")
    named = [len(t.replace("...", "")) for t in terms]
    extra = [len(s) - n for s, n in zip(shapes, named)]
    for term, shape, n, e in zip(terms, shapes, named, extra):
        if e < 0 or (e > 0 and "..." not in term):
            raise ValueError(f"{context}: term {term!r} names {n} axes but its operand has "
                             f"shape {shape}")
    free = [c for c in _LETTERS if c not in spec]
    ell = "".join(free[:max(extra, default=0)])
    full = [t.replace("...", ell[len(ell) - e:] if e else "") for t, e in zip(terms, extra)]
    if arrow:
        if ell and "..." not in rhs:
            raise ValueError(f"{context}: the operands have axes matched by '...' but the "
                             f"output has no '...' to hold them")
        out = rhs.replace("...", ell)
        used = "".join(full)
        missing = [c for c in out if c not in used]
        if missing or len(set(out)) != len(out):
            raise ValueError(f"{context}: every output index must appear in an input, once "
                             f"in the output")
    else:
        counts = Counter("".join(t.replace("...", "") for t in terms))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    _check_sizes(context, full, shapes)
    return ",".join(full) + "->" + out


def _check_sizes(context: str, terms: list[str], shapes: list[tuple]) -> None:
    """Every index has one size across operands (1 broadcasts)."""
    seen: dict = {}
    for term, shape in zip(terms, shapes):
        for c, n in zip(term, shape):
            m = seen.setdefault(c, n)
            if n != m and 1 not in (n, m):
                raise ValueError(f"{context}: index {c!r} has sizes {m} and {n}")
            seen[c] = max(n, m)


def einsum(subscripts: str, *operands: Any, optimize: Any = False) -> Tensor:
    """Einstein summation as ``np.einsum``: explicit ('ij,jk->ik') or implicit ('ij,jk')
    output, repeated indices ('ii->i', 'ii'), ellipsis broadcasting ('...ij,...jk->...ik').

    Shapes follow the subscripts; the gradient of each operand is again an einsum.
    ``optimize`` is accepted as NumPy's and ignored: the contraction order is chosen
    here and does not change the values.
    """
    tensors = [as_tensor(o) for o in operands]
    spec = _parse_einsum(subscripts, [t.shape for t in tensors])
    return einsum_op(len(tensors))(*tensors, spec=spec)


# ---- tensordot, dot, inner, outer --------------------------------------------------


def _tensordot_axes(axes: Any, a: Tensor, b: Tensor) -> tuple[tuple, tuple]:
    """``axes`` (an int n, or a pair of ints or of sequences) as two tuples of axes."""
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} is out of range for shapes {a.shape} "
                             f"and {b.shape}")
        return tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got "
                        f"{axes!r}") from None
    ax_a, ax_b = ordered_axes(ax_a, a.shape, "tensordot"), ordered_axes(ax_b, b.shape,
                                                                           "tensordot")
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(ax_a)} axes of a with "
                         f"{len(ax_b)} of b")
    return ax_a, ax_b


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """Sum of products over ``axes`` as ``np.tensordot``: ``axes=n`` pairs a's last n
    axes with b's first n; ``axes=([1, 0], [0, 1])`` pairs them explicitly.

    Shape: a's free axes followed by b's free axes.
    """
    a, b = as_tensor(a), as_tensor(b)
    ax_a, ax_b = _tensordot_axes(axes, a, b)
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} do not align on "
                             f"axes {list(ax_a)} and {list(ax_b)} ({a.shape[i]} != "
                             f"{b.shape[j]})")
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + \
        [c for j, c in enumerate(sb) if j not in ax_b]
    return einsum_op(2)(a, b, spec=f"{''.join(sa)},{''.join(sb)}->{''.join(out)}")


def dot(a: Any, b: Any) -> Tensor:
    """``np.dot``: scalars multiply; up to 2-D it is matmul; N-D contracts a's last axis
    with b's second-to-last (its only one when b is 1-D)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return a @ b
    inner_b = 0 if b.ndim == 1 else b.ndim - 2
    if a.shape[-1] != b.shape[inner_b]:
        raise ValueError(f"dot: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} != {b.shape[inner_b]})")
    return tensordot(a, b, axes=([a.ndim - 1], [inner_b]))


def inner(a: Any, b: Any) -> Tensor:
    """``np.inner``: sum of products over the last axes; shape a.shape[:-1] + b.shape[:-1]
    (scalars multiply)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: shapes {a.shape} and {b.shape} differ in the last axis "
                         f"({a.shape[-1]} != {b.shape[-1]})")
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(a: Any, b: Any) -> Tensor:
    """``np.outer``: every product of an element of ``a`` with one of ``b`` (both
    flattened); shape (a.size, b.size)."""
    a, b = as_tensor(a), as_tensor(b)
    return reshape_op(a, shape=(-1, 1)) * reshape_op(b, shape=(1, -1))


# ---- diagonals and triangles ------------------------------------------------------------


def _diagonal_index(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the ``offset`` diagonal of an (n1, n2) matrix."""
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    steps = np.arange(length)
    return steps + max(-offset, 0), steps + max(offset, 0)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """``np.diagonal``: the ``offset`` diagonal of the (axis1, axis2) planes, as a last
    axis after the remaining ones; shape (*others, length)."""
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 axes, got shape {a.shape}")
    ax1, ax2 = (ordered_axes(ax, a.shape, "diagonal")[0] for ax in (axis1, axis2))
    if ax1 == ax2:
        raise ValueError(f"diagonal: axis1 and axis2 are the same axis ({axis1}, {axis2}) "
                         f"for shape {a.shape}")
    perm = tuple(i for i in range(a.ndim) if i not in (ax1, ax2)) + (ax1, ax2)
    moved = a if perm == tuple(range(a.ndim)) else transpose_op(a, axes=perm)
    rows, cols = _diagonal_index(a.shape[ax1], a.shape[ax2], int(offset))
    return getitem_op(moved, index=(Ellipsis, rows, cols))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """``np.trace``: the sum of :func:`diagonal`; shape: a's other axes."""
    d = diagonal(a, offset, axis1, axis2)
    return sum_op(d, axes=(d.ndim - 1,), keepdims=False)


def diag(v: Any, k: int = 0) -> Tensor:
    """``np.diag``: a 1-D ``v`` placed on the ``k`` diagonal of a square matrix of side
    len(v) + |k|, or the ``k`` diagonal of a 2-D ``v``."""
    v = as_tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    return scatter_add_op(v, shape=(n, n), index=_diagonal_index(n, n, k))


def _triangle(name: str, m: Any, k: int, upper: bool) -> Tensor:
    """``m`` with zeros off the lower (on and below the ``k`` diagonal) or upper (on and
    above it) triangle of its last two axes; a 1-D ``m`` counts as every row of a square."""
    m = as_tensor(m)
    if m.ndim == 0:
        raise ValueError(f"{name}: needs at least 1 axis, got a 0-d tensor")
    rows, cols = m.shape[-2:] if m.ndim >= 2 else (m.shape[0], m.shape[0])
    keep = ~np.tri(rows, cols, k - 1, dtype=bool) if upper else np.tri(rows, cols, k, dtype=bool)
    return where(keep, m, 0.0)


def tril(m: Any, k: int = 0) -> Tensor:
    """``np.tril``: the last two axes with everything above the ``k`` diagonal zeroed
    (a 1-D ``m`` is taken as every row); shape of ``m`` (1-D: (n, n))."""
    return _triangle("tril", m, k, upper=False)


def triu(m: Any, k: int = 0) -> Tensor:
    """``np.triu``: the last two axes with everything below the ``k`` diagonal zeroed
    (a 1-D ``m`` is taken as every row); shape of ``m`` (1-D: (n, n))."""
    return _triangle("triu", m, k, upper=True)


# ---- PyTorch-signature methods ----------------------------------------------------------


def diagonal_method(self: Tensor, offset: int = 0, dim1: int | None = None,
                     dim2: int | None = None, *, axis1: int | None = None,
                     axis2: int | None = None) -> Tensor:
    """``t.diagonal(offset=0, dim1=0, dim2=1)`` as PyTorch (axis1/axis2 also accepted)."""
    d1 = one_of("diagonal", "dim1", dim1, "axis1", axis1, 0)
    d2 = one_of("diagonal", "dim2", dim2, "axis2", axis2, 1)
    return diagonal(self, offset, d1, d2)


def _triangle_method(fn: Any, name: str) -> Any:
    def method(self: Tensor, diagonal: int | None = None, *, k: int | None = None) -> Tensor:
        offset = one_of(name, "diagonal", diagonal, "k", k, 0)
        return fn(self, offset)

    method.__name__ = method.__qualname__ = f"{name}_method"
    method.__doc__ = f"``t.{name}(diagonal=0)`` as PyTorch (``k=`` also accepted)."
    return method


tril_method = _triangle_method(tril, "tril")
triu_method = _triangle_method(triu, "triu")


# ---- the table --------------------------------------------------------------------------

_MATS = (Sample(((3, 4),)), Sample(((2, 4, 3),)))

ENTRIES = [
    Entry("einsum", einsum, numpy=(np.einsum,),
          torch=lambda T, s, *ops: T.einsum(s, *ops),
          samples=(
              Sample((Lit("ij,jk->ik"), (2, 3), (3, 4))),
              Sample((Lit("ij,jk"), (2, 3), (3, 4))),            # implicit output
              Sample((Lit("ii->i"), (3, 3))),                     # repeated index
              Sample((Lit("ii"), (3, 3))),                        # implicit trace
              Sample((Lit("iij->j"), (3, 3, 2))),
              Sample((Lit("ij->"), (2, 3))),
              Sample((Lit("ij->ji"), (2, 3))),
              Sample((Lit("i,j->ij"), (3,), (2,))),
              Sample((Lit("...ij,...jk->...ik"), (2, 1, 2, 3), (4, 3, 2))),  # broadcast
              Sample((Lit("b...i,b...i->b..."), (2, 3, 4), (2, 3, 4))),
              Sample((Lit("ij,jk,kl->il"), (2, 3), (3, 4), (4, 2))),
              Sample((Lit("ij,ij,i->j"), (2, 3), (1, 3), (2,))),
              Sample((Lit("bii,bi->bi"), (2, 3, 3), (2, 3))),
          )),
    Entry("tensordot", tensordot, numpy=(np.tensordot,),
          torch=lambda T, a, b, axes=2: T.tensordot(a, b, dims=axes),
          samples=(
              Sample(((2, 3, 4), (3, 4, 5))),
              Sample(((2, 3), (3, 5)), {"axes": 1}),
              Sample(((3, 4, 2), (4, 3)), {"axes": ([1, 0], [0, 1])}),
              Sample(((2, 3), (4,)), {"axes": 0}),
              Sample(((3, 4), (5, 4)), {"axes": ([-1], [1])}),
          )),
    Entry("dot", dot, methods=("dot",), numpy=(np.dot,),
          torch=lambda T, a, b: _torch_dot(T, a, b),
          samples=(Sample(((3,), (3,))), Sample(((2, 3), (3, 4))), Sample(((2, 3), (3,))),
                   Sample(((2, 4, 3), (5, 3, 2))), Sample(((2, 4, 3), (3,))),
                   Sample(((3,), (2, 3, 4))), Sample(((), (2, 3))))),
    Entry("inner", inner, numpy=(np.inner,),
          torch=lambda T, a, b: T.inner(a, b),
          samples=(Sample(((3,), (3,))), Sample(((2, 3), (4, 3))), Sample(((2, 1, 3), (3,))),
                   Sample(((), (2,))))),
    Entry("outer", outer, numpy=(np.outer,),
          torch=lambda T, a, b: T.outer(a.reshape(-1), b.reshape(-1)),
          samples=(Sample(((3,), (4,))), Sample(((2, 2), (3,))))),
    Entry("trace", trace, methods=("trace",), numpy=(np.trace,),
          torch=lambda T, a, offset=0, axis1=0, axis2=1: T.diagonal(
              a, offset, axis1, axis2).sum(-1),
          samples=(Sample(((3, 3),)), Sample(((3, 4),), {"offset": 1}),
                   Sample(((2, 3, 4),), {"axis1": -1, "axis2": 0, "offset": -1}))),
    Entry("diag", diag, numpy=(np.diag,),
          torch=lambda T, v, k=0: T.diag(v, k),
          samples=(Sample(((3,),)), Sample(((3,),), {"k": -2}), Sample(((3, 4),)),
                   Sample(((4, 3),), {"k": 1}))),
    Entry("diagonal", diagonal, methods=(("diagonal", diagonal_method),),
          numpy=(np.diagonal,),
          torch=lambda T, a, offset=0, axis1=0, axis2=1: T.diagonal(a, offset, axis1, axis2),
          samples=(Sample(((3, 4),)), Sample(((3, 4),), {"offset": 2}),
                   Sample(((2, 3, 4),), {"offset": -1, "axis1": 2, "axis2": 1}),
                   Sample(((4, 2, 3),), {"axis1": -1, "axis2": 0}))),
    Entry("tril", tril, methods=(("tril", tril_method),),
          numpy=(np.tril,), torch=lambda T, m, k=0: T.tril(m, k),
          samples=(*_MATS, Sample(((4, 3),), {"k": -1}), Sample(((2, 3, 3),), {"k": 1}))),
    Entry("triu", triu, methods=(("triu", triu_method),),
          numpy=(np.triu,), torch=lambda T, m, k=0: T.triu(m, k),
          samples=(*_MATS, Sample(((4, 3),), {"k": -1}), Sample(((2, 3, 3),), {"k": 2}))),
]


def _torch_dot(T: Any, a: Any, b: Any) -> Any:
    """np.dot's semantics in PyTorch terms (its own dot is 1-D only)."""
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    if a.dim() <= 2 and b.dim() <= 2:
        return a @ b
    return T.tensordot(a, b, dims=([a.dim() - 1], [0 if b.dim() == 1 else b.dim() - 2]))
