"""RMSprop, Adagrad and the learning-rate schedulers against torch.optim: the parameters
and the learning rates of 20 steps, element for element (1e-10)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.optim import lr_scheduler

torch = pytest.importorskip("torch")
START = np.random.default_rng(0).standard_normal((3, 4))


def gradient(step: int, p: np.ndarray) -> np.ndarray:
    """A gradient that changes sign and scale from step to step and depends on p."""
    return np.sin(np.arange(12.0).reshape(3, 4) * (step + 1)) + 0.1 * p ** 2


def run_both(ours_cls, theirs_cls, options: dict, steps: int = 20) -> None:
    p = ag.Tensor(START.copy(), requires_grad=True)
    q = torch.tensor(START.copy(), requires_grad=True)
    ours, theirs = ours_cls([p], **options), theirs_cls([q], **options)
    for step in range(steps):
        ours.zero_grad()
        theirs.zero_grad()
        p.grad = ag.Tensor(gradient(step, p.data))
        q.grad = torch.tensor(gradient(step, q.detach().numpy()))
        ours.step()
        theirs.step()
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-10,
                                   err_msg=f"step {step}")


@pytest.mark.parametrize("options", [
    {}, {"momentum": 0.9}, {"centered": True, "weight_decay": 0.1},
    {"lr": 0.1, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True},
], ids=["defaults", "momentum", "centered decay", "everything"])
def test_rmsprop_matches_torch(options) -> None:
    run_both(ag.optim.RMSprop, torch.optim.RMSprop, options)


@pytest.mark.parametrize("options", [
    {}, {"lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.01, "initial_accumulator_value": 0.3,
         "eps": 1e-6},
], ids=["defaults", "everything"])
def test_adagrad_matches_torch(options) -> None:
    run_both(ag.optim.Adagrad, torch.optim.Adagrad, options)


@pytest.mark.parametrize(("ours", "theirs", "options"), [
    (lr_scheduler.StepLR, torch.optim.lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.5}),
    (lr_scheduler.StepLR, torch.optim.lr_scheduler.StepLR, {"step_size": 1}),
    (lr_scheduler.ExponentialLR, torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.9}),
    (lr_scheduler.CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR,
     {"T_max": 7, "eta_min": 0.01}),
    (lr_scheduler.CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR,
     {"T_max": 20}),
], ids=["step 3", "step 1", "exponential", "cosine past T_max", "cosine"])
def test_schedulers_give_torchs_learning_rates(ours, theirs, options) -> None:
    p = ag.Tensor(START.copy(), requires_grad=True)
    q = torch.tensor(START.copy(), requires_grad=True)
    opt, topt = ag.optim.SGD([p], lr=0.3), torch.optim.SGD([q], lr=0.3)
    sched, tsched = ours(opt, **options), theirs(topt, **options)
    assert sched.get_last_lr() == tsched.get_last_lr() == [0.3]
    rates, expected = [], []
    for step in range(20):
        p.grad, q.grad = ag.Tensor(gradient(step, p.data)), torch.tensor(gradient(step, START))
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        rates.append(sched.get_last_lr())
        expected.append(tsched.get_last_lr())
        assert opt.lr == rates[-1][0]
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)
    assert len(set(np.ravel(rates))) > 1  # the rate did change


def test_zero_grad_set_to_none_false_zeroes() -> None:
    p = ag.Tensor(START.copy(), requires_grad=True)
    opt = ag.optim.RMSprop([p])
    p.grad = ag.Tensor(np.ones_like(START))
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and not p.grad.data.any()
    opt.zero_grad()
    assert p.grad is None


def test_optimizer_options_are_checked() -> None:
    p = ag.Tensor(START.copy(), requires_grad=True)
    with pytest.raises(ValueError, match=r"RMSprop: alpha must be in \[0.0, inf\), got -1"):
        ag.optim.RMSprop([p], alpha=-1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        lr_scheduler.StepLR(ag.optim.SGD([p], lr=0.1), step_size=0)
    with pytest.raises(TypeError, match="expected an optimizer from ag.optim"):
        lr_scheduler.ExponentialLR(object(), gamma=0.5)
