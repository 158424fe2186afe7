"""nn.functional: activations, losses, penalties and accuracy.

Every function is gradchecked in float64 and its values compared with examples
computed by hand; large-magnitude inputs must give finite values and gradients.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import F, engine

RNG = np.random.default_rng(1234)
X = RNG.standard_normal((4, 3))
PROBS = RNG.uniform(0.05, 0.95, (4, 3))
TARGET01 = RNG.uniform(0.0, 1.0, (4, 3))


def grad_of(fn, x):
    """The gradient of scalar fn(t) at x, as an array."""
    t = ag.tensor(x, requires_grad=True)
    fn(t).backward()
    return t.grad.data


@pytest.fixture
def strict_numpy():
    """Turn NumPy overflow, divide-by-zero and invalid-value warnings into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


# ---- activations -----------------------------------------------------------------------

ACTIVATIONS = {
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "softmax": lambda x: F.softmax(x, axis=-1),
    "softmax_axis0": lambda x: F.softmax(x, axis=0),
    "log_softmax": lambda x: F.log_softmax(x),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name):
    assert ag.gradcheck(ACTIVATIONS[name], [X])


def test_activation_values_by_hand():
    x = ag.tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(F.sigmoid(x).data, [1 / (1 + math.e**2), 0.5, 1 / (1 + math.e**-3)])
    np.testing.assert_allclose(F.tanh(x).data, [math.tanh(-2), 0.0, math.tanh(3)])
    np.testing.assert_array_equal(F.relu(x).data, [0.0, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x).data, [-0.02, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x, negative_slope=0.5).data, [-1.0, 0.0, 3.0])
    total = 1 + math.e + math.e**2
    np.testing.assert_allclose(F.softmax([0.0, 1.0, 2.0]).data,
                               [1 / total, math.e / total, math.e**2 / total])
    np.testing.assert_allclose(F.log_softmax([0.0, 1.0, 2.0]).data,
                               [-math.log(total), 1 - math.log(total), 2 - math.log(total)])


def test_kink_gradients_follow_pytorch():
    x = [-1.0, 0.0, 2.0]
    np.testing.assert_array_equal(grad_of(lambda t: F.relu(t).sum(), x), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(grad_of(lambda t: F.leaky_relu(t, 0.1).sum(), x), [0.1, 0.1, 1.0])


def test_activations_of_large_inputs_are_finite(strict_numpy):
    x = [-1000.0, 1000.0]
    np.testing.assert_array_equal(F.sigmoid(x).data, [0.0, 1.0])
    np.testing.assert_array_equal(F.tanh(x).data, [-1.0, 1.0])
    for fn in (F.sigmoid, F.tanh, F.softmax, F.log_softmax):
        g = grad_of(lambda t, fn=fn: (fn(t) * ag.tensor([1.0, 2.0])).sum(), x)
        assert np.isfinite(g).all(), fn
    np.testing.assert_allclose(F.log_softmax(x).data, [-2000.0, 0.0])


def test_activations_keep_float32():
    x = ag.tensor(np.ones(3, dtype=np.float32))
    for fn in (F.sigmoid, F.tanh, F.relu, F.leaky_relu, F.softmax, F.log_softmax):
        assert fn(x).dtype == np.float32


# ---- mse ---------------------------------------------------------------------------------


def test_mse_values_and_reductions():
    pred, target = ag.tensor([1.0, 2.0, 3.0]), [1.0, 1.0, 1.0]
    assert F.mse_loss(pred, target).item() == pytest.approx(5 / 3)
    assert F.mse_loss(pred, target, reduction="sum").item() == pytest.approx(5.0)
    np.testing.assert_array_equal(F.mse_loss(pred, target, reduction="none").data, [0, 1, 4])
    np.testing.assert_allclose(grad_of(lambda t: F.mse_loss(t, target), [1.0, 2.0, 3.0]),
                               [0.0, 2 / 3, 4 / 3])


def test_mse_gradcheck_both_inputs():
    assert ag.gradcheck(lambda a, b: F.mse_loss(a, b), [X, TARGET01])
    assert ag.gradcheck(lambda a, b: F.mse_loss(a, b, reduction="none"), [X, TARGET01])


def test_mse_refuses_silent_broadcasting():
    with pytest.raises(ValueError, match=r"mse_loss: pred has shape \(4, 1\).*\(4,\)"):
        F.mse_loss(ag.tensor(np.zeros((4, 1))), np.zeros(4))


@pytest.mark.parametrize("loss", [
    lambda r: F.mse_loss(ag.tensor([1.0]), [1.0], reduction=r),
    lambda r: F.cross_entropy(np.zeros((1, 2)), [0], reduction=r),
    lambda r: F.binary_cross_entropy([0.5], [1.0], reduction=r),
])
def test_unknown_reduction_names_the_choices(loss):
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\)"):
        loss("avg")


# ---- cross-entropy -----------------------------------------------------------------------

SEED_PROBS = np.array([0.6, 0.2, 0.1, 0.1])


@pytest.mark.parametrize("batched", [False, True])
def test_cross_entropy_seed_example(batched):
    # Network output (0.6, 0.2, 0.1, 0.1) with true class 1 costs -log 0.2. Passing
    # log-probabilities as logits reproduces those probabilities after the softmax.
    logits = np.log(SEED_PROBS)
    target = np.array(1)
    if batched:
        logits, target = logits[None, :], target[None]
    assert F.cross_entropy(logits, target).item() == pytest.approx(-math.log(0.2))


def test_cross_entropy_with_probability_targets():
    logits = np.log(SEED_PROBS)[None, :]
    onehot = np.array([[0.0, 1.0, 0.0, 0.0]])
    assert F.cross_entropy(logits, onehot).item() == pytest.approx(-math.log(0.2))
    soft = np.array([[0.5, 0.5, 0.0, 0.0]])
    expected = -(0.5 * math.log(0.6) + 0.5 * math.log(0.2))
    assert F.cross_entropy(logits, soft).item() == pytest.approx(expected)


def test_cross_entropy_from_raw_logits_and_reductions():
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    per_sample = [math.log(math.e + math.e**2 + math.e**3) - 3, math.log(3)]
    labels = np.array([2, 0])
    np.testing.assert_allclose(F.cross_entropy(logits, labels, reduction="none").data, per_sample)
    assert F.cross_entropy(logits, labels, reduction="sum").item() == pytest.approx(sum(per_sample))
    assert F.cross_entropy(logits, labels).item() == pytest.approx(sum(per_sample) / 2)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    logits = X
    labels = np.array([0, 2, 1, 1])
    g = grad_of(lambda t: F.cross_entropy(t, labels), logits)
    e = np.exp(logits - logits.max(1, keepdims=True))
    expected = e / e.sum(1, keepdims=True)
    expected[np.arange(4), labels] -= 1
    np.testing.assert_allclose(g, expected / 4)


def test_cross_entropy_gradcheck_all_target_kinds():
    labels = np.array([0, 2, 1, 1])
    soft = TARGET01 / TARGET01.sum(axis=1, keepdims=True)
    assert ag.gradcheck(lambda a: F.cross_entropy(a, labels), [X])
    assert ag.gradcheck(lambda a: F.cross_entropy(a, labels, reduction="none"), [X])
    assert ag.gradcheck(lambda a, b: F.cross_entropy(a, b), [X, soft])
    images = RNG.standard_normal((2, 3, 5))  # (N, C, d1): the class axis is axis 1
    pixels = RNG.integers(0, 3, size=(2, 5))
    assert ag.gradcheck(lambda a: F.cross_entropy(a, pixels), [images])


def test_cross_entropy_of_an_empty_batch():
    logits = np.zeros((0, 3))
    assert F.cross_entropy(logits, np.zeros(0, dtype=int), reduction="sum").item() == 0.0
    with pytest.raises(ValueError, match="empty batch"):
        F.cross_entropy(logits, np.zeros(0, dtype=int))


def test_cross_entropy_accepts_whole_valued_float_labels():
    # ag.tensor([...ints...]) holds float64; whole numbers still work as class indices.
    logits = np.log(SEED_PROBS)[None, :]
    assert F.cross_entropy(logits, ag.tensor([1])).item() == pytest.approx(-math.log(0.2))


def test_cross_entropy_large_logits_finite(strict_numpy):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    labels = np.array([1, 2])
    loss = F.cross_entropy(logits, labels, reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 0.0])
    g = grad_of(lambda t: F.cross_entropy(t, labels), logits)
    np.testing.assert_allclose(g, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_cross_entropy_keeps_float32():
    logits = ag.tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, [0, 1])
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


@pytest.mark.parametrize("target, error, pattern", [
    (np.array([0, 3]), ValueError, r"class index 3 at position \(1,\) is out of range for 3"),
    (np.array([0, -1]), ValueError, "class index -1"),
    (np.array([0.0, 1.5]), ValueError, "whole numbers"),
    (np.array([0, 1, 2]), ValueError, r"class indices of shape \(2,\)"),
    (np.array(["a", "b"]), TypeError, "must be integers"),
])
def test_cross_entropy_bad_targets(target, error, pattern):
    with pytest.raises(error, match=pattern):
        F.cross_entropy(np.zeros((2, 3)), target)


# ---- binary cross-entropy ----------------------------------------------------------------


def test_bce_values_by_hand():
    p = ag.tensor([0.8, 0.8, 0.5])
    t = [1.0, 0.0, 1.0]
    expected = [-math.log(0.8), -math.log(0.2), math.log(2)]
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, reduction="none").data, expected)
    assert F.binary_cross_entropy(p, t).item() == pytest.approx(sum(expected) / 3)
    assert F.binary_cross_entropy(p, t, reduction="sum").item() == pytest.approx(sum(expected))


def test_bce_log_is_clamped_at_minus_100(strict_numpy):
    # PyTorch clamps each log at -100: exact 0/1 probabilities give finite losses.
    p = [0.0, 1.0, 0.0, 1.0]
    t = [1.0, 0.0, 0.0, 1.0]
    np.testing.assert_array_equal(F.binary_cross_entropy(p, t, reduction="none").data,
                                  [100.0, 100.0, 0.0, 0.0])
    g = grad_of(lambda x: F.binary_cross_entropy(x, t, reduction="sum"), p)
    # PyTorch's gradient (p - t) / max(p (1 - p), 1e-12), finite at the ends.
    np.testing.assert_allclose(g, [-1e12, 1e12, 0.0, 0.0])


def test_bce_gradient_matches_formula_and_gradchecks():
    g = grad_of(lambda x: F.binary_cross_entropy(x, TARGET01, reduction="sum"), PROBS)
    np.testing.assert_allclose(g, (PROBS - TARGET01) / (PROBS * (1 - PROBS)))
    assert ag.gradcheck(lambda a, b: F.binary_cross_entropy(a, b), [PROBS, TARGET01])


def test_bce_second_derivative():
    # d2/dp2 of -(t log p + (1 - t) log(1 - p)) = t / p**2 + (1 - t) / (1 - p)**2
    f = ag.grad(lambda p: F.binary_cross_entropy(p, ag.tensor([0.3]), reduction="sum"))
    second = ag.grad(lambda p: f(p).sum())(ag.tensor([0.4]))
    np.testing.assert_allclose(np.asarray(second), [0.3 / 0.16 + 0.7 / 0.36])


def test_bce_rejects_values_outside_unit_interval_and_shape_mismatch():
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\].*with_logits"):
        F.binary_cross_entropy([0.5, 1.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="binary_cross_entropy: probs has shape"):
        F.binary_cross_entropy(np.full((2, 1), 0.5), [1.0, 0.0])


def test_bce_with_logits_equals_bce_of_sigmoid():
    expected = F.binary_cross_entropy(F.sigmoid(X), TARGET01, reduction="none").data
    got = F.binary_cross_entropy_with_logits(X, TARGET01, reduction="none").data
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    g = grad_of(lambda t: F.binary_cross_entropy_with_logits(t, TARGET01, reduction="sum"), X)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-X)) - TARGET01)


def test_bce_with_logits_gradcheck_both_inputs():
    assert ag.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b), [X, TARGET01])


def test_bce_with_logits_stable_at_1000(strict_numpy):
    x = [1000.0, -1000.0, 1000.0, -1000.0, 0.0]
    t = [0.0, 1.0, 1.0, 0.0, 1.0]
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.data, [1000.0, 1000.0, 0.0, 0.0, math.log(2)])
    g = grad_of(lambda z: F.binary_cross_entropy_with_logits(z, t, reduction="sum"), x)
    np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 0.0, -0.5])  # sigmoid(x) - t


# ---- penalties ---------------------------------------------------------------------------


def test_l2_penalty_value_and_gradient():
    a = ag.tensor([1.0, -2.0], requires_grad=True)
    b = ag.tensor([[3.0]], requires_grad=True)
    penalty = F.l2_penalty([a, b])
    assert penalty.item() == pytest.approx((1 + 4 + 9) / 2)
    penalty.backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, -2.0])
    np.testing.assert_array_equal(b.grad.data, [[3.0]])


def test_l1_penalty_value_and_gradient():
    a = ag.tensor([1.5, -2.0, 0.0], requires_grad=True)
    penalty = F.l1_penalty(iter([a]))
    assert penalty.item() == pytest.approx(3.5)
    penalty.backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, -1.0, 0.0])


def test_penalties_gradcheck():
    assert ag.gradcheck(lambda a, b: F.l2_penalty([a, b]), [X, PROBS])
    assert ag.gradcheck(lambda a: F.l1_penalty([a]), [X])


def test_penalty_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="exhausted generator"):
        F.l2_penalty(iter([]))


def test_a_single_tensor_is_one_parameter_not_a_list_of_elements():
    x = ag.tensor(np.arange(100_000.0), requires_grad=True)
    for penalty in (F.l2_penalty(x), F.l1_penalty(x)):
        assert len(engine.graph_nodes([penalty])) <= 4  # not one op per element
    assert F.l2_penalty(x).item() == pytest.approx((x.data ** 2).sum() / 2)
    assert F.l1_penalty(x).item() == pytest.approx(x.data.sum())


# ---- accuracy ----------------------------------------------------------------------------


def test_accuracy_multiclass_and_binary():
    logits = ag.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 0.0, 3.0]])
    assert F.accuracy(logits, [1, 0, 2, 0]) == 0.75
    assert F.accuracy(np.array([-1.0, 2.0, 0.5]), np.array([0, 1, 0])) == pytest.approx(2 / 3)


def test_accuracy_shape_mismatch():
    with pytest.raises(ValueError, match=r"accuracy: logits of shape \(4, 3\)"):
        F.accuracy(np.zeros((4, 3)), np.zeros(5))


# ---- against PyTorch, when it is installed -----------------------------------------------

EDGE_PROBS = np.array([0.0, 1.0, 1e-14, 0.3, 0.999])
EDGE_TARGETS = np.array([1.0, 0.0, 1.0, 0.2, 0.0])
LOGITS = np.array([[1000.0, -1000.0, 0.0], [0.5, -0.25, 2.0], [0.0, 0.0, 0.0]])


def torch_cases(torch):
    """(name, our function, torch function, inputs) with the same meaning on both sides."""
    tf = torch.nn.functional
    labels = np.array([1, 2, 0])
    soft = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]])
    cases = [
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: tf.leaky_relu(x, 0.1),
         [np.array([-1.0, 0.0, 2.0])]),
        ("sigmoid", F.sigmoid, torch.sigmoid, [np.array([-1000.0, 0.0, 3.0, 1000.0])]),
        ("log_softmax", lambda x: F.log_softmax(x, axis=1), lambda x: tf.log_softmax(x, 1),
         [LOGITS]),
    ]
    for reduction in ("mean", "sum", "none"):
        cases += [
            (f"mse {reduction}", lambda a, b, r=reduction: F.mse_loss(a, b, reduction=r),
             lambda a, b, r=reduction: tf.mse_loss(a, b, reduction=r), [X, TARGET01]),
            (f"ce indices {reduction}",
             lambda a, r=reduction: F.cross_entropy(a, labels, reduction=r),
             lambda a, r=reduction: tf.cross_entropy(a, torch.from_numpy(labels), reduction=r),
             [LOGITS]),
            (f"ce probabilities {reduction}",
             lambda a, b, r=reduction: F.cross_entropy(a, b, reduction=r),
             lambda a, b, r=reduction: tf.cross_entropy(a, b, reduction=r), [LOGITS, soft]),
            (f"bce {reduction}",
             lambda a, b, r=reduction: F.binary_cross_entropy(a, b, reduction=r),
             lambda a, b, r=reduction: tf.binary_cross_entropy(a, b, reduction=r),
             [EDGE_PROBS, EDGE_TARGETS]),
            (f"bce logits {reduction}",
             lambda a, b, r=reduction: F.binary_cross_entropy_with_logits(a, b, reduction=r),
             lambda a, b, r=reduction: tf.binary_cross_entropy_with_logits(a, b, reduction=r),
             [np.array([-1000.0, 0.0, 2.0, 1000.0]), np.array([1.0, 0.3, 0.0, 1.0])]),
        ]
    return cases


def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    for name, ours, theirs, inputs in torch_cases(torch):
        mine = [ag.tensor(x, requires_grad=True) for x in inputs]
        out = ours(*mine)
        upstream = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
        (out * upstream).sum().backward()
        refs = [torch.tensor(x, requires_grad=True) for x in inputs]
        ref = theirs(*refs)
        (ref * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, err_msg=name)
        for i, (a, b) in enumerate(zip(mine, refs)):
            # rtol 1e-8: PyTorch's BCE clamp 1e-12 is a float32 constant (9.99999996e-13).
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-8, atol=1e-12,
                                       err_msg=f"{name}: gradient of input {i}")


def test_softmax_and_log_softmax_take_pytorchs_dim() -> None:
    # F.softmax(x, dim=1) is how every PyTorch tutorial spells it; it was a TypeError.
    x = np.arange(6.0).reshape(2, 3)
    for fn in (F.softmax, F.log_softmax):
        by_dim = fn(ag.tensor(x), dim=0).data
        np.testing.assert_array_equal(by_dim, fn(ag.tensor(x), axis=0).data)
        np.testing.assert_array_equal(fn(ag.tensor(x)).data, fn(ag.tensor(x), dim=-1).data)
        assert not np.allclose(by_dim, fn(ag.tensor(x), dim=1).data)
        with pytest.raises(TypeError, match="both axis= and dim="):
            fn(ag.tensor(x), axis=0, dim=0)
