"""Nested transforms against torch.func in float64 (issue 9): every program below is
written once against a small backend namespace and run with autograd_lite's transforms
and with torch.func's (grad, jvp, vjp, hessian, jacrev); the results must agree to
1e-10. Hypothesis adds random nested programs (grad/jvp/hvp inside grad, closures over
the outer variable)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import torch.func as tf
from hypothesis import given, note, settings
from hypothesis import strategies as st

import autograd_lite as ag

TOL = 1e-10

AG = SimpleNamespace(
    grad=ag.grad, hessian=ag.hessian, jacobian=ag.jacobian, jvp=ag.jvp,
    vjp=lambda f, x, u: ag.grad(lambda t: (f(t) * u).sum())(x),
    hvp=ag.hvp,
    tanh=ag.tanh, exp=ag.exp, sigmoid=ag.sigmoid, sum=lambda t: t.sum(), c=np.asarray,
)
TF = SimpleNamespace(
    grad=tf.grad, hessian=tf.hessian, jacobian=tf.jacrev,
    jvp=lambda f, x, v: tf.jvp(f, (x,), (v,))[1],
    vjp=lambda f, x, u: tf.vjp(f, x)[1](u)[0],
    hvp=lambda f, x, v: tf.jvp(tf.grad(f), (x,), (v,))[1],
    tanh=torch.tanh, exp=torch.exp, sigmoid=torch.sigmoid, sum=torch.sum,
    c=lambda a: torch.tensor(a, dtype=torch.float64),
)

X0 = [0.4, -0.7, 1.1]
Y0 = [0.9, 0.3, -0.5]
W0 = [1.3, -0.6, 0.8]
V0 = [1.0, -2.0, 0.5]
U0 = [0.3, 0.7, -1.2]
M = [[0.5, -1.0, 0.2], [0.3, 0.8, -0.6], [1.1, 0.0, 0.4]]


def as_numpy(value: Any) -> Any:
    """A result of either backend as float64 arrays, keeping tuple nesting."""
    if isinstance(value, (tuple, list)):
        return tuple(as_numpy(v) for v in value)
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_close(got: Any, want: Any) -> None:
    """Same nesting, shapes and values to TOL (relative, and absolute near zero)."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)
        return
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def vec_fn(B: SimpleNamespace) -> Callable:
    """R^3 -> R^3 with a dense Jacobian."""
    m = B.c(M)
    return lambda x: B.tanh(m @ x) * B.sum(x * x)


def scalar_fn(B: SimpleNamespace) -> Callable:
    """R^3 -> R, with a dense Hessian."""
    return lambda x: B.sum(B.tanh(x) * B.exp(x * 0.3)) + B.sum(x) ** 2


def two_arg(B: SimpleNamespace) -> Callable:
    """(x, a) -> R, scalars: tanh(x a) exp(0.3 a) + x^2 a^3."""
    return lambda x, a: B.tanh(x * a) * B.exp(a * 0.3) + x * x * a ** 3


# ---- the nested programs: name -> program(backend) -> result --------------------------

PROGRAMS: dict[str, Callable[[SimpleNamespace], Any]] = {
    # d/dx [x * d/dy (x + y)] = 1: the classic perturbation-confusion test.
    "classic_confusion": lambda B: B.grad(
        lambda x: x * B.grad(lambda y: x + y)(B.c(2.0)))(B.c(1.0)),
    "closure_in_inner_grad": lambda B: B.grad(
        lambda x: x * B.grad(lambda y: x * y)(B.c(2.0)))(B.c(1.0)),
    "other_argument_of_inner_grad": lambda B: B.grad(
        lambda x: x * B.grad(lambda x, y: x * y, argnums=1)(x, B.c(3.0)))(B.c(2.0)),
    "third_derivative_with_other_argument": lambda B: B.grad(B.grad(B.grad(two_arg(B))))(
        B.c(0.7), B.c(1.3)),
    "third_derivative_mixed": lambda B: B.grad(
        lambda a: B.grad(B.grad(two_arg(B)))(B.c(0.7), a))(B.c(1.3)),
    "mixed_partial": lambda B: B.grad(B.grad(two_arg(B), argnums=1), argnums=0)(
        B.c(0.7), B.c(1.3)),
    "mixed_partial_other_order": lambda B: B.grad(B.grad(two_arg(B), argnums=0), argnums=1)(
        B.c(0.7), B.c(1.3)),
    "hessian_of_two_argument_function": lambda B: B.hessian(
        lambda x, y: B.sum(B.tanh(x * y) * x) + B.sum(y * y * x) * B.sum(x),
        argnums=(0, 1))(B.c(X0), B.c(Y0)),
    "grad_of_gradient_norm": lambda B: B.grad(
        lambda x: B.sum(B.grad(scalar_fn(B))(x) ** 2))(B.c(X0)),
    "closure_over_outer_vector": lambda B: B.grad(
        lambda w: B.sum(B.grad(lambda x: B.sum(B.tanh(w * x)))(B.c(X0)) * w))(B.c(W0)),
    "jvp_inside_grad_primal": lambda B: B.grad(
        lambda x: B.sum(B.jvp(vec_fn(B), x, B.c(V0)) ** 2))(B.c(X0)),
    "jvp_inside_grad_tangent": lambda B: B.grad(
        lambda v: B.sum(B.jvp(vec_fn(B), B.c(X0), v) * B.tanh(v)))(B.c(V0)),
    "hessian_inside_grad": lambda B: B.grad(
        lambda x: B.sum(B.hessian(scalar_fn(B))(x) * B.c(M)))(B.c(X0)),
    "jacobian_inside_grad": lambda B: B.grad(
        lambda x: B.sum(B.jacobian(vec_fn(B))(x) ** 2))(B.c(X0)),
    "grad_inside_jacobian": lambda B: B.jacobian(
        lambda w: B.grad(lambda x: B.sum(B.tanh(x * w) ** 2))(B.c(X0)))(B.c(W0)),
    "inner_grad_at_the_outer_point": lambda B: B.grad(
        lambda x: B.sum(x * B.grad(lambda y: B.sum(x * y + y * y * x))(x)))(B.c(X0)),
    "triple_nesting_with_closures": lambda B: B.grad(
        lambda a: B.grad(
            lambda b: B.grad(lambda c: a * b * c * B.tanh(a + b * c))(B.c(0.6)) * b)(
            B.c(-0.4)) * a)(B.c(0.9)),
    "hvp_inside_grad": lambda B: B.grad(
        lambda x: B.sum(B.hvp(scalar_fn(B), x, B.c(V0)) * x))(B.c(X0)),
    "hvp_inside_grad_tangent": lambda B: B.grad(
        lambda v: B.sum(B.hvp(scalar_fn(B), B.c(X0), v) ** 2))(B.c(V0)),
    "vjp_inside_grad_cotangent": lambda B: B.grad(
        lambda u: B.sum(B.vjp(vec_fn(B), B.c(X0), u) ** 2))(B.c(U0)),
    "vjp_inside_grad_primal": lambda B: B.grad(
        lambda x: B.sum(B.vjp(vec_fn(B), x, B.c(U0)) * x))(B.c(X0)),
    "hessian_of_function_with_inner_grad": lambda B: B.hessian(
        lambda x: B.sum(B.grad(scalar_fn(B))(x) * B.tanh(x)))(B.c(X0)),
    "jvp_of_grad_is_hvp": lambda B: B.jvp(B.grad(scalar_fn(B)), B.c(X0), B.c(V0)),
    "two_inner_grads_different_variables": lambda B: B.grad(
        lambda x: B.grad(lambda y: B.sum(B.tanh(x * y)))(x * 0.5)[0]
        * B.grad(lambda z: B.sum(B.sigmoid(z) * x))(B.c(Y0))[2])(B.c(X0)),
    "argnums_inside_argnums": lambda B: B.grad(
        lambda a, b: B.sum(B.grad(lambda p, q: B.sum(B.tanh(p * q) * a), argnums=1)(a, b)),
        argnums=1)(B.c(X0), B.c(Y0)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_nested_program_matches_torch_func(name: str) -> None:
    got = as_numpy(PROGRAMS[name](AG))
    want = as_numpy(PROGRAMS[name](TF))
    assert_close(got, want)


def test_there_are_at_least_twenty_nested_programs() -> None:
    assert len(PROGRAMS) >= 20


# The issue's examples, with their exact values (not only torch's).
def test_issue_examples_exact() -> None:
    assert float(ag.grad(lambda x: x * ag.grad(lambda y: x + y)(2.0))(1.0)) == 1.0
    assert float(ag.grad(lambda x: x * ag.grad(lambda y: x * y)(2.0))(1.0)) == 2.0
    assert float(ag.grad(lambda x: x * ag.grad(lambda x, y: x * y, argnums=1)(x, 3.0))(2.0)) \
        == 4.0


def test_a_transform_inside_another_returns_recorded_tensors() -> None:
    seen = []

    def outer(x: ag.Tensor) -> ag.Tensor:
        inner = ag.grad(lambda y: (x * y * y).sum())(np.array([1.0, 2.0]))
        seen.append(inner)
        return inner.sum()

    ag.grad(outer)(np.array([3.0, 4.0]))
    assert isinstance(seen[0], ag.Tensor) and seen[0].requires_grad


def test_top_level_results_are_plain() -> None:
    value, g = ag.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    assert type(value) is float and type(g) is np.ndarray
    assert type(ag.jvp(lambda x: x * x, np.ones(2), np.ones(2))) is np.ndarray
    assert type(ag.hessian(lambda x: (x ** 3).sum())(np.ones(2))) is np.ndarray


def test_grad_w_r_t_a_closed_over_parameter_is_recorded_at_top_level() -> None:
    # Grad mode on, f closes over a leaf that requires grad: the result is differentiable
    # with respect to it, and backward reaches it.
    w = ag.tensor([0.5, -1.5], requires_grad=True)
    g = ag.grad(lambda x: (w * x * x).sum())(np.array([2.0, 3.0]))
    assert isinstance(g, ag.Tensor)
    g.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [4.0, 6.0])  # d/dw sum(2 w x)


def test_under_no_grad_nothing_is_recorded() -> None:
    w = ag.tensor([0.5, -1.5], requires_grad=True)
    with ag.no_grad():
        g = ag.grad(lambda x: (w * x * x).sum())(np.array([2.0, 3.0]))
    assert type(g) is np.ndarray
    np.testing.assert_array_equal(g, [2.0, -9.0])


def test_inner_backward_never_frees_the_callers_graph() -> None:
    # The inner walk stops at its own nodes, so the outer graph survives for backward.
    w = ag.tensor([0.5, -1.5], requires_grad=True)
    h = (w * 3.0).tanh()
    with ag.no_grad():
        ag.grad(lambda x: (h * x).sum())(np.ones(2))
    h.sum().backward()
    np.testing.assert_allclose(w.grad.data, 3 * (1 - np.tanh(3 * w.data) ** 2), rtol=1e-15)


def test_functions_that_ignore_their_argument_have_zero_derivatives() -> None:
    assert ag.grad(lambda x: 1.0)(2.0) == 0.0
    np.testing.assert_array_equal(ag.grad(lambda x: ag.tensor(3.0))(np.ones(3)), np.zeros(3))
    np.testing.assert_array_equal(ag.jvp(lambda x: ag.tensor([1.0, 2.0]), np.ones(3),
                                         np.ones(3)), np.zeros(2))
    np.testing.assert_array_equal(ag.jvp(lambda x: 5.0, np.ones(3), np.ones(3)), 0.0)
    np.testing.assert_array_equal(ag.jacobian(lambda x: ag.tensor([1.0, 2.0]))(np.ones(3)),
                                  np.zeros((2, 3)))
    np.testing.assert_array_equal(ag.hessian(lambda x: (x * 2.0).sum())(np.ones(2)),
                                  np.zeros((2, 2)))
    # Nested: the inner constant gradient is a zero, not an error.
    assert ag.grad(lambda x: x * ag.grad(lambda y: x)(1.0) + x)(2.0) == 1.0


def test_jvp_is_differentiable_in_primal_and_tangent_by_backward() -> None:
    x = ag.tensor(X0, requires_grad=True)
    v = ag.tensor(V0, requires_grad=True)
    jv = ag.jvp(vec_fn(AG), x, v)
    (jv ** 2).sum().backward()
    xt = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    vt = torch.tensor(V0, dtype=torch.float64, requires_grad=True)
    (tf.jvp(vec_fn(TF), (xt,), (vt,))[1] ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(v.grad.data, vt.grad.numpy(), rtol=TOL, atol=TOL)


def test_gradient_penalty_reaches_module_parameters_as_in_torch() -> None:
    # WGAN-GP style: the input gradient, taken inside the training step, is differentiated
    # with respect to the model's parameters the transform closed over.
    model = ag.nn.MLP([3, 5, 1], activation="tanh", rng=np.random.default_rng(1))
    X = np.random.default_rng(2).standard_normal((4, 3))
    gp = ag.grad(lambda x: model(x).sum())(X)
    assert isinstance(gp, ag.Tensor) and gp.shape == X.shape
    (gp * gp).sum().backward()
    first, last = model.layers[0], model.layers[2]
    params = [torch.tensor(p.data, requires_grad=True)
              for p in (first.weight, first.bias, last.weight, last.bias)]
    x = torch.tensor(X, requires_grad=True)
    out = torch.tanh(x @ params[0].T + params[1]) @ params[2].T + params[3]
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    (g * g).sum().backward()
    for mine, theirs in zip((first.weight, first.bias, last.weight), params):
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), rtol=TOL, atol=TOL)
    # The input gradient does not depend on the last bias: no gradient, in both.
    assert last.bias.grad is None and params[3].grad is None


# ---- random nested programs ------------------------------------------------------------

UNARY = ("tanh", "sigmoid", "square", "damped_exp")
BINARY = ("add", "sub", "mul")
LEAVES = ("x", "y", "c1", "c2")
C1, C2 = [0.7, -0.2, 1.4], [-1.1, 0.5, 0.3]

expressions = st.recursive(
    st.sampled_from(LEAVES),
    lambda inner: st.one_of(st.tuples(st.sampled_from(UNARY), inner),
                            st.tuples(st.sampled_from(BINARY), inner, inner)),
    max_leaves=6,
)


def evaluate(expr: Any, env: dict, B: SimpleNamespace) -> Any:
    """The value of an expression tree (see ``expressions``) in backend ``B``."""
    if isinstance(expr, str):
        return env[expr]
    if len(expr) == 2:
        op, a = expr[0], evaluate(expr[1], env, B)
        return {"tanh": B.tanh, "sigmoid": B.sigmoid, "square": lambda t: t * t,
                "damped_exp": lambda t: B.exp(B.tanh(t))}[op](a)
    op, a, b = expr[0], evaluate(expr[1], env, B), evaluate(expr[2], env, B)
    return {"add": a + b, "sub": a - b, "mul": a * b}[op]


def random_program(outer: Any, inner: Any, kind: str, at_outer_point: bool) -> Callable:
    """d/dx sum(outer(x, y := T(x))) where T is an inner grad, jvp or hvp of
    ``inner(x, y)`` over y, closing over x; the inner point is Y0 or x itself."""

    def program(B: SimpleNamespace) -> Any:
        consts = {"c1": B.c(C1), "c2": B.c(C2)}

        def outer_fn(x: Any) -> Any:
            def inner_fn(y: Any) -> Any:
                # "+ x * y" keeps the inner function dependent on both variables.
                return evaluate(inner, {**consts, "x": x, "y": y}, B) + x * y

            point = x if at_outer_point else B.c(Y0)
            if kind == "grad":
                t = B.grad(lambda y: B.sum(inner_fn(y)))(point)
            elif kind == "jvp":
                t = B.jvp(inner_fn, point, x)
            else:
                t = B.hvp(lambda y: B.sum(inner_fn(y)), point, x)
            return B.sum(evaluate(outer, {**consts, "x": x, "y": t}, B)) + B.sum(t * x)

        return B.grad(outer_fn)(B.c(X0))

    return program


@settings(max_examples=40, deadline=None)
@given(outer=expressions, inner=expressions, kind=st.sampled_from(("grad", "jvp", "hvp")),
       at_outer_point=st.booleans())
def test_random_nested_programs_match_torch_func(outer: Any, inner: Any, kind: str,
                                                 at_outer_point: bool) -> None:
    note(f"outer={outer} inner={inner} kind={kind} at_outer_point={at_outer_point}")
    program = random_program(outer, inner, kind, at_outer_point)
    assert_close(as_numpy(program(AG)), as_numpy(program(TF)))


@settings(max_examples=20, deadline=None)
@given(expr=expressions)
def test_random_third_derivatives_with_a_closure_match_torch_func(expr: Any) -> None:
    # d3/da3 of a scalar program of (a, closed-over w): three levels, each a new point.
    def program(B: SimpleNamespace) -> Any:
        w = B.c(W0)

        def f(a: Any) -> Any:
            return B.sum(evaluate(expr, {"x": a * w, "y": w, "c1": B.c(C1), "c2": B.c(C2)}, B))

        return B.grad(B.grad(B.grad(f)))(B.c(0.35))

    note(f"expr={expr}")
    assert_close(as_numpy(program(AG)), as_numpy(program(TF)))
