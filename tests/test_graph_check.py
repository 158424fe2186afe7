"""One numeric checker: gradcheck, draw_graph(check=True)'s check_op and train's pre-flight
check all use gradcheck.slopes and judge with gradcheck.compare."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.commands import train
from autograd_lite.gradcheck import check_op, compare, slopes
from autograd_lite.ops import elementwise


def test_the_pass_criterion() -> None:
    slope = np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # last element: a kink
    result = compare(np.array([1.0005, 1.002, 1.0, 0.5]), slope, atol=1e-5, rtol=1e-3)
    assert result.failed.tolist() == [False, True, False, False]
    assert result.rel[1] == pytest.approx(0.002 / 1.002)
    assert result.worst == 1 and not result.ok
    assert compare(np.array([1.5]), np.array([[0.0], [1.0]])).failed.tolist() == [True]


def test_slopes_leave_the_input_alone_whatever_its_memory_order() -> None:
    x = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    before = x.copy()
    found = slopes(lambda a: (a ** 2).sum(), x)
    np.testing.assert_allclose(found.mean(axis=0), 2 * x.reshape(-1), atol=1e-6)
    np.testing.assert_array_equal(x, before)


def _config() -> dict[str, Any]:
    return {"sizes": [2, 5, 2], "activation": "tanh", "dtype": "float32", "seed": 3,
            "loss": "cross_entropy", "l2": 0.01}


def _batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((4, 2)).astype(np.float32), np.array([0, 1, 1, 0])


def test_trains_check_keeps_the_models_parameters_and_passes() -> None:
    model = train.build_model(_config())
    names = [name for name, _ in model.named_parameters()]
    state = {k: v.copy() for k, v in model.state_dict().items()}
    n_params, n_checked, error, passed = train.gradient_check(model, _config(), *_batch(), 2)
    assert passed and error < 1e-3
    assert n_params == n_checked == 2 * 5 + 5 + 5 * 2 + 2
    assert [name for name, _ in model.named_parameters()] == names
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_trains_check_fails_on_a_wrong_vjp(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong_tanh_vjp(g: Any, out: Any, a: Any) -> tuple:
        return (g * (1 - out),)  # forgot to square

    monkeypatch.setattr(elementwise.tanh_op, "vjp", wrong_tanh_vjp)
    model = train.build_model(_config())
    *_, error, passed = train.gradient_check(model, _config(), *_batch(), 2)
    assert not passed and error > 1e-2


def test_all_three_checkers_agree_on_a_wrong_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(elementwise.tanh_op, "vjp", lambda g, out, a: (g * (1 - out),))
    x = ag.tensor([[0.3, -1.2], [0.8, 2.0]], requires_grad=True)
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda t: t.tanh(), [x])
    assert check_op(x.tanh().node).status == "disagrees"
