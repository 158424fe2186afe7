"""The shortcuts second order takes (issue 13, W6), each checked against what it
replaces: ``hvp`` as one level seeding its second pass with ``v``, tanh's and sigmoid's
gradients as one node under create_graph, no recorded gradient for constant operands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite import engine
from autograd_lite.ops.elementwise import sigmoid_backward_op, tanh_backward_op

X0 = np.array([[0.4, -0.7, 1.1], [0.2, 0.9, -1.6]])
W0 = np.array([[1.3, -0.6, 0.8], [0.5, 0.1, -0.9]])


def _op_names(roots: list) -> list[str]:
    return sorted(node.op.name for node in engine.graph_nodes(roots))


# activation name: (autograd_lite, torch, its backward op, torch's backward op)
ACTIVATIONS = {
    "tanh": (ag.tanh, torch.tanh, tanh_backward_op, torch.ops.aten.tanh_backward),
    "sigmoid": (ag.sigmoid, torch.sigmoid, sigmoid_backward_op,
                torch.ops.aten.sigmoid_backward),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_an_activation_records_one_backward_node_under_create_graph(name: str) -> None:
    act = ACTIVATIONS[name][0]
    x = ag.tensor(X0, requires_grad=True)
    (g,) = engine.grad_of([(act(act(x)) * W0).sum()], [x], create_graph=True)
    backward_ops = [n for n in _op_names([g]) if n not in (name, "mul", "sum")]
    assert backward_ops == [f"{name}_backward"] * 2


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_third_derivative_of_an_activation_matches_torch(name: str) -> None:
    # d3/dx3 sum(w * act(x)) runs the backward op's own VJP recorded (third order) and on
    # arrays (the last pass).
    act, act_t = ACTIVATIONS[name][:2]

    def f(x):
        return (act(x) * W0).sum()

    ours = ag.grad(lambda x: ag.grad(lambda y: ag.grad(f)(y).sum())(x).sum())(X0)
    x = torch.tensor(X0, requires_grad=True)
    (g1,) = torch.autograd.grad((act_t(x) * torch.from_numpy(W0)).sum(), x,
                                create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = torch.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(ours, g3.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_a_backward_op_has_the_gradients_of_torchs(name: str) -> None:
    _, act_t, op, op_t = ACTIVATIONS[name]
    y0 = act_t(torch.from_numpy(X0)).numpy()
    g = ag.tensor(W0, requires_grad=True)
    y = ag.tensor(y0, requires_grad=True)
    (op(g, y) * X0).sum().backward()
    gt = torch.tensor(W0, requires_grad=True)
    yt = torch.tensor(y0, requires_grad=True)
    (op_t(gt, yt) * torch.from_numpy(X0)).sum().backward()
    np.testing.assert_allclose(g.grad.data, gt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(y.grad.data, yt.grad.numpy(), rtol=1e-14)


def test_hvp_at_the_top_level_returns_arrays_and_inside_grad_stays_recorded() -> None:
    def f(x):
        return (ag.tanh(x @ W0.T) ** 2).sum()

    v = np.ones_like(X0)
    hv = ag.hvp(f, X0, v)
    assert type(hv) is np.ndarray
    expected = ag.hessian(f)(X0).reshape(X0.size, X0.size) @ v.reshape(-1)
    np.testing.assert_allclose(hv.reshape(-1), expected, rtol=1e-12)
    # Inside grad the result is a Tensor of the outer computation: d/dx sum(H(x) v) is a
    # third derivative, nonzero for this f.
    third = ag.grad(lambda x: ag.hvp(f, x, v).sum())(X0)
    assert np.abs(third).max() > 1e-3
    eps = 1e-6
    bumped = X0.copy()
    bumped[0, 0] += eps
    numeric = (ag.hvp(f, bumped, v).sum() - hv.sum()) / eps
    np.testing.assert_allclose(third[0, 0], numeric, rtol=1e-4)


def test_create_graph_records_no_gradient_for_constant_operands() -> None:
    x = ag.tensor(X0, requires_grad=True)
    c = ag.tensor(W0)  # a constant Tensor, and a constant array below
    r = (x - W0) * (x * c) / (c + 2.0)
    before = engine.sequence_mark()
    (g,) = engine.grad_of([r.sum()], [x], create_graph=True)
    # Recorded: g / b of the div, g * b and g * a of the mul, g * c of x * c and the sum
    # of x's two gradients. Not -g for W0 (x - W0), g * x for c nor -g * out / b for
    # the constant denominator: the engine would drop them (8 nodes before).
    assert engine.sequence_mark() - before - 1 == 5
    (gg,) = engine.grad_of([g.sum()], [x])
    xt = torch.tensor(X0, requires_grad=True)
    ct = torch.from_numpy(W0)
    (gt,) = torch.autograd.grad(((xt - ct) * (xt * ct) / (ct + 2.0)).sum(), xt,
                                create_graph=True)
    (ggt,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(gg, ggt.numpy(), rtol=1e-13)


def test_a_square_written_as_x_times_x_records_one_product_and_matches_torch() -> None:
    x = ag.tensor(X0, requires_grad=True)
    loss = (x * x * W0).sum()
    before = engine.sequence_mark()
    (g,) = engine.grad_of([loss], [x], create_graph=True)
    # One g * x for both inputs of x * x, and their sum (g * W0 is a constant: the seed
    # is one).
    assert engine.sequence_mark() - before - 1 == 2
    (gg,) = engine.grad_of([(g * g).sum()], [x])
    xt = torch.tensor(X0, requires_grad=True)
    (gt,) = torch.autograd.grad((xt * xt * torch.from_numpy(W0)).sum(), xt, create_graph=True)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), xt)
    np.testing.assert_array_equal(g.data, gt.detach().numpy())
    np.testing.assert_allclose(gg, ggt.numpy(), rtol=1e-14)


def test_hvp_over_a_pytree_with_an_unused_leaf_and_a_shared_gradient_matches_torch() -> None:
    # d/da and d/db of sum(a + b) are one array (add hands the same gradient to both);
    # "c" is not used at all: its gradient is a constant zero and its H v block is 0.
    def f(p):
        s = (p["a"] + p["b"]).tanh().sum()
        return s * s

    a, b, c = X0[0], X0[1], np.array([3.0])
    va, vb, vc = W0[0], W0[1], np.array([7.0])
    hv = ag.hvp(f, {"a": a, "b": b, "c": c}, {"a": va, "b": vb, "c": vc})
    at, bt = torch.tensor(a), torch.tensor(b)

    def ft(a_, b_):
        s = torch.tanh(a_ + b_).sum()
        return s * s

    _, (ha, hb) = torch.func.jvp(torch.func.grad(ft, argnums=(0, 1)), (at, bt),
                                 (torch.tensor(va), torch.tensor(vb)))
    np.testing.assert_allclose(hv["a"], ha.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hv["b"], hb.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(hv["c"], [0.0])


def test_hvp_and_jvp_inside_grad_never_lock_the_callers_direction() -> None:
    # The directions seed a recorded backward pass there; what it saves must be copies.
    v = W0[0].copy()
    seen = []

    def outer(x):
        hv = ag.hvp(lambda y: (ag.tanh(y) ** 3).sum(), x, v)
        jv = ag.jvp(lambda y: ag.tanh(y) * y, x, v)
        seen.append(v.flags.writeable)  # the outer graph, holding both, is alive here
        return (hv * jv).sum()

    g = ag.grad(outer)(X0[0])
    assert seen == [True] and v.flags.writeable
    assert np.isfinite(g).all() and np.abs(g).max() > 0
