"""``ag.linalg``: norm, inv, det, slogdet, solve, batched over leading axes as NumPy's.

Every VJP is written with matmul and these primitives themselves (inv's uses its output,
det's and slogdet's call inv), so second derivatives are recorded like first ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import primitive
from ..tensor import Tensor
from ._support import as_tensor, axis_spelling, call, kept_shape
from .arithmetic import where_op
from .elementwise import abs_op
from .layout import one_of, ordered_axes
from .reductions import max_op, min_op, sum_op
from .shape import expand, reshape_op, stack_op, transpose_op
from .table import Entry, Sample


def _mT(x: Any) -> Any:
    """``x`` with its last two axes swapped (array or Tensor)."""
    perm = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return call(transpose_op, x, axes=perm)


def _per_matrix(x: Any) -> Any:
    """A per-matrix value of shape (...) as (..., 1, 1), to scale whole matrices."""
    return call(reshape_op, x, shape=(*x.shape, 1, 1))


def _square(name: str, a: Tensor) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: needs square matrices in the last two axes, got shape "
                         f"{a.shape}")


def _singular(name: str) -> Any:
    """Decorator: NumPy's LinAlgError re-raised naming the op and the matrix shape."""

    def wrap(forward: Any) -> Any:
        def run(a, *rest, **params):
            try:
                return forward(a, *rest, **params)
            except np.linalg.LinAlgError:
                raise np.linalg.LinAlgError(f"{name}: singular matrix (input of shape "
                                            f"{a.shape})") from None

        return run

    return wrap


# ---- primitives -------------------------------------------------------------------------


@primitive("inv", needs_out=True, rule="inv: grad_in = -out^T @ grad_out @ out^T")
@_singular("inv")
def inv_op(a):
    return np.linalg.inv(a)


@inv_op.defvjp
def _inv_vjp(g, out, a):
    t = _mT(out)
    return (-(t @ g @ t),)


@primitive("det", saves=(0,), needs_out=True, rule="det: grad_in = grad_out * det * inv(a)^T")
def det_op(a):
    return np.linalg.det(a)


@det_op.defvjp
def _det_vjp(g, out, a):
    # grad = g * adj(a)^T. det * inv(a)^T is that matrix wherever a is invertible; where
    # some matrix is exactly singular (inv would raise) the cofactors are taken from the
    # minors' determinants instead, as PyTorch's det is differentiable there too.
    try:
        with np.errstate(all="ignore"):
            np.linalg.inv(a.data if isinstance(a, Tensor) else a)
    except np.linalg.LinAlgError:
        return (_per_matrix(g) * _cofactors(a),)
    return (_per_matrix(g * out) * _mT(call(inv_op, a)),)


def _cofactors(a: Any) -> Any:
    """The cofactor matrix adj(a)^T of each (n, n) matrix, from the determinants of its
    (n-1, n-1) minors (recorded like any op, so differentiable again); n^2 determinants,
    used only for singular matrices."""
    n = a.shape[-1]
    keep = [np.array([k for k in range(n) if k != i], dtype=np.intp) for i in range(n)]
    rows = []
    for i in range(n):
        drop_row = a[..., keep[i], :]
        row = [call(det_op, drop_row[..., keep[j]]) * (-1.0) ** (i + j) for j in range(n)]
        rows.append(call(stack_op, *row, axis=-1))
    return call(stack_op, *rows, axis=-2)


@primitive("slogdet", saves=(0,), rule="slogdet: grad_in = grad_logabsdet * inv(a)^T")
def logabsdet_op(a):
    return np.linalg.slogdet(a)[1]


@logabsdet_op.defvjp
def _logabsdet_vjp(g, out, a):
    return (_per_matrix(g) * _mT(call(inv_op, a)),)


@primitive("solve", saves=(0,), needs_out=True, needs_mask=True,
           rule="solve: grad_b = solve(a^T, grad_out); grad_a = -grad_b @ out^T")
@_singular("solve")
def solve_op(a, b):
    return np.linalg.solve(a, b)


@solve_op.defvjp
def _solve_vjp(g, out, a, b, needs=(True, True)):
    if b.ndim == 1:  # a vector right-hand side: work with it as a one-column matrix
        g = call(reshape_op, g, shape=(*g.shape, 1))
        out = call(reshape_op, out, shape=(*out.shape, 1))
    gb = call(solve_op, _mT(a), g)
    ga = -(gb @ _mT(out)) if needs[0] else None
    if b.ndim == 1:
        gb = call(reshape_op, gb, shape=gb.shape[:-1])
    return ga, (gb if needs[1] else None)


@primitive("norm", saves=(0,), needs_out=True, kind="reduction",
           rule="norm: grad_in = grad_out * x / norm (0 where the norm is 0)")
def norm2_op(a, axes=(), keepdims=False):
    return np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdims))


@norm2_op.defvjp
def _norm2_vjp(g, out, a, axes=(), keepdims=False):
    # At a zero norm the gradient is 0 (PyTorch's choice): divide by 1 there instead.
    nonzero = (out.data if isinstance(out, Tensor) else out) != 0
    scale = g / call(where_op, out, 1.0, cond=nonzero)
    return (expand(call(reshape_op, scale, shape=kept_shape(a.shape, axes)), a.shape) * a,)


# ---- public functions ---------------------------------------------------------------------


def inv(a: Any) -> Tensor:
    """``np.linalg.inv``: the inverse of each matrix in the last two axes (..., n, n).

    A singular matrix raises ``LinAlgError`` naming inv and the shape."""
    a = as_tensor(a)
    _square("inv", a)
    return inv_op(a)


def det(a: Any) -> Tensor:
    """``np.linalg.det``: the determinant of each (n, n) matrix; shape (...)."""
    a = as_tensor(a)
    _square("det", a)
    return det_op(a)


def slogdet(a: Any) -> tuple[Tensor, Tensor]:
    """``np.linalg.slogdet``: (sign, log|det|) of each (n, n) matrix, both of shape (...).

    The sign carries no gradient; log|det| does (its gradient is inv(a)^T)."""
    a = as_tensor(a)
    _square("slogdet", a)
    sign = Tensor._make(np.linalg.slogdet(a.data)[0], None)
    return sign, logabsdet_op(a)


def solve(a: Any, b: Any) -> Tensor:
    """``np.linalg.solve``: x with a @ x = b; a (..., n, n), b (n,) or (..., n, k), batch
    axes broadcast. A singular ``a`` raises ``LinAlgError`` naming solve and the shape."""
    a, b = as_tensor(a), as_tensor(b)
    _square("solve", a)
    rows = b.shape[0] if b.ndim == 1 else (b.shape[-2] if b.ndim >= 2 else None)
    if rows != a.shape[-1]:
        raise ValueError(f"solve: shapes {a.shape} and {b.shape} do not align (b needs "
                         f"{a.shape[-1]} rows: shape ({a.shape[-1]},) or (..., "
                         f"{a.shape[-1]}, k))")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"solve: batch shapes of {a.shape} and {b.shape} do not "
                         f"broadcast") from None
    return solve_op(a, b)


def _vector_norm(x: Tensor, p: Any, axes: tuple, keepdims: bool) -> Tensor:
    """The p-norm over ``axes`` as one vector: 2 (default), 1, inf, -inf, or any p > 0."""
    if p is None or p == 2:
        return norm2_op(x, axes=axes, keepdims=keepdims)
    if isinstance(p, str) or p <= 0 and p != -np.inf:
        raise ValueError(f"norm: vector ord={p!r} is not supported (use None, 2, 1, inf, "
                         f"-inf or a positive number)")
    if p in (np.inf, -np.inf):
        return (max_op if p > 0 else min_op)(abs_op(x), axes=axes, keepdims=keepdims)
    if p == 1:
        return sum_op(abs_op(x), axes=axes, keepdims=keepdims)
    return sum_op(abs_op(x) ** p, axes=axes, keepdims=keepdims) ** (1.0 / p)


def _matrix_norm(x: Tensor, p: Any, axes: tuple, keepdims: bool) -> Tensor:
    """'fro' (default), or 1/-1 (extreme column sum), inf/-inf (extreme row sum)."""
    if p is None or p == "fro":
        return norm2_op(x, axes=tuple(sorted(axes)), keepdims=keepdims)
    if isinstance(p, str) or p not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"norm: matrix ord={p!r} is not supported (use None, 'fro', 1, -1, "
                         f"inf or -inf)")
    rows, cols = axes
    summed, picked = (rows, cols) if abs(p) == 1 else (cols, rows)
    sums = sum_op(abs_op(x), axes=(summed,), keepdims=True)
    result = (max_op if p > 0 else min_op)(sums, axes=(picked,), keepdims=True)
    return result if keepdims else reshape_op(
        result, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False, *,
         dim: Any = None, keepdim: bool | None = None) -> Tensor:
    """``np.linalg.norm``: a vector norm over one ``axis`` (ord None/2, 1, inf, -inf,
    p > 0) or a matrix norm over two (ord None/'fro', 1, -1, inf, -inf); axis None: the
    2-norm of all elements when ord is None, else a 1-D vector or 2-D matrix norm.

    Shape: x's without the reduced axes (kept as 1 with ``keepdims``). The 2-norm's
    gradient at 0 is 0, as PyTorch's."""
    x = as_tensor(x)
    axis, keepdims = axis_spelling("norm", axis, keepdims, dim, keepdim)
    if axis is None:
        if ord is None:
            return _vector_norm(x, None, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, "
                             f"got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = ordered_axes(axis, x.shape, "norm")
    if len(axes) == 1:
        if ord == "fro":
            raise ValueError(f"norm: ord='fro' is a matrix norm; axis {axis!r} names one axis")
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis must name 1 or 2 axes, got {axis!r}")


def norm_method(self: Tensor, p: Any = None, dim: Any = None, keepdim: bool | None = None,
                 *, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """``t.norm(p='fro', dim=None, keepdim=False)`` as PyTorch: 'fro' is the 2-norm of the
    elements over ``dim`` (None: all); a number p the vector p-norm over ``dim``.
    NumPy's ``ord=``/``axis=``/``keepdims=`` are accepted too."""
    p = one_of("norm", "p", p, "ord", ord, "fro")
    dim, keep = axis_spelling("norm", axis=axis, keepdims=keepdims, dim=dim, keepdim=keepdim)
    axes = tuple(range(self.ndim)) if dim is None else ordered_axes(dim, self.shape, "norm")
    if p == "fro":
        return norm2_op(self, axes=tuple(sorted(axes)), keepdims=keep)
    return _vector_norm(self, p, tuple(sorted(axes)), keep)


# ---- the table ------------------------------------------------------------------------------

_SPD = (Sample(((3, 3),), domain="spd"), Sample(((2, 4, 4),), domain="spd"))

ENTRIES = [
    Entry("norm", norm, methods=(("norm", norm_method),), numpy=(np.linalg.norm,),
          torch=lambda T, x, ord=None, axis=None, keepdims=False: T.linalg.norm(
              x, ord, axis, keepdims),
          namespace="linalg",
          samples=(Sample(((3, 4),)), Sample(((5,),), {"ord": 1}),
                   Sample(((5,),), {"ord": np.inf}), Sample(((5,),), {"ord": -np.inf}),
                   Sample(((5,),), {"ord": 3}, domain="away"),
                   Sample(((2, 3, 4),), {"axis": -1, "keepdims": True}),
                   Sample(((3, 4),), {"ord": "fro"}),
                   Sample(((2, 3, 4),), {"ord": 1, "axis": (2, 0)}),
                   Sample(((3, 4),), {"ord": -np.inf}),
                   Sample(((2, 3, 4),), {"ord": np.inf, "axis": (1, 2), "keepdims": True}),
                   Sample(((2, 3, 4),), {"ord": "fro", "axis": (-1, 0)}))),
    Entry("inv", inv, numpy=(np.linalg.inv,), torch=lambda T, a: T.linalg.inv(a),
          namespace="linalg", samples=_SPD),
    Entry("det", det, numpy=(np.linalg.det,), torch=lambda T, a: T.linalg.det(a),
          namespace="linalg", samples=(*_SPD, Sample(((3, 3),)))),
    Entry("slogdet", slogdet, numpy=(np.linalg.slogdet,),
          torch=lambda T, a: tuple(T.linalg.slogdet(a)),
          namespace="linalg", samples=(*_SPD, Sample(((3, 3),)))),
    Entry("solve", solve, numpy=(np.linalg.solve,), torch=lambda T, a, b: T.linalg.solve(a, b),
          namespace="linalg",
          samples=(Sample(((3, 3), (3,)), domain=("spd", "real")),
                   Sample(((3, 3), (3, 2)), domain=("spd", "real")),
                   Sample(((2, 3, 3), (3, 2)), domain=("spd", "real")),
                   Sample(((3, 3), (2, 3, 4)), domain=("spd", "real")),
                   Sample(((2, 3, 3), (3,)), domain=("spd", "real")))),
]
