"""Tensor.backward_steps(): backward one VJP at a time, ending where backward() ends."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import engine


def mlp_loss(seed: int) -> tuple[ag.Tensor, ag.nn.MLP]:
    """A small MLP's cross-entropy loss on fixed data; the same seed, the same model."""
    rng = np.random.default_rng(seed)
    model = ag.nn.MLP([4, 8, 3], rng=rng)
    x = ag.tensor(rng.standard_normal((5, 4)), name="x")
    labels = np.array([0, 2, 1, 1, 0])
    return ag.F.cross_entropy(model(x), labels), model


def test_one_record_per_op_in_reverse_creation_order() -> None:
    loss, _ = mlp_loss(seed=1)
    nodes = sorted(engine.graph_nodes([loss]), key=lambda n: n.seq, reverse=True)
    steps = list(loss.backward_steps())
    assert [s.node for s in steps] == nodes
    assert [s.op for s in steps] == [n.op.name for n in nodes]
    assert steps[-1].op == "linear"  # layer 0 is the first op of the forward
    assert [s.op for s in steps] == ["cross_entropy", "linear", "relu", "linear"]


def test_exhausting_it_leaves_exactly_the_gradients_of_backward() -> None:
    stepped_loss, stepped = mlp_loss(seed=2)
    plain_loss, plain = mlp_loss(seed=2)
    for _ in stepped_loss.backward_steps():
        pass
    plain_loss.backward()
    pairs = list(zip(stepped.named_parameters(), plain.named_parameters()))
    assert len(pairs) == 4
    for (name, p), (_, q) in pairs:
        assert p.grad is not None, name
        np.testing.assert_array_equal(p.grad.data, q.grad.data, err_msg=name)


def test_each_record_carries_the_gradients_in_and_out() -> None:
    loss, _ = mlp_loss(seed=3)
    nodes = engine.graph_nodes([loss])
    steps = list(loss.backward_steps())
    np.testing.assert_array_equal(steps[0].grad_output, np.ones(()))  # the seed
    for step in steps:
        assert step.grad_output.shape == nodes[step.node].shape
        assert len(step.grad_inputs) == len(step.node.inputs)
        for inp, g in zip(step.node.inputs, step.grad_inputs):
            needs = isinstance(inp, (ag.Tensor, engine.Freed)) and inp.requires_grad
            assert (g is not None) == needs, step
            if needs:
                assert g.shape == inp.shape
    assert "Step(" in repr(steps[0]) and steps[0].op in repr(steps[0])


def test_a_step_passes_its_input_gradient_to_the_next_step_of_a_chain() -> None:
    x = ag.tensor([0.3, -1.2, 2.0], requires_grad=True)
    steps = list(x.tanh().exp().sum().backward_steps())
    assert [s.op for s in steps] == ["sum", "exp", "tanh"]
    for upstream, downstream in zip(steps, steps[1:]):
        np.testing.assert_array_equal(upstream.grad_inputs[0], downstream.grad_output)
    np.testing.assert_array_equal(steps[-1].grad_inputs[0], x.grad.data)


def test_retain_graph_is_honoured() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    list(y.backward_steps(retain_graph=True))
    list(y.backward_steps())
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])  # accumulated twice
    with pytest.raises(RuntimeError, match="retain_graph"):
        list(y.backward_steps())
