"""More unary elementwise functions: trigonometric, hyperbolic, exp/log variants,
softplus, and the piecewise-constant sign/floor/ceil/round/trunc.

Each primitive's VJP is one line written with operations arrays and Tensors share, so
under create_graph it also gives the second derivative. ``square`` and ``reciprocal`` are
compositions of existing ops; ``log2``/``log10`` are primitives so that ``log10(1000)`` is
exactly 3 (``log(x) / ln 10`` is off by one ulp there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Op, primitive
from ..tensor import Tensor
from ._support import as_tensor, call
from .elementwise import exp_op
from .table import Entry, Sample

_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))


def _elementwise(name: str, forward: Callable, rule: str, saves: tuple = (0,),
                 needs_out: bool = False) -> Callable[[Callable], Op]:
    """Decorator: the primitive ``name`` computing ``forward``, whose VJP is the
    decorated function; ``saves``/``needs_out`` say whether that VJP reads x and out."""

    def define(vjp: Callable) -> Op:
        op = primitive(name, saves=saves, needs_out=needs_out,
                       kind="elementwise", rule=f"{name}: {rule}")(forward)
        op.defvjp(vjp)
        return op

    return define


@_elementwise("tan", np.tan, "grad_in = grad_out * (1 + out**2)", saves=(), needs_out=True)
def tan_op(g, out, a):
    return (g * (1 + out * out),)


@_elementwise("arcsin", np.arcsin, "grad_in = grad_out / sqrt(1 - x**2)")
def arcsin_op(g, out, a):
    return (g * (1 - a * a) ** -0.5,)


@_elementwise("arccos", np.arccos, "grad_in = -grad_out / sqrt(1 - x**2)")
def arccos_op(g, out, a):
    return (-g * (1 - a * a) ** -0.5,)


@_elementwise("arctan", np.arctan, "grad_in = grad_out / (1 + x**2)")
def arctan_op(g, out, a):
    return (g / (1 + a * a),)


@_elementwise("sinh", np.sinh, "grad_in = grad_out * cosh(x)")
def sinh_op(g, out, a):
    return (g * call(cosh_op, a),)


@_elementwise("cosh", np.cosh, "grad_in = grad_out * sinh(x)")
def cosh_op(g, out, a):
    return (g * call(sinh_op, a),)


@_elementwise("arcsinh", np.arcsinh, "grad_in = grad_out / sqrt(x**2 + 1)")
def arcsinh_op(g, out, a):
    return (g * (a * a + 1) ** -0.5,)


@_elementwise("arccosh", np.arccosh, "grad_in = grad_out / sqrt(x**2 - 1)")
def arccosh_op(g, out, a):
    return (g * (a * a - 1) ** -0.5,)


@_elementwise("arctanh", np.arctanh, "grad_in = grad_out / (1 - x**2)")
def arctanh_op(g, out, a):
    return (g / (1 - a * a),)


@_elementwise("exp2", np.exp2, "grad_in = grad_out * out * ln 2", saves=(), needs_out=True)
def exp2_op(g, out, a):
    return (g * out * _LN2,)


@_elementwise("expm1", np.expm1, "grad_in = grad_out * (out + 1)", saves=(), needs_out=True)
def expm1_op(g, out, a):
    return (g * (out + 1),)


@_elementwise("log2", np.log2, "grad_in = grad_out / (x ln 2)")
def log2_op(g, out, a):
    return (g / (a * _LN2),)


@_elementwise("log10", np.log10, "grad_in = grad_out / (x ln 10)")
def log10_op(g, out, a):
    return (g / (a * _LN10),)


@_elementwise("log1p", np.log1p, "grad_in = grad_out / (1 + x)")
def log1p_op(g, out, a):
    return (g / (1 + a),)


# PyTorch's softplus (beta=1, threshold=20): x itself above the threshold.
_SOFTPLUS_THRESHOLD = 20.0


def _softplus_forward(a: np.ndarray) -> np.ndarray:
    # exp of min(a, threshold) never overflows; those entries are replaced by a anyway.
    soft = np.log1p(np.exp(np.minimum(a, _SOFTPLUS_THRESHOLD)))
    return np.where(a > _SOFTPLUS_THRESHOLD, a, soft).astype(a.dtype, copy=False)


@_elementwise("softplus", _softplus_forward, "grad_in = grad_out * exp(x - out) (= sigmoid(x))",
              needs_out=True)
def softplus_op(g, out, a):
    # exp(x - softplus(x)) is sigmoid(x) below the threshold and exactly 1 above it (out is
    # x there): PyTorch's gradient on both sides, and differentiable through out.
    return (g * call(exp_op, a - out),)


# Below this |x| the derivatives of sinc come from its Taylor series at 0: the recurrence
# divides by x, so it loses digits near 0 and is 0/0 at 0. The series' terms fall below
# 1e-19 of its first by the last of _SINC_TERMS.
_SINC_SERIES_RADIUS = 0.5
_SINC_TERMS = 16


def _sinc_derivative(a: np.ndarray, order: int = 0) -> np.ndarray:
    """The ``order``-th derivative of sin(pi x) / (pi x) (1 at 0), elementwise; shape of ``a``."""
    value = np.sinc(a)
    if order == 0:
        return value
    near = np.abs(a) < _SINC_SERIES_RADIUS
    x = np.where(near, a, 0.0)
    # sinc(x) = sum over even m of (-1)**(m/2) (pi x)**m / (m + 1)!, differentiated order times.
    series = sum((-1) ** (m // 2) * np.pi ** m / ((m + 1) * math.factorial(m - order))
                 * x ** (m - order) for m in range(order + order % 2, order + 2 * _SINC_TERMS, 2))
    # Away from 0, from x sinc(x) = sin(pi x) / pi differentiated k times:
    # x sinc^(k)(x) + k sinc^(k-1)(x) = pi**(k-1) sin(pi x + k pi / 2).
    x = np.where(near, 1.0, a)
    derivative = np.sinc(x)
    for k in range(1, order + 1):
        derivative = (np.pi ** (k - 1) * np.sin(np.pi * x + k * np.pi / 2) - k * derivative) / x
    return np.where(near, series, derivative).astype(value.dtype, copy=False)


@_elementwise("sinc", _sinc_derivative,
              "grad_in = grad_out * (cos(pi x) - sinc(x)) / x (0 at x = 0)")
def sinc_op(g, out, a, order=0):
    # The derivative is this primitive one order up, recorded under create_graph, so
    # derivatives of every order exist, exact at 0 (sinc'(0) = 0, sinc''(0) = -pi**2 / 3).
    return (g * call(sinc_op, a, order=order + 1),)


def _zero_gradient(name: str, forward: Callable) -> Op:
    """A piecewise-constant function: recorded, with a zero gradient (and zero second
    derivative, since ``g * 0`` is itself recorded under create_graph)."""
    return _elementwise(name, forward, "grad_in = 0")(lambda g, out, a, **params: (g * 0,))


sign_op = _zero_gradient("sign", np.sign)
floor_op = _zero_gradient("floor", np.floor)
ceil_op = _zero_gradient("ceil", np.ceil)
trunc_op = _zero_gradient("trunc", np.trunc)
round_op = _zero_gradient("round", lambda a, decimals=0: np.round(a, decimals))


# ---- public functions: NumPy's signatures, any array-like ---------------------------


def tan(x: Any) -> Tensor:
    """Elementwise tangent; shape of ``x``."""
    return tan_op(as_tensor(x))


def arcsin(x: Any) -> Tensor:
    """Elementwise inverse sine (domain [-1, 1]); shape of ``x``."""
    return arcsin_op(as_tensor(x))


def arccos(x: Any) -> Tensor:
    """Elementwise inverse cosine (domain [-1, 1]); shape of ``x``."""
    return arccos_op(as_tensor(x))


def arctan(x: Any) -> Tensor:
    """Elementwise inverse tangent; shape of ``x``."""
    return arctan_op(as_tensor(x))


def sinh(x: Any) -> Tensor:
    """Elementwise hyperbolic sine; shape of ``x``."""
    return sinh_op(as_tensor(x))


def cosh(x: Any) -> Tensor:
    """Elementwise hyperbolic cosine; shape of ``x``."""
    return cosh_op(as_tensor(x))


def arcsinh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic sine; shape of ``x``."""
    return arcsinh_op(as_tensor(x))


def arccosh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic cosine (domain x >= 1); shape of ``x``."""
    return arccosh_op(as_tensor(x))


def arctanh(x: Any) -> Tensor:
    """Elementwise inverse hyperbolic tangent (domain (-1, 1)); shape of ``x``."""
    return arctanh_op(as_tensor(x))


def exp2(x: Any) -> Tensor:
    """Elementwise 2**x; shape of ``x``."""
    return exp2_op(as_tensor(x))


def expm1(x: Any) -> Tensor:
    """Elementwise e**x - 1, accurate for small x; shape of ``x``."""
    return expm1_op(as_tensor(x))


def log2(x: Any) -> Tensor:
    """Elementwise base-2 logarithm; shape of ``x``."""
    return log2_op(as_tensor(x))


def log10(x: Any) -> Tensor:
    """Elementwise base-10 logarithm; shape of ``x``."""
    return log10_op(as_tensor(x))


def log1p(x: Any) -> Tensor:
    """Elementwise log(1 + x), accurate for small x; shape of ``x``."""
    return log1p_op(as_tensor(x))


def square(x: Any) -> Tensor:
    """Elementwise x**2 (recorded as ``x * x``); shape of ``x``."""
    x = as_tensor(x)
    return x * x


def reciprocal(x: Any) -> Tensor:
    """Elementwise 1 / x (recorded as a division); shape of ``x``."""
    return 1.0 / as_tensor(x)


def softplus(x: Any) -> Tensor:
    """Elementwise log(1 + e**x), stable; x itself where x > 20 (PyTorch's
    ``softplus(beta=1, threshold=20)``); shape of ``x``."""
    return softplus_op(as_tensor(x))


def sinc(x: Any) -> Tensor:
    """Elementwise normalized sinc, sin(pi x) / (pi x) and 1 at 0 (``np.sinc``,
    ``torch.sinc``); shape of ``x``."""
    return sinc_op(as_tensor(x))


def sign(x: Any) -> Tensor:
    """Elementwise -1, 0 or 1; recorded with a zero gradient; shape of ``x``."""
    return sign_op(as_tensor(x))


def floor(x: Any) -> Tensor:
    """Elementwise largest integer <= x (as a float); zero gradient; shape of ``x``."""
    return floor_op(as_tensor(x))


def ceil(x: Any) -> Tensor:
    """Elementwise smallest integer >= x (as a float); zero gradient; shape of ``x``."""
    return ceil_op(as_tensor(x))


def trunc(x: Any) -> Tensor:
    """Elementwise x rounded toward zero (as a float); zero gradient; shape of ``x``."""
    return trunc_op(as_tensor(x))


def round(x: Any, decimals: int = 0) -> Tensor:
    """Elementwise rounding to ``decimals`` places, halves to even (NumPy and PyTorch);
    zero gradient; shape of ``x``."""
    return round_op(as_tensor(x), decimals=int(decimals))


# ---- the table ---------------------------------------------------------------------


def _shapes(domain: str, **kwargs: Any) -> tuple[Sample, ...]:
    """The unary samples: a matrix, a 3-D tensor with a unit axis and a 0-d tensor."""
    return tuple(Sample((shape,), kwargs, domain) for shape in ((3, 4), (2, 1, 3), ()))


def _entry(name: str, function: Callable, ufunc: Any, torch_name: str, domain: str = "real",
           aliases: tuple[str, ...] = ()) -> Entry:
    """The entry of a unary function that is also a method of the same name (and
    PyTorch's alias), implements ``ufunc`` and has ``torch.<torch_name>`` as reference."""
    return Entry(name, function, methods=(name, *aliases), numpy=(ufunc,),
                 torch=lambda T, x, **k: getattr(T, torch_name)(x, **k),
                 samples=_shapes(domain))


ENTRIES = [
    _entry("tan", tan, np.tan, "tan", "unit"),
    _entry("arcsin", arcsin, np.arcsin, "arcsin", "unit", ("asin",)),
    _entry("arccos", arccos, np.arccos, "arccos", "unit", ("acos",)),
    _entry("arctan", arctan, np.arctan, "arctan", "real", ("atan",)),
    _entry("sinh", sinh, np.sinh, "sinh"),
    _entry("cosh", cosh, np.cosh, "cosh"),
    _entry("arcsinh", arcsinh, np.arcsinh, "arcsinh", "real", ("asinh",)),
    _entry("arccosh", arccosh, np.arccosh, "arccosh", "gt1", ("acosh",)),
    _entry("arctanh", arctanh, np.arctanh, "arctanh", "unit", ("atanh",)),
    _entry("exp2", exp2, np.exp2, "exp2"),
    _entry("expm1", expm1, np.expm1, "expm1"),
    _entry("log2", log2, np.log2, "log2", "pos"),
    _entry("log10", log10, np.log10, "log10", "pos"),
    _entry("log1p", log1p, np.log1p, "log1p", "pos"),
    _entry("square", square, np.square, "square"),
    _entry("reciprocal", reciprocal, np.reciprocal, "reciprocal", "away"),
    Entry("softplus", softplus, methods=("softplus",),
          torch=lambda T, x: T.nn.functional.softplus(x), samples=_shapes("wide")),
    Entry("sinc", sinc, methods=("sinc",), numpy=(np.sinc,), torch=lambda T, x: T.sinc(x),
          # exact zeros (every third element), and |x| on both sides of the series radius
          samples=_shapes("zeros") + (Sample(((3, 4),), domain="small"),)),
    _entry("sign", sign, np.sign, "sign"),
    _entry("floor", floor, np.floor, "floor"),
    _entry("ceil", ceil, np.ceil, "ceil"),
    _entry("trunc", trunc, np.trunc, "trunc"),
    Entry("round", round, methods=("round",), numpy=(np.round, np.around, np.rint),
          torch=lambda T, x, decimals=0: T.round(x, decimals=decimals),
          samples=_shapes("real") + (Sample(((3, 4),), {"decimals": 1}),)),
]
