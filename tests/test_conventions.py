"""Conventions of API.md at kinks and edges, dtype rules and NumPy interop.

Each expected value here is written out by hand, as PyTorch gives it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import autograd_lite as ag


@contextmanager
def no_warnings() -> Iterator[None]:
    """Turn every warning (overflow, divide by zero...) into an error inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def grad_of(fn: Callable[[ag.Tensor], ag.Tensor], values: list[float]) -> np.ndarray:
    """d sum(fn(x)) / dx at ``values`` (float64)."""
    x = ag.tensor(values, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.data


# ---- kinks ----------------------------------------------------------------------------


def test_relu_gradient_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.relu(), [-1.0, 0.0, 2.0]), [0, 0, 1])


def test_abs_gradient_at_zero_is_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.abs(), [-2.0, 0.0, 3.0]), [-1, 0, 1])


def test_clip_passes_gradient_on_both_bounds_inclusive() -> None:
    g = grad_of(lambda x: x.clip(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


@pytest.mark.parametrize("method", ["max", "min"])
def test_reduction_ties_share_the_gradient_equally(method: str) -> None:
    values = [1.0, 3.0, 3.0] if method == "max" else [3.0, 1.0, 1.0]
    np.testing.assert_array_equal(grad_of(lambda x: getattr(x, method)(), values), [0, .5, .5])


def test_max_ties_along_an_axis_split_per_slice() -> None:
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 3.0]))
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1, 1, 1]], rtol=1e-15)


@pytest.mark.parametrize("fn", [ag.maximum, ag.minimum], ids=["maximum", "minimum"])
def test_elementwise_extreme_splits_half_half_where_equal(fn: Callable) -> None:
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([3.0, 2.0, 1.0], requires_grad=True)
    fn(a, b).sum().backward()
    a_wins = [0.0, 0.5, 1.0] if fn is ag.maximum else [1.0, 0.5, 0.0]
    np.testing.assert_array_equal(a.grad.data, a_wins)
    np.testing.assert_array_equal(b.grad.data, 1.0 - np.array(a_wins))


@pytest.mark.parametrize("method", ["sqrt", "log"])
def test_sqrt_and_log_gradient_at_zero_is_positive_infinity(method: str) -> None:
    g = grad_of(lambda x: getattr(x, method)(), [0.0, 4.0])
    assert np.isposinf(g[0])
    assert g[1] == 0.25  # at 4 both 1 / (2 sqrt(4)) and 1 / 4 are 0.25


# ---- numerically extreme inputs ----------------------------------------------------------


def test_softmax_of_huge_logits_is_finite_and_exact() -> None:
    x = ag.tensor([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]], requires_grad=True)
    with no_warnings():
        s = x.softmax(axis=-1)
        (s * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(s.data, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-300)
    assert np.isfinite(x.grad.data).all()
    # Row 2: s = (.5, .5, 0), upstream u = (1, 2, 3): s * (u - s.u) = (-.25, .25, 0).
    np.testing.assert_allclose(x.grad.data[1], [-0.25, 0.25, 0.0], atol=1e-15)


def test_log_softmax_of_huge_logits_is_finite_and_exact() -> None:
    x = ag.tensor([1000.0, -1000.0, 0.0], requires_grad=True)
    with no_warnings():
        ls = x.log_softmax()
        (ls * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(ls.data, [0.0, -2000.0, -1000.0], rtol=1e-15)
    # g - softmax * sum(g), softmax = (1, 0, 0), sum(g) = 6.
    np.testing.assert_allclose(x.grad.data, [-5.0, 2.0, 3.0], rtol=1e-15)


def test_sigmoid_of_plus_minus_1000_is_exactly_one_and_zero_without_warning() -> None:
    x = ag.tensor([1000.0, -1000.0], requires_grad=True)
    with no_warnings():
        y = x.sigmoid()
        y.sum().backward()
    assert y.data[0] == 1.0
    assert y.data[1] == 0.0
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_sigmoid_of_float32_extremes_stays_float32_without_warning() -> None:
    with no_warnings():
        y = ag.tensor(np.array([1000.0, -1000.0], dtype=np.float32)).sigmoid()
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [1.0, 0.0])


# ---- dtypes -----------------------------------------------------------------------------

F32_EXPRESSIONS: dict[str, Callable[[ag.Tensor], ag.Tensor]] = {
    "mul-python-float": lambda x: x * 2.5,
    "add-np.float64": lambda x: x + np.float64(1.5),
    "np.float64-mul": lambda x: np.float64(2.0) * x,
    "rsub-python-float": lambda x: 1.5 - x,
    "div-python-float": lambda x: x / 3.0,
    "rdiv-python-float": lambda x: 2.0 / x,
    "pow-python-float": lambda x: x**1.5,
    "pow-np.float64": lambda x: x ** np.float64(3.0),
    "rpow-python-float": lambda x: 2.0**x,
    "mul-int-ndarray": lambda x: x * np.array([1, 2, 3]),
    "matmul-self": lambda x: x @ x,
    "exp-log-sqrt": lambda x: x.exp().log().sqrt(),
    "abs-clip": lambda x: x.abs().clip(0.5, 2.5),
    "sigmoid-tanh-relu": lambda x: x.sigmoid().tanh().relu(),
    "mean": lambda x: x.mean(),
    "var": lambda x: x.var(),
    "max": lambda x: x.max(),
    "softmax": lambda x: x.softmax(),
    "log_softmax": lambda x: x.log_softmax(),
    "maximum-python-float": lambda x: ag.maximum(x, 1.5),
    "where-python-float": lambda x: ag.where(np.array([True, False, True]), x, 0.0),
    "index-reshape-T": lambda x: x[[0, 0, 2]].reshape(3, 1).T,
    "stack": lambda x: ag.stack([x, x * 2]),
}


@pytest.mark.parametrize("name", F32_EXPRESSIONS)
def test_float32_stays_float32_in_values_and_gradients(name: str) -> None:
    x = ag.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    y = F32_EXPRESSIONS[name](x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_default_dtype_is_float64() -> None:
    assert ag.tensor([1.5, 2.0]).dtype == np.float64
    assert ag.tensor(2.5).dtype == np.float64
    assert ag.zeros((2, 3)).dtype == np.float64
    assert ag.ones(2).dtype == np.float64
    assert ag.randn(2, 3, rng=np.random.default_rng(0)).dtype == np.float64


@pytest.mark.parametrize("data", [[1, 2, 3], 7, True, np.arange(3, dtype=np.int32),
                                  np.array([True, False])], ids=repr)
def test_integer_and_bool_data_become_float64(data: object) -> None:
    t = ag.tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_float32_data_and_explicit_dtype_are_kept() -> None:
    assert ag.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert ag.tensor([1, 2], dtype=np.int64).dtype == np.int64
    assert ag.tensor([1.0, 2.0], dtype=np.float32).dtype == np.float32


def test_construction_copies_the_data() -> None:
    arr = np.array([1.0, 2.0])
    t = ag.tensor(arr)
    arr[0] = 99.0
    assert t.data[0] == 1.0


# ---- comparisons ------------------------------------------------------------------------

COMPARISONS = {
    "<": (lambda a, b: a < b, [True, False, False]),
    "<=": (lambda a, b: a <= b, [True, True, False]),
    ">": (lambda a, b: a > b, [False, False, True]),
    ">=": (lambda a, b: a >= b, [False, True, True]),
    "==": (lambda a, b: a == b, [False, True, False]),
    "!=": (lambda a, b: a != b, [True, False, True]),
}


@pytest.mark.parametrize("symbol", COMPARISONS)
@pytest.mark.parametrize("other", ["tensor", "ndarray", "ndarray-left"])
def test_comparisons_give_bool_tensors_without_gradient(symbol: str, other: str) -> None:
    fn, expected = COMPARISONS[symbol]
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    two = np.full(3, 2.0)
    if other == "tensor":
        out = fn(x, ag.tensor(two, requires_grad=True))
    elif other == "ndarray":
        out = fn(x, two)
    else:  # the ndarray on the left must still give a Tensor, with the mirrored comparison
        out = fn(two, x)
        expected = fn(two, np.array([1.0, 2.0, 3.0])).tolist()
    assert isinstance(out, ag.Tensor)
    assert out.dtype == np.bool_
    assert not out.requires_grad
    assert out.grad_fn is None
    np.testing.assert_array_equal(out.data, expected)


def test_comparison_with_a_python_number_broadcasts() -> None:
    out = ag.tensor([[1.0, 5.0], [3.0, 0.0]]) > 2
    np.testing.assert_array_equal(out.data, [[False, True], [True, False]])


# ---- NumPy interop and repr ------------------------------------------------------------------


def test_asarray_and_numpy_give_the_values() -> None:
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for arr in (np.asarray(t), t.numpy()):
        assert type(arr) is np.ndarray
        np.testing.assert_array_equal(arr, [[1, 2], [3, 4]])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_item_gives_a_python_float() -> None:
    value = (ag.tensor([1.5, 2.0], requires_grad=True) * 2).sum().item()
    assert type(value) is float
    assert value == 7.0
    with pytest.raises(ValueError):
        ag.tensor([1.0, 2.0]).item()


def test_repr_shows_values_shape_and_requires_grad() -> None:
    text = repr(ag.tensor([1.5, -2.25], requires_grad=True))
    assert "1.5" in text and "-2.25" in text
    assert "(2,)" in text
    assert "requires_grad=True" in text


def test_repr_shows_grad_fn_of_a_recorded_result() -> None:
    text = repr(ag.tensor([[3.0]], requires_grad=True) * 2)
    assert "6." in text
    assert "(1, 1)" in text
    assert "grad_fn" in text and "mul" in text


def test_repr_of_a_plain_tensor_claims_no_gradient() -> None:
    text = repr(ag.tensor([1.0]))
    assert "requires_grad=True" not in text and "grad_fn" not in text


ARRAY_LEFT = {
    "+": (lambda a, t: a + t, lambda a, x: np.ones_like(a * x)),
    "-": (lambda a, t: a - t, lambda a, x: -np.ones_like(a * x)),
    "*": (lambda a, t: a * t, lambda a, x: a),
    "/": (lambda a, t: a / t, lambda a, x: -a / x**2),
    "**": (lambda a, t: a**t, lambda a, x: a**x * np.log(a)),
}


@pytest.mark.parametrize("symbol", ARRAY_LEFT)
def test_ndarray_on_the_left_gives_a_tensor_with_gradient(symbol: str) -> None:
    fn, dfdx = ARRAY_LEFT[symbol]
    a = np.array([[1.5, 2.0, 2.5], [3.0, 0.5, 1.25]])
    x_values = np.array([0.5, 1.5, 2.0])
    x = ag.tensor(x_values, requires_grad=True)
    out = fn(a, x)
    assert isinstance(out, ag.Tensor)
    np.testing.assert_allclose(out.data, fn(a, x_values), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, dfdx(a, x_values).sum(axis=0), rtol=1e-12)


def test_ndarray_matmul_tensor_gives_a_tensor_with_gradient() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = ag.tensor([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]], requires_grad=True)
    out = a @ x
    assert isinstance(out, ag.Tensor)
    np.testing.assert_array_equal(out.data, a @ x.data)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.repeat(a.sum(axis=0)[:, None], 3, axis=1))
