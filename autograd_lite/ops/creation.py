"""Creation: new leaf Tensors (nothing recorded), float64 unless ``dtype=`` says otherwise.

``zeros``/``ones``/``rand``/``randn`` take the shape as varargs or one tuple
(``zeros(2, 3)`` or ``zeros((2, 3))``); the others follow NumPy's signatures. Every
function takes ``requires_grad=``. ``rand``/``randn`` draw from ``rng`` or, when it is
None, from the generator ``ag.manual_seed`` seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import generator
from ..tensor import Tensor
from .table import Entry


def _shape_of(shape: tuple) -> tuple:
    """``(2, 3)`` from ``f(2, 3)`` or ``f((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _leaf(data: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    """``data`` as a new leaf in ``dtype`` (default: Tensor's rule, ints become float64)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _data(a: Any) -> np.ndarray:
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of ``shape``: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _leaf(np.zeros(_shape_of(shape)), dtype, requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of ``shape``: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _leaf(np.ones(_shape_of(shape)), dtype, requires_grad)


def full(shape: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (an int or a tuple) holding ``fill_value`` everywhere."""
    return _leaf(np.full(shape, fill_value, dtype=np.float64 if dtype is None else dtype),
                 dtype, requires_grad)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None,
        requires_grad: bool = False) -> Tensor:
    """An ``N`` x ``M`` (default square) matrix with ones on diagonal ``k``, zeros elsewhere."""
    return _leaf(np.eye(N, M, k), dtype, requires_grad)


def arange(start: Any, stop: Any = None, step: Any = None, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (``arange(n)``: 0 .. n-1) as NumPy's
    arange, but float64 unless ``dtype`` says otherwise; shape ``(count,)``."""
    return _leaf(np.arange(start, stop, step, dtype=dtype), dtype, requires_grad)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, *, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless
    ``endpoint=False``); shape ``(num,)``."""
    return _leaf(np.linspace(start, stop, num, endpoint=endpoint), dtype, requires_grad)


def zeros_like(a: Any, dtype: Any = None, *, requires_grad: bool = False) -> Tensor:
    """Zeros of ``a``'s shape and (floating) dtype, or ``dtype``."""
    return _leaf(np.zeros_like(_data(a), dtype=dtype), dtype, requires_grad)


def ones_like(a: Any, dtype: Any = None, *, requires_grad: bool = False) -> Tensor:
    """Ones of ``a``'s shape and (floating) dtype, or ``dtype``."""
    return _leaf(np.ones_like(_data(a), dtype=dtype), dtype, requires_grad)


def full_like(a: Any, fill_value: Any, dtype: Any = None, *,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, in ``a``'s shape and (floating) dtype, or ``dtype``."""
    return _leaf(np.full_like(_data(a), fill_value, dtype=dtype), dtype, requires_grad)


def rand(*shape: Any, rng: np.random.Generator | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of ``shape`` (varargs or a tuple), from ``rng`` or the
    generator ``ag.manual_seed`` seeds."""
    return _leaf(generator(rng).random(_shape_of(shape)), dtype, requires_grad)


def randn(*shape: Any, rng: np.random.Generator | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard-normal samples of ``shape`` (varargs or a tuple), from ``rng`` or the
    generator ``ag.manual_seed`` seeds."""
    return _leaf(generator(rng).standard_normal(_shape_of(shape)), dtype, requires_grad)


ENTRIES = [
    Entry("zeros", zeros, differentiable=False),
    Entry("ones", ones, differentiable=False),
    Entry("full", full, differentiable=False),
    Entry("eye", eye, differentiable=False),
    Entry("arange", arange, differentiable=False),
    Entry("linspace", linspace, differentiable=False),
    Entry("zeros_like", zeros_like, numpy=(np.zeros_like,), differentiable=False),
    Entry("ones_like", ones_like, numpy=(np.ones_like,), differentiable=False),
    Entry("full_like", full_like, numpy=(np.full_like,), differentiable=False),
    Entry("rand", rand, differentiable=False),
    Entry("randn", randn, differentiable=False),
]
