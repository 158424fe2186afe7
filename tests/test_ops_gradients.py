"""Every differentiable op of API.md: forward values against NumPy, gradients against
central differences (``ag.numeric_grad``) in float64.

One registry row per case: adding an op means adding a row to ``CASES``. A row gives the
function of Tensors, the shape and value domain of each Tensor input, and (only when
the function cannot run on plain ndarrays) a NumPy reference for the forward values.
Non-scalar outputs are contracted with a fixed random upstream gradient, so a VJP that
is right only for an all-ones upstream gradient fails.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag

Shape = tuple[int, ...]


# ---- input domains: keep every op away from its kinks and outside its singularities ----


def _real(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def _positive(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """For log, sqrt and the base of pow."""
    return rng.uniform(0.5, 2.0, shape)


def _away_from_zero(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """For divisors and for abs/relu (whose kink is at 0)."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


def _small(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """For exponents: keeps a**b moderate."""
    return rng.uniform(-1.5, 1.5, shape)


def _distinct(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """No ties, with gaps far wider than the finite-difference step (for max/min)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.25 - n * 0.1).reshape(shape)


DOMAINS: dict[str, Callable[[np.random.Generator, Shape], np.ndarray]] = {
    "real": _real,
    "pos": _positive,
    "away": _away_from_zero,
    "small": _small,
    "distinct": _distinct,
}

_CONST_RNG = np.random.default_rng(7)


def const(shape: Shape, domain: str = "real") -> np.ndarray:
    """A fixed ndarray operand (drawn once at import, so every run sees the same one)."""
    return DOMAINS[domain](_CONST_RNG, shape)


@dataclass(frozen=True)
class Case:
    """One registry row: ``fn`` applied to Tensors built from ``inputs``.

    ``inputs``: one ``(shape, domain)`` per Tensor argument. ``ref``: NumPy reference
    for the forward value; None means ``fn`` itself runs on ndarrays.
    """

    id: str
    fn: Callable[..., Any]
    inputs: tuple[tuple[Shape, str], ...]
    ref: Callable[..., Any] | None = None

    def arrays(self) -> list[np.ndarray]:
        """The float64 input values, seeded by the case id (stable across runs)."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return [DOMAINS[domain](rng, shape) for shape, domain in self.inputs]


def _shape_text(shape: Shape) -> str:
    return "x".join(map(str, shape)) or "scalar"


# ---- binary arithmetic: broadcast pairs, both orders, Tensor/number/ndarray operands ----

BINARY = {  # name: (operator, domain of the left operand, domain of the right operand)
    "add": (operator.add, "real", "real"),
    "sub": (operator.sub, "real", "real"),
    "mul": (operator.mul, "real", "real"),
    "div": (operator.truediv, "real", "away"),
    "pow": (operator.pow, "pos", "small"),
}
PAIRS: list[tuple[Shape, Shape]] = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                                    ((), (3, 4))]
ORDERED_PAIRS = PAIRS + [(b, a) for a, b in PAIRS]
NUMBERS = (1.7, 3)  # a Python float and a Python int


def _binary_cases() -> list[Case]:
    cases = []
    for name, (op, da, db) in BINARY.items():
        for sa, sb in ORDERED_PAIRS:
            pair = f"{_shape_text(sa)}&{_shape_text(sb)}"
            b, a = const(sb, db), const(sa, da)
            cases += [
                Case(f"{name}-tensor-tensor-{pair}", op, ((sa, da), (sb, db))),
                Case(f"{name}-tensor-ndarray-{pair}", lambda x, op=op, b=b: op(x, b), ((sa, da),)),
                Case(f"{name}-ndarray-tensor-{pair}", lambda y, op=op, a=a: op(a, y), ((sb, db),)),
            ]
        for shape in ((3, 4), ()):
            for num in NUMBERS:
                tag = f"{type(num).__name__}-{_shape_text(shape)}"
                cases += [
                    Case(f"{name}-tensor-{tag}", lambda x, op=op, n=num: op(x, n), ((shape, da),)),
                    Case(f"{name}-{tag}-tensor", lambda y, op=op, n=num: op(n, y), ((shape, db),)),
                ]
    return cases


POWERS = [2, 3, -1, 0.5, -1.5, 2.0, np.float64(2.5)]  # x**2 has its own fast path
POW_CASES = [Case(f"pow-tensor-exponent-{p!r}", lambda x, p=p: x**p, (((3, 4), "pos"),))
             for p in POWERS]


# ---- matmul: 1-D, 2-D, batched, and broadcasting batch axes ----

MATMUL_SHAPES: list[tuple[Shape, Shape]] = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)),
]


def _matmul_cases() -> list[Case]:
    cases = []
    for sa, sb in MATMUL_SHAPES:
        pair = f"{_shape_text(sa)}@{_shape_text(sb)}"
        a, b = const(sa), const(sb)
        cases += [
            Case(f"matmul-tensor-tensor-{pair}", operator.matmul, ((sa, "real"), (sb, "real"))),
            Case(f"matmul-tensor-ndarray-{pair}", lambda x, b=b: x @ b, ((sa, "real"),)),
            Case(f"matmul-ndarray-tensor-{pair}", lambda y, a=a: a @ y, ((sb, "real"),)),
        ]
    return cases


# ---- unary elementwise ----


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _np_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


M = ((3, 4), "real")
UNARY_CASES = [
    Case("neg", operator.neg, (M,)),
    Case("exp", lambda x: x.exp(), (M,), np.exp),
    Case("log", lambda x: x.log(), (((3, 4), "pos"),), np.log),
    Case("sqrt", lambda x: x.sqrt(), (((3, 4), "pos"),), np.sqrt),
    Case("abs-method", lambda x: x.abs(), (((3, 4), "away"),), np.abs),
    Case("abs-builtin", abs, (((3, 4), "away"),)),
    Case("sigmoid", lambda x: x.sigmoid(), (M,), _np_sigmoid),
    Case("tanh", lambda x: x.tanh(), (M,), np.tanh),
    Case("relu", lambda x: x.relu(), (((3, 4), "away"),), _np_relu),
    Case("ag.exp", ag.exp, (M,), np.exp),
    Case("ag.log", ag.log, (((3, 4), "pos"),), np.log),
    Case("ag.sqrt", ag.sqrt, (((3, 4), "pos"),), np.sqrt),
    Case("ag.tanh", ag.tanh, (M,), np.tanh),
    Case("ag.sigmoid", ag.sigmoid, (M,), _np_sigmoid),
    Case("ag.relu", ag.relu, (((3, 4), "away"),), _np_relu),
    Case("exp-scalar", lambda x: x.exp(), (((), "real"),), np.exp),
]
# clip: inputs sit on a grid that never comes within 0.05 of a bound.
CLIP_INPUT = (((4, 5), "distinct"),)  # values -2.0 .. 2.75 in steps of 0.25
CLIP_CASES = [
    Case("clip-both", lambda x: x.clip(-1.1, 0.9), CLIP_INPUT),
    Case("clip-lo-only", lambda x: x.clip(-0.6, None), CLIP_INPUT),
    Case("clip-hi-only", lambda x: x.clip(None, 1.4), CLIP_INPUT),
]


# ---- reductions: every axis form, keepdims both ways ----

AXES: list[Any] = [None, 0, 1, 2, -1, -2, (0, 2), (-1, 0), (0, 1, 2)]


def _reduction_cases() -> list[Case]:
    cube = (((2, 3, 4), "distinct"),)
    cases = []
    for axis in AXES:
        for keepdims in (False, True):
            tag = f"axis={axis!r}-keepdims={keepdims}"
            cases += [Case(f"{name}-{tag}",
                           lambda x, n=name, a=axis, k=keepdims: getattr(x, n)(axis=a, keepdims=k),
                           cube)
                      for name in ("sum", "mean", "max", "min")]
            cases += [Case(f"var-ddof={ddof}-{tag}",
                           lambda x, a=axis, k=keepdims, d=ddof: x.var(axis=a, keepdims=k, ddof=d),
                           cube)
                      for ddof in (0, 1)]
    vector = (((5,), "distinct"),)
    cases += [Case(f"{name}-vector-default", lambda x, n=name: getattr(x, n)(), vector)
              for name in ("sum", "mean", "max", "min", "var")]
    return cases


# ---- shape ops and indexing ----

CUBE = (((2, 3, 4), "real"),)
SHAPE_CASES = [
    Case("reshape-varargs", lambda x: x.reshape(6, 4), CUBE),
    Case("reshape-tuple", lambda x: x.reshape((4, 6)), CUBE),
    Case("reshape-minus-one", lambda x: x.reshape(3, -1), CUBE),
    Case("reshape-to-1d", lambda x: x.reshape(24), CUBE),
    Case("transpose-reverse", lambda x: x.transpose(), CUBE),
    Case("transpose-varargs", lambda x: x.transpose(1, 0, 2), CUBE),
    Case("transpose-tuple", lambda x: x.transpose((2, 0, 1)), CUBE),
    Case("transpose-negative", lambda x: x.transpose(-1, 0, 1), CUBE,
         lambda x: x.transpose(2, 0, 1)),
    Case("flatten", lambda x: x.flatten(), CUBE),
    Case("T-matrix", lambda x: x.T, (M,)),
    Case("T-cube", lambda x: x.T, CUBE),
    Case("astype-float64", lambda x: x.astype(np.float64), CUBE),
]

MASK_3x4 = np.array([[True, False, True, True], [False, False, True, False],
                     [True, True, False, True]])
ROWS_MASK = np.array([True, False, True])
INDEX_CASES = [
    Case("index-int", lambda x: x[1], CUBE),
    Case("index-negative-int", lambda x: x[-1, 2], CUBE),
    Case("index-slice", lambda x: x[:, 1:3], CUBE),
    Case("index-step-ellipsis", lambda x: x[..., ::2], CUBE),
    Case("index-reversed", lambda x: x[:, ::-1, 1], CUBE),
    Case("index-newaxis", lambda x: x[None, 0], CUBE),
    Case("index-int-array-repeated", lambda x: x[np.array([0, 2, 0, 0])], (M,)),
    Case("index-list-repeated", lambda x: x[[1, 1, 2]], (M,)),
    Case("index-pairs-repeated", lambda x: x[np.array([0, 0, 2]), np.array([1, 1, 3])], (M,)),
    Case("index-columns-repeated", lambda x: x[:, [3, 3, 0]], (M,)),
    Case("index-2d-int-array", lambda x: x[np.array([[0, 1], [1, 1]])], (M,)),
    Case("index-bool-mask", lambda x: x[MASK_3x4], (M,)),
    Case("index-bool-rows", lambda x: x[ROWS_MASK], (M,)),
    Case("index-bool-rows-then-slice", lambda x: x[ROWS_MASK, 1:], (M,)),
]


# ---- along an axis, joining, selecting ----


def _np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_cases() -> list[Case]:
    cases = []
    for shape, axis in [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((5,), 0)]:
        tag = f"{_shape_text(shape)}-axis={axis}"
        inputs = ((shape, "real"),)
        cases += [
            Case(f"softmax-{tag}", lambda x, a=axis: x.softmax(axis=a), inputs,
                 lambda x, a=axis: _np_softmax(x, a)),
            Case(f"log_softmax-{tag}", lambda x, a=axis: x.log_softmax(axis=a), inputs,
                 lambda x, a=axis: np.log(_np_softmax(x, a))),
        ]
    cases.append(Case("softmax-default-axis", lambda x: x.softmax(), CUBE,
                      lambda x: _np_softmax(x, -1)))
    return cases


JOIN_CONST = const((2, 3))
COND = MASK_3x4
JOIN_CASES = [
    Case("concatenate-axis0", lambda a, b: ag.concatenate([a, b]),
         (((2, 3), "real"), ((4, 3), "real")), lambda a, b: np.concatenate([a, b])),
    Case("concatenate-axis1", lambda a, b: ag.concatenate([a, b], axis=1),
         (((3, 2), "real"), ((3, 1), "real")), lambda a, b: np.concatenate([a, b], axis=1)),
    Case("concatenate-axis-neg", lambda a, b, c: ag.concatenate([a, b, c], axis=-1),
         (((2, 2, 1), "real"), ((2, 2, 3), "real"), ((2, 2, 2), "real")),
         lambda a, b, c: np.concatenate([a, b, c], axis=-1)),
    Case("concatenate-with-ndarray", lambda a: ag.concatenate([JOIN_CONST, a, JOIN_CONST]),
         (((1, 3), "real"),), lambda a: np.concatenate([JOIN_CONST, a, JOIN_CONST])),
    Case("stack-axis0", lambda a, b: ag.stack([a, b]),
         (((2, 3), "real"), ((2, 3), "real")), lambda a, b: np.stack([a, b])),
    Case("stack-axis1", lambda a, b, c: ag.stack([a, b, c], axis=1),
         (((2, 3), "real"), ((2, 3), "real"), ((2, 3), "real")),
         lambda a, b, c: np.stack([a, b, c], axis=1)),
    Case("stack-axis-neg", lambda a, b: ag.stack([a, b], axis=-1),
         (((2, 3), "real"), ((2, 3), "real")), lambda a, b: np.stack([a, b], axis=-1)),
    Case("stack-same-tensor-twice", lambda a: ag.stack([a, a * 2]),
         (((3,), "real"),), lambda a: np.stack([a, a * 2])),
    Case("where", lambda a, b: ag.where(COND, a, b), (M, M),
         lambda a, b: np.where(COND, a, b)),
    Case("where-broadcast", lambda a, b: ag.where(COND, a, b), (((3, 1), "real"), ((4,), "real")),
         lambda a, b: np.where(COND, a, b)),
    Case("where-tensor-number", lambda a: ag.where(COND, a, 0.5), (M,),
         lambda a: np.where(COND, a, 0.5)),
    Case("where-number-tensor", lambda b: ag.where(COND, -2.0, b), (M,),
         lambda b: np.where(COND, -2.0, b)),
    Case("where-tensor-cond", lambda a, b: ag.where(a > 0, a, b), (M, M),
         lambda a, b: np.where(a > 0, a, b)),
]

MINMAX_CASES = []
for _name, _fn, _ref in (("maximum", ag.maximum, np.maximum), ("minimum", ag.minimum, np.minimum)):
    _c = const((4,))
    MINMAX_CASES += [
        Case(f"{_name}-tensor-tensor", _fn, (M, M), _ref),
        Case(f"{_name}-broadcast", _fn, (M, ((4,), "real")), _ref),
        Case(f"{_name}-broadcast-swapped", _fn, (((3, 1), "real"), M), _ref),
        Case(f"{_name}-tensor-number", lambda a, f=_fn: f(a, 0.3), (M,),
             lambda a, r=_ref: r(a, 0.3)),
        Case(f"{_name}-number-tensor", lambda b, f=_fn: f(-0.2, b), (M,),
             lambda b, r=_ref: r(-0.2, b)),
        Case(f"{_name}-ndarray-tensor", lambda b, f=_fn, c=_c: f(c, b), (M,),
             lambda b, r=_ref, c=_c: r(c, b)),
    ]

CASES: list[Case] = (
    _binary_cases() + POW_CASES + _matmul_cases() + UNARY_CASES + CLIP_CASES
    + _reduction_cases() + SHAPE_CASES + INDEX_CASES + _softmax_cases() + JOIN_CASES
    + MINMAX_CASES
)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# ---- the two checks every row gets ----


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case: Case) -> None:
    arrays = case.arrays()
    out = case.fn(*[ag.tensor(a, requires_grad=True) for a in arrays])
    expected = np.asarray((case.ref or case.fn)(*arrays))
    assert isinstance(out, ag.Tensor)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    assert out.requires_grad
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradient_matches_central_differences(case: Case) -> None:
    arrays = case.arrays()
    leaves = [ag.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*leaves)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)

    def contracted(*xs: ag.Tensor) -> float:
        return float(np.sum(case.fn(*xs).data * upstream))

    numeric = ag.numeric_grad(contracted, arrays)
    for i, (leaf, expected) in enumerate(zip(leaves, numeric)):
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert leaf.grad.shape == leaf.shape, f"input {i}"
        assert leaf.grad.dtype == np.float64
        np.testing.assert_allclose(leaf.grad.data, expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"input {i} of {case.id}")


def test_astype_float32_gradient_returns_in_the_input_dtype(rng: np.random.Generator) -> None:
    x = ag.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, x.data.astype(np.float32))
    upstream = rng.standard_normal((3, 4)).astype(np.float32)
    (y * 3.0).backward(upstream)
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, 3.0 * upstream.astype(np.float64), rtol=1e-7)


def test_indexing_repeated_indices_add_up_exactly() -> None:
    x = ag.tensor(np.zeros(4), requires_grad=True)
    x[np.array([2, 0, 2, 2])].backward(np.array([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad.data, [10.0, 0.0, 1101.0, 0.0])
