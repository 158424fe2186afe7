"""ag.checkpoint: one recorded op that recomputes f in backward; gradients identical to
the plain run, first order bit for bit, second order through create_graph (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.random import default_generator, manual_seed

X0 = np.array([0.3, -0.5, 1.2, 0.05])
W0 = np.array([[0.4, -0.2, 0.1, 0.9], [1.1, 0.3, -0.7, 0.2], [-0.5, 0.8, 0.6, -0.3],
               [0.2, -0.9, 0.4, 0.5]])


def block(x: ag.Tensor, w: ag.Tensor) -> ag.Tensor:
    """A few ops whose intermediates a checkpoint does not keep."""
    for _ in range(4):
        x = (x @ w).tanh() * 1.1 + x * x * 0.1
    return x


def plain_loss(x: ag.Tensor, w: ag.Tensor) -> ag.Tensor:
    return (block(block(x, w), w) ** 2).sum()


def checkpointed_loss(x: ag.Tensor, w: ag.Tensor) -> ag.Tensor:
    return (ag.checkpoint(block, ag.checkpoint(block, x, w), w) ** 2).sum()


def test_a_checkpoint_is_one_recorded_node_that_keeps_only_its_inputs() -> None:
    x = ag.tensor(X0, requires_grad=True)
    y = ag.checkpoint(block, x, W0)
    assert y.node.name == "checkpoint"
    assert all(not isinstance(i, ag.Tensor) or i is x for i in y.node.inputs)
    np.testing.assert_array_equal(y.data, block(ag.tensor(X0), W0).data)


def assert_same_first_order(plain: tuple, checked: tuple) -> None:
    """x's gradient bit for bit; w's to rounding. w feeds both segments: the plain run
    adds its eight contributions one after another, the checkpointed run adds each
    segment's four first and then the two sums, a different association of the same
    terms (as with torch.utils.checkpoint)."""
    np.testing.assert_array_equal(plain[0], checked[0])
    np.testing.assert_allclose(plain[1], checked[1], rtol=1e-15, atol=1e-15)


def test_first_order_gradients_are_identical_to_the_plain_run() -> None:
    assert_same_first_order(ag.grad(plain_loss, argnums=(0, 1))(X0, W0),
                            ag.grad(checkpointed_loss, argnums=(0, 1))(X0, W0))


def test_a_parameter_inside_one_segment_gets_a_bit_identical_gradient() -> None:
    def plain(x: ag.Tensor, w: ag.Tensor) -> ag.Tensor:
        return (block(x, w).tanh() ** 2).sum()

    def checked(x: ag.Tensor, w: ag.Tensor) -> ag.Tensor:
        return (ag.checkpoint(block, x, w).tanh() ** 2).sum()

    for p, c in zip(ag.grad(plain, argnums=(0, 1))(X0, W0),
                    ag.grad(checked, argnums=(0, 1))(X0, W0)):
        np.testing.assert_array_equal(p, c)


def test_backward_fills_leaves_as_the_plain_run() -> None:
    grads = []
    for loss in (plain_loss, checkpointed_loss):
        x, w = ag.tensor(X0, requires_grad=True), ag.tensor(W0, requires_grad=True)
        loss(x, w).backward()
        grads.append((x.grad.data, w.grad.data))
    assert_same_first_order(*grads)


def test_second_order_gradients_equal_the_plain_run() -> None:
    # The recomputation's backward is recorded, so create_graph goes through the op.
    # Same operations; only the order in which the second pass sums contributions
    # differs, hence rounding-level (not bit-level) agreement.
    plain = ag.hessian(plain_loss)(X0, W0)
    checked = ag.hessian(checkpointed_loss)(X0, W0)
    np.testing.assert_allclose(checked, plain, rtol=1e-12, atol=1e-14)
    v = np.array([1.0, -1.0, 0.5, 2.0])
    np.testing.assert_allclose(ag.hvp(lambda x: checkpointed_loss(x, W0), X0, v),
                               plain @ v, rtol=1e-12, atol=1e-14)


def test_double_backward_through_a_checkpoint_by_create_graph() -> None:
    results = []
    for loss in (plain_loss, checkpointed_loss):
        x = ag.tensor(X0, requires_grad=True)
        (g,) = ag.engine.grad_of([loss(x, W0)], [x], create_graph=True)
        (g * g).sum().backward()
        results.append(x.grad.data)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


def test_pytree_arguments_and_non_tensor_arguments() -> None:
    def f(p: dict, scale: float) -> ag.Tensor:
        return (p["a"] * p["b"][0]).tanh() * scale

    a, b = ag.tensor([0.2, 0.4], requires_grad=True), ag.tensor([1.5, -0.5], requires_grad=True)
    ag.checkpoint(f, {"a": a, "b": [b]}, 3.0).sum().backward()
    t = np.tanh(a.data * b.data)
    np.testing.assert_allclose(a.grad.data, 3.0 * (1 - t ** 2) * b.data, rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, 3.0 * (1 - t ** 2) * a.data, rtol=1e-15)


def test_float32_checkpoint_gradients_stay_float32_and_identical() -> None:
    x32 = X0.astype(np.float32)
    w32 = W0.astype(np.float32)
    plain = ag.grad(lambda x: plain_loss(x, w32))(x32)
    checked = ag.grad(lambda x: checkpointed_loss(x, w32))(x32)
    assert checked.dtype == np.float32
    np.testing.assert_array_equal(plain, checked)


def test_without_grad_a_checkpoint_is_just_the_function() -> None:
    y = ag.checkpoint(block, ag.tensor(X0), W0)
    assert not y.requires_grad and y.node is None
    with ag.no_grad():
        y = ag.checkpoint(block, ag.tensor(X0, requires_grad=True), W0)
    assert not y.requires_grad


def test_a_closed_over_tensor_requiring_grad_is_an_error_not_a_lost_gradient() -> None:
    w = ag.tensor(W0, requires_grad=True)
    y = ag.checkpoint(lambda x: block(x, w), ag.tensor(X0, requires_grad=True))
    with pytest.raises(RuntimeError, match="checkpoint: f uses a Tensor that requires grad"):
        y.sum().backward()


def test_f_must_return_a_tensor() -> None:
    with pytest.raises(TypeError, match="checkpoint: f must return a Tensor, got float"):
        ag.checkpoint(lambda x: 1.0, ag.tensor(X0, requires_grad=True))


def test_an_input_modified_in_place_makes_backward_raise() -> None:
    x = ag.tensor(X0.copy(), requires_grad=True)
    y = ag.checkpoint(block, x, W0)
    x.data.setflags(write=True)  # the op saved x's array: it was made read-only
    x.data[0] = 5.0
    with pytest.raises(RuntimeError, match="checkpoint"):
        y.sum().backward()


def test_the_checkpoint_vjp_agrees_with_central_differences() -> None:
    # draw_graph(check=True)'s per-op check calls the VJP on its own, without the
    # engine's needs mask.
    from autograd_lite.graph import check_op

    x, w = ag.tensor(X0, requires_grad=True), ag.tensor(W0, requires_grad=True)
    assert check_op(ag.checkpoint(block, x, w).node).status == "agrees"


def test_draws_from_the_default_generator_are_replayed_in_the_recomputation() -> None:
    def noisy(x: ag.Tensor) -> ag.Tensor:
        mask = default_generator().random(x.shape) < 0.5  # dropout-like
        return (x * 3.0).tanh() * mask

    grads = []
    for wrap in (lambda x: noisy(x), lambda x: ag.checkpoint(noisy, x)):
        manual_seed(11)
        x = ag.tensor(np.linspace(-1.0, 1.0, 64), requires_grad=True)
        (wrap(x) ** 2).sum().backward()
        grads.append(x.grad.data)
        after = default_generator().random()  # the caller's stream is untouched
        manual_seed(11)
        default_generator().random(64)
        assert after == default_generator().random()
    np.testing.assert_array_equal(grads[0], grads[1])
    assert 0 < np.count_nonzero(grads[0]) < 64


def test_a_closure_over_parameters_is_refused_also_when_no_argument_requires_grad() -> None:
    # checkpoint(model, data) on input data: no argument required grad, so the op was not
    # recorded, its VJP (which detects closures) never ran, and the model's parameters
    # silently got no gradient while the rest of the loss backpropagated normally.
    w = ag.tensor(np.array([1.5, -2.0]), requires_grad=True)
    other = ag.tensor(np.ones(1), requires_grad=True)
    with pytest.raises(RuntimeError, match="not among the args"):
        ((ag.checkpoint(lambda x: (x * w).tanh(), ag.tensor(np.ones(2)))).sum()
         + other.sum()).backward()
    with ag.no_grad():
        assert ag.checkpoint(lambda x: (x * w).tanh(), ag.tensor(np.ones(2))).shape == (2,)
    plain = ag.checkpoint(lambda x: x.tanh(), ag.tensor(np.ones(2)))
    assert not plain.requires_grad and np.allclose(plain.data, np.tanh(1.0))
