"""The hand-derived backpropagation of the seed notes, by hand in NumPy and by the engine.

Seed 000 (a two-layer sigmoid network, one sample): hidden_inputs = W_ih x,
hidden_outputs = sigmoid(hidden_inputs), final_inputs = W_ho hidden_outputs,
final_outputs = sigmoid(final_inputs); output_err E = y - yhat, output_grad
G = yhat (1 - yhat), delta^o = E G, delta^h = W_ho^T delta^o * a (1 - a); the gradient
descent steps are lr * delta^o a^T and lr * delta^h x^T. With the loss
0.5 * sum((y - yhat)^2) these are exactly -lr times the engine's gradients.

Seed 001 (the vectorised form, with thresholds subtracted before each sigmoid): for a
batch, Delta W = lr B^T G, Delta theta = -lr sum(G), Delta V = lr X^T E_h,
Delta gamma = -lr sum(E_h), summed over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import autograd_lite as ag

LR = 0.3
ATOL = 1e-12


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class HandBackprop:
    """Every named quantity of seed 000, computed by hand."""

    hidden_outputs: np.ndarray
    final_outputs: np.ndarray
    output_err: np.ndarray
    output_grad_err: np.ndarray  # delta^o
    hidden_grad_err: np.ndarray  # delta^h
    h2o_weights_step: np.ndarray
    i2h_weights_step: np.ndarray


def seed000_by_hand(x: np.ndarray, y: np.ndarray, i2h: np.ndarray,
                    h2o: np.ndarray) -> HandBackprop:
    """One sample: x (n_in,), y (n_out,), i2h (n_hidden, n_in), h2o (n_out, n_hidden)."""
    hidden_inputs = i2h @ x
    hidden_outputs = _sigmoid(hidden_inputs)
    final_inputs = h2o @ hidden_outputs
    final_outputs = _sigmoid(final_inputs)
    output_err = y - final_outputs
    output_grad = final_outputs * (1 - final_outputs)
    output_grad_err = output_err * output_grad
    hidden_grad_err = (h2o.T @ output_grad_err) * hidden_outputs * (1 - hidden_outputs)
    return HandBackprop(
        hidden_outputs=hidden_outputs,
        final_outputs=final_outputs,
        output_err=output_err,
        output_grad_err=output_grad_err,
        hidden_grad_err=hidden_grad_err,
        h2o_weights_step=LR * np.outer(output_grad_err, hidden_outputs),
        i2h_weights_step=LR * np.outer(hidden_grad_err, x),
    )


@pytest.fixture
def network(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """3 inputs, 4 hidden units, 2 outputs, one sample."""
    return {
        "x": rng.uniform(-1, 1, 3),
        "y": np.array([0.2, 0.9]),
        "i2h": rng.normal(0, 0.8, (4, 3)),
        "h2o": rng.normal(0, 0.8, (2, 4)),
    }


def test_seed000_weight_steps_equal_minus_lr_times_engine_gradients(network: dict) -> None:
    hand = seed000_by_hand(**network)
    i2h = ag.tensor(network["i2h"], requires_grad=True)
    h2o = ag.tensor(network["h2o"], requires_grad=True)
    final_outputs = (h2o @ (i2h @ network["x"]).sigmoid()).sigmoid()
    loss = 0.5 * ((network["y"] - final_outputs) ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(final_outputs.data, hand.final_outputs, rtol=0, atol=ATOL)
    np.testing.assert_allclose(-LR * h2o.grad.data, hand.h2o_weights_step, rtol=0, atol=ATOL)
    np.testing.assert_allclose(-LR * i2h.grad.data, hand.i2h_weights_step, rtol=0, atol=ATOL)


def test_seed000_errors_and_deltas_are_the_engine_intermediate_gradients(
        network: dict) -> None:
    """output_err = -dL/dyhat, delta^o = -dL/dfinal_inputs, delta^h = -dL/dhidden_inputs."""
    hand = seed000_by_hand(**network)
    i2h = ag.tensor(network["i2h"], requires_grad=True)
    h2o = ag.tensor(network["h2o"], requires_grad=True)
    final_outputs = (h2o @ (i2h @ network["x"]).sigmoid()).sigmoid()
    loss = 0.5 * ((network["y"] - final_outputs) ** 2).sum()
    # Stepping through backward exposes the gradient reaching every recorded op.
    sigmoid_steps = [s for s in loss.backward_steps() if s.op == "sigmoid"]
    output_step, hidden_step = sigmoid_steps  # reverse order: output layer first
    np.testing.assert_allclose(-np.asarray(output_step.grad_output), hand.output_err,
                               rtol=0, atol=ATOL)
    np.testing.assert_allclose(-np.asarray(output_step.grad_inputs[0]), hand.output_grad_err,
                               rtol=0, atol=ATOL)
    np.testing.assert_allclose(-np.asarray(hidden_step.grad_inputs[0]), hand.hidden_grad_err,
                               rtol=0, atol=ATOL)


def test_seed000_one_gradient_descent_step_matches_the_hand_update(network: dict) -> None:
    hand = seed000_by_hand(**network)
    i2h = ag.tensor(network["i2h"], requires_grad=True)
    h2o = ag.tensor(network["h2o"], requires_grad=True)
    loss = 0.5 * ((network["y"] - (h2o @ (i2h @ network["x"]).sigmoid()).sigmoid()) ** 2).sum()
    loss.backward()
    with ag.no_grad():
        i2h -= LR * i2h.grad
        h2o -= LR * h2o.grad
    np.testing.assert_allclose(h2o.data, network["h2o"] + hand.h2o_weights_step, rtol=0,
                               atol=ATOL)
    np.testing.assert_allclose(i2h.data, network["i2h"] + hand.i2h_weights_step, rtol=0,
                               atol=ATOL)


def test_seed001_vectorised_batch_with_thresholds(rng: np.random.Generator) -> None:
    batch, d, q, n_out = 5, 3, 4, 2
    x = rng.uniform(-1, 1, (batch, d))
    y = rng.uniform(0, 1, (batch, n_out))
    v, gamma = rng.normal(0, 0.8, (d, q)), rng.normal(0, 0.5, q)  # input-hidden
    w, theta = rng.normal(0, 0.8, (q, n_out)), rng.normal(0, 0.5, n_out)  # hidden-output

    # By hand, seed 001's vectorised formulas.
    b = _sigmoid(x @ v - gamma)
    yhat = _sigmoid(b @ w - theta)
    g = yhat * (1 - yhat) * (y - yhat)
    e = b * (1 - b) * (g @ w.T)
    steps = {"w": LR * b.T @ g, "theta": -LR * g.sum(axis=0),
             "v": LR * x.T @ e, "gamma": -LR * e.sum(axis=0)}

    # By the engine.
    params = {name: ag.tensor(value, requires_grad=True)
              for name, value in (("v", v), ("gamma", gamma), ("w", w), ("theta", theta))}
    hidden = (x @ params["v"] - params["gamma"]).sigmoid()
    out = (hidden @ params["w"] - params["theta"]).sigmoid()
    loss = 0.5 * ((y - out) ** 2).sum()
    loss.backward()
    for name, step in steps.items():
        assert params[name].grad.shape == step.shape, name
        np.testing.assert_allclose(-LR * params[name].grad.data, step, rtol=0, atol=ATOL,
                                   err_msg=name)


def test_seed001_batch_gradient_is_the_sum_of_per_sample_seed000_steps(
        rng: np.random.Generator) -> None:
    xs = rng.uniform(-1, 1, (4, 3))
    ys = rng.uniform(0, 1, (4, 2))
    i2h_values, h2o_values = rng.normal(0, 0.8, (4, 3)), rng.normal(0, 0.8, (2, 4))
    per_sample = [seed000_by_hand(x, y, i2h_values, h2o_values) for x, y in zip(xs, ys)]
    i2h = ag.tensor(i2h_values, requires_grad=True)
    h2o = ag.tensor(h2o_values, requires_grad=True)
    out = ((xs @ i2h.T).sigmoid() @ h2o.T).sigmoid()  # rows are samples
    (0.5 * ((ys - out) ** 2).sum()).backward()
    np.testing.assert_allclose(-LR * h2o.grad.data, sum(h.h2o_weights_step for h in per_sample),
                               rtol=0, atol=ATOL)
    np.testing.assert_allclose(-LR * i2h.grad.data, sum(h.i2h_weights_step for h in per_sample),
                               rtol=0, atol=ATOL)
