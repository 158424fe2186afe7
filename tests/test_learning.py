"""End to end: small networks learn XOR and a 3-class spiral; same seed, same result
bit for bit; the mini-batch iterator."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import F, nn, optim

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def train_xor(init="xavier", seed=0, steps=300):
    model = nn.MLP([2, 4, 1], activation="tanh", init=init, rng=np.random.default_rng(seed))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(XOR_X).reshape(-1), XOR_Y)
        loss.backward()
        opt.step()
    return model, loss.item()


def test_tanh_mlp_learns_xor():
    model, loss = train_xor()
    assert F.accuracy(model(XOR_X).reshape(-1), XOR_Y) == 1.0
    assert loss < 0.05


def test_zero_init_keeps_hidden_units_identical():
    # The symmetry problem: identical units get identical gradients and never differ.
    model, _ = train_xor(init="zeros", steps=50)
    first, last = model.layers[0], model.layers[2]
    assert np.all(first.weight.data == first.weight.data[0])
    assert np.all(first.bias.data == first.bias.data[0])
    assert np.all(last.weight.data == last.weight.data[0, 0])
    assert F.accuracy(model(XOR_X).reshape(-1), XOR_Y) < 1.0


def spiral(points_per_class=100, classes=3, seed=0):
    """Interleaved noisy spiral arms in 2-D: X (n, 2), y (n,) class indices."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, points_per_class), classes)
    arm = np.repeat(np.arange(classes), points_per_class)
    angle = 4.0 * (arm + radius) + rng.standard_normal(radius.size) * 0.2
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, arm


def train_spiral(seed=0, epochs=60, batch_size=60):
    X, y = spiral(seed=seed)
    rng = np.random.default_rng(seed)
    model = nn.MLP([2, 64, 64, 3], activation="relu", rng=rng)
    opt = optim.Adam(model.parameters(), lr=0.01)
    params = list(model.parameters())
    for _ in range(epochs):
        for xb, yb in ag.data.batches(X, y, batch_size, rng=rng):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb) + 1e-4 * F.l2_penalty(params)
            loss.backward()
            opt.step()
    return model, X, y, loss.item()


def test_mlp_learns_the_spiral_and_is_deterministic():
    model, X, y, loss = train_spiral()
    assert len(X) >= 300
    assert F.accuracy(model(X), y) >= 0.97
    _, _, _, again = train_spiral()
    assert again == loss  # same seed: the same final loss bit for bit
    _, _, _, other = train_spiral(seed=1)
    assert other != loss


# ---- data.batches ------------------------------------------------------------------------


def test_batches_cover_every_sample_once():
    X = np.arange(10.0).reshape(10, 1)
    y = np.arange(10)
    got = list(ag.data.batches(X, y, 4, rng=np.random.default_rng(0)))
    assert [len(b) for b, _ in got] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for xb, yb in got:
        np.testing.assert_array_equal(xb[:, 0], yb)  # X and y stay paired


def test_batches_in_order_and_repeatable():
    X, y = np.arange(5.0), np.arange(5)
    ordered = [yb.tolist() for _, yb in ag.data.batches(X, y, 2, shuffle=False)]
    assert ordered == [[0, 1], [2, 3], [4]]

    def order(seed):
        return [yb.tolist() for _, yb in ag.data.batches(X, y, 2, rng=np.random.default_rng(seed))]

    assert order(3) == order(3)
    rng = np.random.default_rng(3)
    epochs = [[yb.tolist() for _, yb in ag.data.batches(X, y, 5, rng=rng)] for _ in range(2)]
    assert epochs[0] != epochs[1]  # a shared Generator reshuffles each epoch


def test_batches_accept_tensors_and_check_arguments():
    xb, yb = next(ag.data.batches(ag.tensor(np.ones((3, 2))), ag.tensor([1, 2, 3]), 3,
                                  shuffle=False))
    assert xb.shape == (3, 2) and yb.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"X of shape \(3, 2\) and y of shape \(2,\)"):
        next(ag.data.batches(np.ones((3, 2)), np.ones(2), 2))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        next(ag.data.batches(np.ones(3), np.ones(3), 0))
