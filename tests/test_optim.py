"""Optimizers: several steps against the update equations written out here, state_dict
resume, and parameter updates that leave retained graphs intact."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import F, nn, optim

P0 = np.array([0.5, -1.0, 2.0])
# Gradients handed to the optimizer at successive steps: varied signs and sizes, and a
# large one first so that AMSGrad's running maximum matters afterwards.
GRADS = [np.array([4.0, -3.0, 0.5]), np.array([0.1, 0.2, -0.3]), np.array([-0.5, 0.05, 1.0]),
         np.array([0.2, -0.1, 0.0])]


def run(make_opt, grads=GRADS, p0=P0):
    """Apply the optimizer to one parameter with the given gradients; the values after
    each step."""
    p = ag.tensor(p0, requires_grad=True)
    opt = make_opt([p])
    values = []
    for g in grads:
        p.grad = ag.tensor(g)
        opt.step()
        values.append(p.data.copy())
    return values


def assert_trajectory(got, expected):
    assert len(got) == len(expected)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"step {step + 1}")


# ---- SGD ---------------------------------------------------------------------------------


def sgd_reference(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    p, buf, out = P0.copy(), None, []
    for g in GRADS:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


@pytest.mark.parametrize("kwargs", [
    {},
    {"weight_decay": 0.1},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01},
    {"momentum": 0.8, "nesterov": True},
    {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
])
def test_sgd_follows_the_update_equations(kwargs):
    assert_trajectory(run(lambda ps: optim.SGD(ps, lr=0.1, **kwargs)),
                      sgd_reference(0.1, **kwargs))


def test_sgd_first_steps_by_hand():
    # momentum 0.9, lr 0.1: b1 = g1, p1 = p0 - 0.1 g1; b2 = 0.9 g1 + g2, p2 = p1 - 0.1 b2
    values = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), grads=GRADS[:2])
    np.testing.assert_allclose(values[0], [0.1, -0.7, 1.95])
    np.testing.assert_allclose(values[1], [0.1 - 0.1 * 3.7, -0.7 - 0.1 * -2.5, 1.95 - 0.1 * 0.15])


# ---- Adam / AdamW ------------------------------------------------------------------------


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled=False):
    b1, b2 = betas
    p, m, v, v_max, out = P0.copy(), 0.0, 0.0, 0.0, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("kwargs", [
    {},
    {"betas": (0.5, 0.9), "eps": 1e-3},
    {"weight_decay": 0.1},
    {"amsgrad": True, "betas": (0.9, 0.5)},
    {"amsgrad": True, "weight_decay": 0.05},
])
def test_adam_follows_the_update_equations(kwargs):
    assert_trajectory(run(lambda ps: optim.Adam(ps, lr=0.01, **kwargs)),
                      adam_reference(0.01, **kwargs))


def test_amsgrad_changes_the_trajectory():
    # Guards the amsgrad test above: with these gradients the running maximum matters.
    plain = adam_reference(0.01, betas=(0.9, 0.5))
    ams = adam_reference(0.01, betas=(0.9, 0.5), amsgrad=True)
    assert not np.allclose(plain[-1], ams[-1])


@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.3, "amsgrad": True}])
def test_adamw_decoupled_weight_decay(kwargs):
    expected = adam_reference(0.01, decoupled=True, **{"weight_decay": 1e-2, **kwargs})
    assert_trajectory(run(lambda ps: optim.AdamW(ps, lr=0.01, **kwargs)), expected)


def test_adamw_differs_from_adam_with_l2():
    adam = run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5))
    adamw = run(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5))
    assert not np.allclose(adam[-1], adamw[-1])


# ---- shared behaviour --------------------------------------------------------------------


def test_learning_rate_can_change_between_steps():
    p = ag.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ag.tensor([1.0])
    opt.step()
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 - 0.5])


def test_zero_grad_sets_none_and_gradless_parameters_are_skipped():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = ag.tensor([1.0])
    opt.step()
    assert b.data[0] == 2.0 and opt.state[1] == {} and opt.state[0]["step"] == 1
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_updates_keep_dtype():
    p = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for opt in (optim.SGD([p], lr=0.1, momentum=0.9), optim.Adam([p], amsgrad=True)):
        p.grad = ag.tensor(np.ones(3, dtype=np.float32))
        opt.step()
        assert p.dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.1),
])
def test_updates_do_not_corrupt_a_retained_graph(make):
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    x = ag.tensor([3.0, -1.0])
    loss = ((w * x).tanh() * w).sum()
    loss.backward(retain_graph=True)
    first = w.grad.data.copy()
    old = w.data
    opt = make([w])
    opt.step()
    assert w.data is not old and not np.array_equal(w.data, old)
    np.testing.assert_array_equal(old, [1.0, 2.0])  # the saved array was not written
    w.grad = None
    loss.backward()  # the retained graph still sees the forward pass's values
    np.testing.assert_array_equal(w.grad.data, first)


# ---- state dicts and resuming ------------------------------------------------------------


def _problem():
    rng = np.random.default_rng(5)
    return rng.standard_normal((16, 3)), rng.integers(0, 2, size=16)


def _train(model, opt, steps):
    X, y = _problem()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.05),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resume_from_state_dict_gives_identical_trajectory(name, tmp_path):
    make = OPTIMIZERS[name]

    def fresh(seed):
        model = nn.MLP([3, 5, 2], rng=np.random.default_rng(seed))
        return model, make(model.parameters())

    model, opt = fresh(0)
    _train(model, opt, 5)
    ag.save(model.state_dict(), tmp_path / "model.npz")
    ag.save(opt.state_dict(), tmp_path / "opt.npz")
    reference = _train(model, opt, 5)

    resumed_model, resumed_opt = fresh(1)  # different weights until loaded
    resumed_opt.lr = 123.0  # restored from the state dict
    resumed_model.load_state_dict(ag.load(tmp_path / "model.npz"))
    resumed_opt.load_state_dict(ag.load(tmp_path / "opt.npz"))
    assert _train(resumed_model, resumed_opt, 5) == reference  # bit for bit


def test_resume_without_optimizer_state_differs():
    # Guards the resume test: dropping the momentum buffers changes the trajectory.
    model = nn.MLP([3, 5, 2], rng=np.random.default_rng(0))
    opt = OPTIMIZERS["sgd"](model.parameters())
    _train(model, opt, 5)
    weights = model.state_dict()
    reference = _train(model, opt, 5)
    model.load_state_dict(weights)
    assert _train(model, OPTIMIZERS["sgd"](model.parameters()), 5) != reference


def test_state_dict_is_flat_and_copies():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = ag.tensor([1.0, 1.0])
    opt.step()
    state = opt.state_dict()
    assert str(state["optimizer"]) == "SGD" and float(state["hyper.lr"]) == 0.1
    state["state.0.momentum_buffer"][:] = 99
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], [1.0, 1.0])


def test_load_state_dict_errors():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = ag.tensor([1.0, 1.0])
    sgd.step()
    good = sgd.state_dict()
    adam = optim.Adam([p])
    with pytest.raises(ValueError, match="the state dict is for optimizer 'SGD'"):
        adam.load_state_dict(good)
    with pytest.raises(ValueError, match=r"'state.0.momentum_buffer' has shape \(3,\) but "
                                         r"parameter 0"):
        sgd.load_state_dict({**good, "state.0.momentum_buffer": np.zeros(3)})
    with pytest.raises(KeyError, match="'state.4.momentum_buffer' is for parameter 4"):
        sgd.load_state_dict({**good, "state.4.momentum_buffer": np.zeros(2)})
    with pytest.raises(KeyError, match="unexpected key 'state.0.velocity'"):
        sgd.load_state_dict({**good, "state.0.velocity": np.zeros(2)})
    missing = {k: v for k, v in good.items() if k != "hyper.lr"}
    with pytest.raises(KeyError, match="missing key 'hyper.lr'"):
        sgd.load_state_dict(missing)
    np.testing.assert_array_equal(sgd.state[0]["momentum_buffer"], [1.0, 1.0])  # untouched


@pytest.mark.parametrize("make, error, pattern", [
    (lambda ps: optim.SGD(ps, lr=-1.0), ValueError, r"lr must be in \[0.0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in"),
    (lambda ps: optim.SGD([], lr=0.1), ValueError, "got no parameters"),
    (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), TypeError, "parameter 0 must be a leaf"),
])
def test_constructor_errors(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make([ag.tensor([1.0], requires_grad=True)])


# ---- against PyTorch, when it is installed -----------------------------------------------

TORCH_CONFIGS = [
    ("SGD", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", "Adam", {"lr": 0.01, "betas": (0.9, 0.5), "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", "AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
]


@pytest.mark.parametrize("ours, theirs, kwargs", TORCH_CONFIGS)
def test_trajectories_equal_pytorch(ours, theirs, kwargs):
    torch = pytest.importorskip("torch")
    mine = run(lambda ps: getattr(optim, ours)(ps, **kwargs))
    p = torch.tensor(P0, requires_grad=True)
    opt = getattr(torch.optim, theirs)([p], **kwargs)
    for step, g in enumerate(GRADS):
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(mine[step], p.detach().numpy(), rtol=1e-12,
                                   err_msg=f"step {step + 1}")
