"""detect_anomaly: NaN/inf in a forward or backward step names the op and the user's line."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import autograd_lite as ag


def next_line() -> int:
    """The number of the line after the caller's: where the op under test is created."""
    return inspect.currentframe().f_back.f_lineno + 1


class ZeroOverZero(ag.Function):
    """Identity forward; its backward computes 0/0 where the gradient is 0."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad / grad


def test_a_finite_backward_inside_detect_anomaly_gives_the_usual_gradients() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_log_of_a_negative_value_in_forward_names_log_and_the_line() -> None:
    x = ag.tensor([3.0, 1.0], requires_grad=True)
    shifted = x - 2.0
    with ag.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        line = next_line()
        shifted.log()
    message = str(info.value)
    assert "forward of 'log' produced NaN" in message
    assert "input shapes (2,)" in message
    assert f"{__file__}:{line}" in message


def test_overflow_in_forward_is_reported_as_inf() -> None:
    x = ag.tensor([1000.0], requires_grad=True)
    with ag.detect_anomaly(), pytest.raises(FloatingPointError, match="'exp' produced inf"):
        x.exp()


def test_zero_over_zero_in_backward_names_the_op_and_the_line() -> None:
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        line = next_line()
        root = x.sqrt()
        loss = (root * 0.0).sum()  # sqrt's backward then computes 0 / (2 * sqrt(0))
        with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert "backward of 'sqrt' produced NaN" in message
    assert f"{__file__}:{line}" in message


def test_a_custom_function_is_named_too() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        line = next_line()
        y = ZeroOverZero.apply(x)
        with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError) as info:
            (y * 0.0).sum().backward()
    assert "backward of 'ZeroOverZero' produced NaN" in str(info.value)
    assert f"{__file__}:{line}" in str(info.value)


def test_outside_detect_anomaly_nothing_is_checked_or_remembered() -> None:
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    bad_log = (x - 2.0).log()  # NaN in forward, silently
    assert np.isnan(bad_log.data[0])
    root = x.sqrt()
    assert root.node.trace is None
    with np.errstate(invalid="ignore"):
        (root * 0.0).sum().backward()  # 0/0 in backward, silently
    assert np.isnan(x.grad.data[0])


def test_inside_each_op_remembers_where_it_was_created() -> None:
    x = ag.tensor([1.0], requires_grad=True)
    with ag.detect_anomaly():
        line = next_line()
        y = x.tanh()
    assert y.node.trace == f"{__file__}:{line}"


def test_the_mode_is_restored_on_exit_and_on_error() -> None:
    x = ag.tensor([-1.0], requires_grad=True)
    with pytest.raises(FloatingPointError), ag.detect_anomaly():
        x.log()
    assert not ag.engine.mode.anomaly
    assert x.log().node.trace is None  # no longer checked
