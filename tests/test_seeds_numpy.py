"""The seed notes' two-layer sigmoid network written with NumPy calls on Tensors.

The seed notes (the network this project grew from) compute, for one sample held as a
column:
hidden_inputs = W_ih . inputs, hidden_outputs = sigmoid(hidden_inputs),
final_inputs = W_ho . hidden_outputs, final_outputs = sigmoid(final_inputs),
output_err = targets - final_outputs, output_grad_err = output_err * yhat (1 - yhat),
hidden_grad_err = W_ho^T . output_grad_err * a (1 - a), and the gradient descent steps
lr * output_grad_err . hidden_outputs^T and lr * hidden_grad_err . inputs^T, added to the
weights. Here the forward pass is that code unchanged (``np.dot``, ``np.exp``), with the
weights as Tensors: the engine's gradients of 0.5 * sum(output_err**2) must be minus the
hand-derived steps over lr, and PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.special
import torch

import autograd_lite as ag

LR = 0.3
ATOL = 1e-12
N_IN, N_HIDDEN, N_OUT = 3, 4, 2
TRAIN_LR = 2.0  # per-sample steps on 4 samples: large enough to fit in 300 epochs


def sigmoid(x: Any) -> Any:
    """The seed's activation, 1 / (1 + e**-x), on arrays, Tensors or torch tensors alike."""
    exp = torch.exp if isinstance(x, torch.Tensor) else np.exp
    return 1 / (1 + exp(-x))


def forward(i2h_weights: Any, h2o_weights: Any, inputs: np.ndarray) -> tuple[Any, Any]:
    """The seed's forward pass: inputs (N_IN, 1), i2h (N_HIDDEN, N_IN), h2o (N_OUT,
    N_HIDDEN) -> (hidden_outputs (N_HIDDEN, 1), final_outputs (N_OUT, 1)).

    Written once with ``np.dot``: on ndarrays it is the seed's own code, on Tensors the
    same calls are recorded through NumPy's dispatch.
    """
    hidden_inputs = np.dot(i2h_weights, inputs)
    hidden_outputs = sigmoid(hidden_inputs)
    final_inputs = np.dot(h2o_weights, hidden_outputs)
    final_outputs = sigmoid(final_inputs)
    return hidden_outputs, final_outputs


def hand_steps(i2h: np.ndarray, h2o: np.ndarray, inputs: np.ndarray,
               targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seed's hand-derived gradient descent steps ``(i2h_weights_step (N_HIDDEN, N_IN),
    h2o_weights_step (N_OUT, N_HIDDEN))`` for one sample, computed on ndarrays."""
    hidden_outputs, final_outputs = forward(i2h, h2o, inputs)
    output_err = targets - final_outputs
    output_grad_err = output_err * final_outputs * (1 - final_outputs)
    hidden_grad_err = np.dot(h2o.T, output_grad_err) * hidden_outputs * (1 - hidden_outputs)
    return (LR * np.dot(hidden_grad_err, inputs.T),
            LR * np.dot(output_grad_err, hidden_outputs.T))


def squared_error(final_outputs: Any, targets: np.ndarray) -> Any:
    """0.5 * sum(output_err**2): the loss whose gradient the seed's deltas are."""
    return 0.5 * ((targets - final_outputs) ** 2).sum()


@pytest.fixture
def network(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One sample as columns and the two weight matrices, as the seed lays them out."""
    return {
        "inputs": rng.uniform(-1, 1, (N_IN, 1)),
        "targets": np.array([[0.2], [0.9]]),
        "i2h": rng.normal(0, 0.8, (N_HIDDEN, N_IN)),
        "h2o": rng.normal(0, 0.8, (N_OUT, N_HIDDEN)),
    }


def _tensors(network: dict) -> tuple[ag.Tensor, ag.Tensor]:
    return (ag.tensor(network["i2h"], requires_grad=True),
            ag.tensor(network["h2o"], requires_grad=True))


def test_numpy_calls_on_tensors_give_the_seeds_hand_derived_steps(network: dict) -> None:
    i2h, h2o = _tensors(network)
    hidden_outputs, final_outputs = forward(i2h, h2o, network["inputs"])
    assert isinstance(final_outputs, ag.Tensor) and final_outputs.shape == (N_OUT, 1)
    squared_error(final_outputs, network["targets"]).backward()

    i2h_step, h2o_step = hand_steps(network["i2h"], network["h2o"], network["inputs"],
                                    network["targets"])
    np.testing.assert_allclose(-LR * h2o.grad.data, h2o_step, rtol=0, atol=ATOL)
    np.testing.assert_allclose(-LR * i2h.grad.data, i2h_step, rtol=0, atol=ATOL)
    # The steps are not trivially zero, so the comparison above has something to check.
    assert np.abs(i2h_step).min() > 1e-6 and np.abs(h2o_step).min() > 1e-6


def test_numpy_calls_on_tensors_match_pytorch(network: dict) -> None:
    i2h, h2o = _tensors(network)
    _, final_outputs = forward(i2h, h2o, network["inputs"])
    loss = squared_error(final_outputs, network["targets"])
    loss.backward()

    t_i2h = torch.tensor(network["i2h"], requires_grad=True)
    t_h2o = torch.tensor(network["h2o"], requires_grad=True)
    t_inputs = torch.tensor(network["inputs"])
    t_final = sigmoid(t_h2o @ sigmoid(t_i2h @ t_inputs))
    t_loss = squared_error(t_final, torch.tensor(network["targets"]))
    t_loss.backward()
    np.testing.assert_allclose(loss.data, t_loss.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(i2h.grad.data, t_i2h.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(h2o.grad.data, t_h2o.grad.numpy(), rtol=0, atol=ATOL)


def test_the_seeds_plus_equals_update_works_after_backward(network: dict) -> None:
    """The seed's update ``W += lr * np.dot(...)`` with its deltas built from the Tensors of
    the forward pass: after backward no graph needs the weights' arrays, and an ndarray
    ``out=`` takes the raw values without recording."""
    i2h, h2o = _tensors(network)
    hidden_outputs, final_outputs = forward(i2h, h2o, network["inputs"])
    squared_error(final_outputs, network["targets"]).backward()
    i2h_data, h2o_data = i2h.data, h2o.data
    with ag.no_grad():  # the deltas are values here, as in the seed, not part of a graph
        output_err = network["targets"] - final_outputs
        output_grad_err = output_err * final_outputs * (1 - final_outputs)
        hidden_grad_err = np.dot(h2o.T, output_grad_err) * hidden_outputs * (1 - hidden_outputs)
        h2o.data += LR * np.dot(output_grad_err, np.transpose(hidden_outputs))
        i2h.data += LR * np.dot(hidden_grad_err, np.transpose(network["inputs"]))

    i2h_step, h2o_step = hand_steps(network["i2h"], network["h2o"], network["inputs"],
                                    network["targets"])
    assert h2o.data is h2o_data and i2h.data is i2h_data  # updated in place, still ndarrays
    np.testing.assert_allclose(h2o.data, network["h2o"] + h2o_step, rtol=0, atol=ATOL)
    np.testing.assert_allclose(i2h.data, network["i2h"] + i2h_step, rtol=0, atol=ATOL)
    assert h2o.node is None and i2h.node is None


def test_an_inplace_update_while_a_graph_needs_the_weights_fails_loudly(
        network: dict) -> None:
    """Before backward the recorded np.dot still needs W's values: writing them would
    silently change the gradient, so the array is read-only until the graph is done."""
    i2h, h2o = _tensors(network)
    _, final_outputs = forward(i2h, h2o, network["inputs"])  # keeps the graph alive
    with pytest.raises(ValueError, match="read-only"):
        h2o.data += 1.0
    np.testing.assert_array_equal(h2o.data, network["h2o"])
    squared_error(final_outputs, network["targets"]).backward()
    h2o.data += 1.0  # the graph is done with the weights now
    np.testing.assert_array_equal(h2o.data, network["h2o"] + 1.0)


def test_manual_updates_after_backward_train_the_network(rng: np.random.Generator) -> None:
    """Four samples of a smooth target, per-sample steps ``w.data -= lr * w.grad.data``."""
    inputs = rng.uniform(-1, 1, (4, N_IN, 1))
    targets = sigmoid(np.dot(rng.normal(0, 1.5, (N_OUT, N_IN)), inputs).transpose(1, 0, 2))
    i2h = ag.tensor(rng.normal(0, 0.5, (N_HIDDEN, N_IN)), requires_grad=True)
    h2o = ag.tensor(rng.normal(0, 0.5, (N_OUT, N_HIDDEN)), requires_grad=True)

    def total_loss() -> float:
        with ag.no_grad():
            return sum(float(squared_error(forward(i2h, h2o, x)[1], y).data)
                       for x, y in zip(inputs, targets))

    before = total_loss()
    for _ in range(300):
        for x, y in zip(inputs, targets):
            squared_error(forward(i2h, h2o, x)[1], y).backward()
            for w in (i2h, h2o):
                w.data -= TRAIN_LR * w.grad.data
                w.grad = None  # the seed recomputes its deltas afresh for every sample
    after = total_loss()
    assert after < 0.1 * before, (before, after)  # 0.141 -> 0.0046 with these seeds


@pytest.mark.parametrize(("call", "name"), [
    (np.cbrt, "np.cbrt"),  # a ufunc
    (np.median, "np.median"),  # a function dispatched through __array_function__
    (scipy.special.expit, "expit"),  # the seed's sigmoid: a ufunc outside NumPy
])
def test_a_numpy_function_without_a_gradient_rule_is_refused_by_name(
        call: Any, name: str) -> None:
    t = ag.tensor([[0.5], [1.0]], requires_grad=True)
    with pytest.raises(TypeError, match=rf"^{name} has no gradient rule") as info:
        call(t)
    assert "t.data" in str(info.value)
    assert call(t.data).shape in ((2, 1), ())  # on the raw values it still works
