"""ag.Function: user-defined ops with their own VJP, as torch.autograd.Function."""

from __future__ import annotations

import numpy as np
import pytest
from custom_functions import Cube, WrongCube

import autograd_lite as ag
from autograd_lite.graph import check_op


class ScaledMul(ag.Function):
    """``a * b * scale``: two inputs, a non-array setting kept on ctx, a broadcast gradient."""

    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Gradients in the broadcast shape: the engine sums them back to each input's.
        return grad * b * ctx.scale, grad * a * ctx.scale, None


@pytest.fixture
def x(rng: np.random.Generator) -> ag.Tensor:
    return ag.Tensor(rng.uniform(0.5, 2.0, size=(2, 3)), requires_grad=True, name="x")


def test_forward_and_backward_are_the_users(x: ag.Tensor) -> None:
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, x.data**3, rtol=1e-15)
    y.backward(np.full((2, 3), 2.0))
    np.testing.assert_allclose(x.grad.data, 6 * x.data**2, rtol=1e-15)


def test_it_is_recorded_under_its_class_name(x: ag.Tensor) -> None:
    y = Cube.apply(x)
    assert y.node.op.name == "Cube"
    assert b">Cube</text>" in ag.draw_graph(y.sum()).pipe(format="svg")
    assert "<Cube>" in repr(y)


def test_gradcheck_passes_a_right_backward_and_raises_on_a_wrong_one(x: ag.Tensor) -> None:
    assert ag.gradcheck(lambda t: Cube.apply(t), [x])
    with pytest.raises(ag.GradcheckError, match=r"input 0 \('x'\)"):
        ag.gradcheck(lambda t: WrongCube.apply(t), [x])


def test_check_op_tells_the_right_backward_from_the_wrong_one(x: ag.Tensor) -> None:
    right, wrong = check_op(Cube.apply(x).node), check_op(WrongCube.apply(x).node)
    assert right.status == "agrees" and right.rel_error < 1e-6
    assert wrong.status == "disagrees"
    assert wrong.rel_error == pytest.approx(1 / 3, rel=1e-4)  # |2 - 3| / 3


def test_check_op_runs_forward_with_a_fresh_ctx_and_leaves_the_recorded_one(
        rng: np.random.Generator) -> None:
    a = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    y = ScaledMul.apply(a, b, 2.5)
    ctx = y.node.params["ctx"]
    saved = ctx.saved_tensors
    assert check_op(y.node).status == "agrees"
    assert ctx.saved_tensors is saved and ctx.scale == 2.5
    y.sum().backward()  # the recorded ctx still drives the real backward
    np.testing.assert_allclose(b.grad.data, 2.5 * a.data.sum(axis=0), rtol=1e-12)


def test_broadcast_gradients_are_summed_back_to_each_input(rng: np.random.Generator) -> None:
    a = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    ScaledMul.apply(a, b, 2.0).sum().backward()
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(a.grad.data, 2.0 * np.broadcast_to(b.data, (2, 3)), rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, 2.0 * a.data.sum(axis=0), rtol=1e-12)


def test_needs_input_grad_follows_the_inputs(rng: np.random.Generator) -> None:
    a = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    y = ScaledMul.apply(a, np.ones(3), 1.0)
    assert y.node.params["ctx"].needs_input_grad == (True, False, False)


def test_a_gradient_of_the_wrong_shape_names_the_function(x: ag.Tensor) -> None:
    class Truncating(Cube):
        @staticmethod
        def backward(ctx, grad):
            return grad[:, :2]

    with pytest.raises(ValueError, match=r"Truncating\.backward returned a gradient of shape "
                                         r"\(2, 2\) for input 0 of shape \(2, 3\)"):
        Truncating.apply(x).sum().backward()


def test_the_wrong_number_of_gradients_names_the_function(x: ag.Tensor) -> None:
    class TwoGrads(Cube):
        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match="TwoGrads.backward returned 2 gradients for 1 inputs"):
        TwoGrads.apply(x).sum().backward()


def test_saved_arrays_are_read_only_while_the_graph_lives(x: ag.Tensor) -> None:
    y = Cube.apply(x)
    (saved,) = y.node.params["ctx"].saved_tensors
    with pytest.raises(ValueError, match="read-only"):
        saved[0, 0] = 5.0


def test_forward_must_return_an_array(x: ag.Tensor) -> None:
    class ReturnsTensor(Cube):
        @staticmethod
        def forward(ctx, t):
            return ag.tensor(t)

    with pytest.raises(TypeError, match="ReturnsTensor.forward must return an ndarray"):
        ReturnsTensor.apply(x)


def test_double_backward_through_a_function_differentiates_its_backward(x: ag.Tensor) -> None:
    Cube.apply(x).sum().backward(create_graph=True)
    first = x.grad
    np.testing.assert_allclose(first.data, 3 * x.data**2)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)  # d/dx sum(3x^2)


def test_once_differentiable_refuses_double_backward_by_name(x: ag.Tensor) -> None:
    class OnceCube(Cube):
        @staticmethod
        @ag.once_differentiable
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return 3 * a**2 * grad

    OnceCube.apply(x).sum().backward()  # first order works
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)
    with pytest.raises(RuntimeError, match="OnceCube: its backward is marked once_differentiable"):
        OnceCube.apply(x).sum().backward(create_graph=True)


def test_nothing_is_recorded_under_no_grad(x: ag.Tensor) -> None:
    with ag.no_grad():
        y = Cube.apply(x)
    assert y.node is None and not y.requires_grad
