"""Functional transforms (grad, value_and_grad, jacobian, hessian, hvp, jvp) and the
gradient checkers, against closed-form derivatives and independent finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_lite as ag


def central_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                     eps: float = 1e-6) -> np.ndarray:
    """d f(x) / dx by central differences in float64, shape f(x).shape + x.shape.

    Independent of the engine's reverse pass: used to check its Jacobians and Hessians.
    """
    out_shape = np.shape(f(x))
    jac = np.zeros((*out_shape, x.size))
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = eps
        step = step.reshape(x.shape)
        jac[..., k] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps)
    return jac.reshape(*out_shape, *x.shape)


def two_args(a: ag.Tensor, b: ag.Tensor) -> ag.Tensor:
    """sum(a * b) + sum(a^2): d/da = b + 2a, d/db = a."""
    return (a * b).sum() + (a**2).sum()


A_VALUES = np.array([1.0, -2.0, 0.5])
B_VALUES = np.array([3.0, -1.0, 4.0])


# ---- grad and value_and_grad ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ndarray", "tensor"])
def test_grad_of_arrays_and_tensors(kind: str) -> None:
    wrap = {"ndarray": np.array, "tensor": ag.tensor}[kind]
    g = ag.grad(two_args)(wrap(A_VALUES), wrap(B_VALUES))
    assert type(g) is np.ndarray
    np.testing.assert_allclose(g, B_VALUES + 2 * A_VALUES, rtol=1e-15)


def test_grad_of_a_list_is_a_list_of_gradients() -> None:
    # Changed with pytrees (issue 9): a list is a container of leaves, as in JAX, not
    # an array; its gradient is a list with one gradient per element.
    g = ag.grad(lambda xs: xs[0] * xs[1] + xs[1] ** 2)([2.0, 3.0])
    assert type(g) is list and len(g) == 2
    np.testing.assert_allclose(g, [3.0, 2.0 + 6.0], rtol=1e-15)


def test_grad_argnums_int() -> None:
    g = ag.grad(two_args, argnums=1)(A_VALUES, B_VALUES)
    np.testing.assert_allclose(g, A_VALUES, rtol=1e-15)


def test_grad_argnums_tuple() -> None:
    ga, gb = ag.grad(two_args, argnums=(0, 1))(A_VALUES, B_VALUES)
    np.testing.assert_allclose(ga, B_VALUES + 2 * A_VALUES, rtol=1e-15)
    np.testing.assert_allclose(gb, A_VALUES, rtol=1e-15)


def test_value_and_grad_returns_both() -> None:
    value, (ga, gb) = ag.value_and_grad(two_args, argnums=(0, 1))(A_VALUES, B_VALUES)
    assert value == pytest.approx(float(A_VALUES @ B_VALUES + A_VALUES @ A_VALUES), rel=1e-15)
    np.testing.assert_allclose(ga, B_VALUES + 2 * A_VALUES, rtol=1e-15)
    np.testing.assert_allclose(gb, A_VALUES, rtol=1e-15)


def test_grad_leaves_the_arguments_grad_alone() -> None:
    x = ag.tensor(A_VALUES)
    ag.grad(lambda t: (t * t).sum())(x)
    assert x.grad is None


def test_grad_of_an_unused_argument_is_zeros() -> None:
    # Arguments that are not differentiated reach f as given (here an ndarray).
    g = ag.grad(lambda a, b: (ag.tensor(a) * 2.0).sum(), argnums=1)(A_VALUES, B_VALUES)
    np.testing.assert_array_equal(g, np.zeros(3))


def test_grad_of_a_non_scalar_function_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ag.grad(lambda t: t * 2.0)(A_VALUES)


def test_grad_of_grad_is_the_second_derivative() -> None:
    cube = ag.grad(ag.grad(lambda x: x**3))
    assert float(cube(2.0)) == pytest.approx(12.0, rel=1e-15)
    assert float(ag.grad(ag.grad(ag.grad(lambda x: x**3)))(2.0)) == pytest.approx(6.0)


@pytest.mark.parametrize("x", [-1.3, 0.0, 0.4, 2.1])
def test_second_derivative_of_x_cubed_times_exp(x: float) -> None:
    d2 = ag.grad(ag.grad(lambda t: t**3 * t.exp()))(x)
    expected = np.exp(x) * (x**3 + 6 * x**2 + 6 * x)
    np.testing.assert_allclose(d2, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.9])
def test_second_derivative_of_tanh(x: float) -> None:
    d2 = ag.grad(ag.grad(lambda t: t.tanh()))(x)
    t = np.tanh(x)
    np.testing.assert_allclose(d2, -2 * t * (1 - t**2), rtol=1e-12, atol=1e-15)


def test_grad_of_grad_with_respect_to_a_vector() -> None:
    # f = sum(x^2) * sum(x); d/dx of sum(grad f) checked against central differences.
    def f(x: ag.Tensor) -> ag.Tensor:
        return (x * x).sum() * x.sum()

    outer = ag.grad(lambda x: ag.grad(f)(x).sum())
    x0 = np.array([0.5, -1.0, 2.0])

    def inner_sum(x: np.ndarray) -> np.ndarray:
        return np.sum(ag.grad(f)(x))

    np.testing.assert_allclose(outer(x0), central_jacobian(inner_sum, x0), rtol=1e-7)


# ---- jacobian, hessian ------------------------------------------------------------------


def test_jacobian_of_softmax_is_diag_s_minus_s_s_transpose() -> None:
    x = np.array([0.3, -1.0, 2.0, 0.5])
    jac = ag.jacobian(lambda t: t.softmax())(x)
    s = np.exp(x) / np.exp(x).sum()
    assert jac.shape == (4, 4)
    np.testing.assert_allclose(jac, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-16)


def test_jacobian_shape_is_output_shape_plus_input_shape() -> None:
    weights = np.arange(6.0).reshape(2, 3)
    jac = ag.jacobian(lambda t: t.reshape(1, 3) * weights)(np.array([1.0, 2.0, 3.0]))
    assert jac.shape == (2, 3, 3)
    expected = weights[:, :, None] * np.eye(3)[None, :, :]  # d(w_ij x_j)/dx_k = w_ij d_jk
    np.testing.assert_array_equal(jac, expected)


def test_jacobian_of_a_matrix_input_against_central_differences() -> None:
    x = np.array([[0.2, -0.4], [1.1, 0.7], [-0.3, 0.5]])

    def f(t: ag.Tensor) -> ag.Tensor:
        return (t * t[::-1]).tanh().sum(axis=0)

    jac = ag.jacobian(f)(x)
    assert jac.shape == (2, 3, 2)
    np.testing.assert_allclose(jac, central_jacobian(lambda v: f(ag.tensor(v)).data, x),
                               rtol=1e-7)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose() -> None:
    a = np.array([[1.0, 2.0, 0.0], [-3.0, 4.0, 1.5], [0.5, 0.0, -2.0]])
    h = ag.hessian(lambda x: x @ a @ x)(np.array([0.3, -1.2, 2.0]))
    np.testing.assert_allclose(h, a + a.T, rtol=1e-14)


# ---- hvp and jvp against explicit matrices ------------------------------------------------

X_BATCH = np.array([[0.5, -1.0], [1.5, 0.25], [-0.7, 0.8], [0.1, 0.3]])
Y_BATCH = np.array([0.2, -0.5, 1.0, 0.0])
W2 = np.array([0.7, -1.2, 0.4])


def mlp_loss(w: ag.Tensor) -> ag.Tensor:
    """MSE of a 2-3-1 tanh network as a function of its first layer (flattened, 6)."""
    hidden = (X_BATCH @ w.reshape(2, 3)).tanh()
    return ((hidden @ W2 - Y_BATCH) ** 2).mean()


W1 = np.array([0.3, -0.8, 0.5, 1.1, 0.2, -0.4])
DIRECTION = np.array([1.0, -0.5, 0.25, 2.0, -1.0, 0.5])


def test_hessian_of_mlp_loss_matches_central_differences_of_the_gradient() -> None:
    h = ag.hessian(mlp_loss)(W1)
    assert h.shape == (6, 6)
    np.testing.assert_allclose(h, h.T, atol=1e-14)
    np.testing.assert_allclose(h, central_jacobian(ag.grad(mlp_loss), W1), rtol=1e-6,
                               atol=1e-9)


def test_hvp_equals_hessian_times_v() -> None:
    h = central_jacobian(ag.grad(mlp_loss), W1)  # independent of the double backward
    hv = ag.hvp(mlp_loss, W1, DIRECTION)
    assert hv.shape == (6,)
    np.testing.assert_allclose(hv, h @ DIRECTION, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(hv, ag.hessian(mlp_loss)(W1) @ DIRECTION, rtol=1e-12,
                               atol=1e-14)


def test_hvp_of_a_quadratic_is_exact() -> None:
    a = np.array([[2.0, 1.0], [0.0, 3.0]])
    hv = ag.hvp(lambda x: x @ a @ x, np.array([5.0, -7.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(hv, (a + a.T) @ np.array([1.0, 2.0]), rtol=1e-15)


def vector_fn(x: ag.Tensor) -> ag.Tensor:
    """R^3 -> R^2 with a dense Jacobian."""
    m = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.2]])
    return (ag.tensor(m) @ x).tanh() * x.sum()


def test_jvp_equals_jacobian_times_v() -> None:
    x = np.array([0.4, -0.3, 1.1])
    v = np.array([1.0, 2.0, -0.5])
    jv = ag.jvp(vector_fn, x, v)
    assert jv.shape == (2,)
    jac = ag.jacobian(vector_fn)(x)
    np.testing.assert_allclose(jv, jac @ v, rtol=1e-12)
    np.testing.assert_allclose(jv, central_jacobian(lambda t: vector_fn(ag.tensor(t)).data, x)
                               @ v, rtol=1e-7)


def test_hvp_and_jvp_reject_a_direction_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        ag.hvp(mlp_loss, W1, np.ones(5))
    with pytest.raises(ValueError):
        ag.jvp(vector_fn, np.ones(3), np.ones(2))


# ---- numeric_grad and gradcheck -------------------------------------------------------------


def test_numeric_grad_of_a_known_function() -> None:
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    g = ag.numeric_grad(lambda t: (t**3).sum(), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)


def test_numeric_grad_of_several_inputs_skips_non_float_ones() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    labels = np.array([1, 0])
    ga, gb, gl = ag.numeric_grad(lambda p, q, y: (p * q).sum() + float(y.sum()), [a, b, labels])
    np.testing.assert_allclose(ga, b, rtol=1e-8)
    np.testing.assert_allclose(gb, a, rtol=1e-8)
    assert gl is None


def test_numeric_grad_leaves_its_inputs_unchanged() -> None:
    x = np.array([1.0, 2.0, 3.0])
    ag.numeric_grad(lambda t: (t.exp()).sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_gradcheck_passes_a_correct_function_of_several_inputs() -> None:
    a = ag.tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    b = ag.tensor(np.array([0.3, 0.9]))
    assert ag.gradcheck(lambda p, q: (p @ q).tanh() * q.sum(), [a, b]) is True


def test_gradcheck_computes_in_float64_for_float32_inputs() -> None:
    x32 = np.array([100.5, -300.25, 250.0], dtype=np.float32)
    # In float32 a step of 1e-6 vanishes next to these values (their spacing is ~1e-5),
    # so float32 central differences would report a zero gradient: a false alarm.
    assert np.array_equal(x32 + np.float32(1e-6), x32)
    x = ag.tensor(x32)
    assert ag.gradcheck(lambda t: (t * t).sum(), [x]) is True
    assert x.dtype == np.float32  # the caller's tensor is left as it was
    np.testing.assert_allclose(ag.numeric_grad(lambda t: (t * t).sum(), x32),
                               2 * x32.astype(np.float64), rtol=1e-6)
