"""Numbers you can trust: one formatter for graph labels, the step-through and repr."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from test_graph import render

import autograd_lite as ag
from autograd_lite.graph import OpCheck, check_op
from autograd_lite.graph.labels import check_text, tensor_label
from autograd_lite.numbers import format_array, format_number, format_preview

MAGNITUDES = [10.0 ** e for e in range(-12, 13)]
MANTISSAS = [1.0, 1.23456, 9.9996, 5.0005, 3.14159]


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("scale", MAGNITUDES, ids=[f"1e{e}" for e in range(-12, 13)])
def test_four_significant_digits_and_never_zero(sign: float, scale: float) -> None:
    for mantissa in MANTISSAS:
        x = sign * mantissa * scale
        text = format_number(x)
        value = float(text)
        assert value != 0 and np.sign(value) == sign, (x, text)
        assert abs(value - x) <= 5e-4 * abs(x) * (1 + 1e-9), (x, text)
        digits = re.sub(r"e.*|[-.]", "", text).lstrip("0")
        assert len(digits) <= 4, (x, text)


@pytest.mark.parametrize(("x", "text"), [
    (0.0, "0."), (-0.0, "0."), (6.0, "6."), (-2.0, "-2."), (1.5, "1.5"), (1e-05, "1e-05"),
    (-1.8e-05, "-1.8e-05"), (123456.0, "1.235e+05"), (0.0001234, "0.0001234"),
    (5e-324, "4.941e-324"), (float("inf"), "inf"), (float("-inf"), "-inf"),
    (float("nan"), "nan"), (np.float32(0.1), "0.1"), (7, "7"), (np.int64(-3), "-3"),
    (True, "True"),
])
def test_special_values(x: float, text: str) -> None:
    assert format_number(x) == text


def test_arrays_and_previews_use_the_same_numbers() -> None:
    assert format_array(np.array([[1e-5, -0.0], [123456.0, 2.5]])) == \
        "[[1e-05, 0.],\n [1.235e+05, 2.5]]"
    assert format_preview([1.0, 2.0, 3e-7], [4.0, 5.0, 6.0]) == "[1., 2., 3e-07, …, 4., 5., 6.]"


def test_repr_shows_small_values_instead_of_zero() -> None:
    text = repr(ag.tensor([1e-5, 123456.0, 0.0, -2.0]))
    assert text.startswith("tensor([1e-05, 1.235e+05, 0., -2.]")


def test_labels_show_vanishing_gradients_and_tiny_losses() -> None:
    w = ag.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * 1e-5).sum() * 1e-3
    loss.backward(retain_graph=True)
    svg = render(ag.draw_graph(loss))
    (grad_line,) = [line for line in svg.by_first_line("w").lines if line.startswith("grad")]
    assert grad_line == "grad [1e-08, 1e-08]"
    out = svg.kinds("output")[0]
    assert out.lines[-1] == "value 3e-08"


@pytest.mark.parametrize("kept", [
    (np.array([1.0, 2e-9, 3.0]), np.array([7.0, 8.0, -9e9])),  # (first, last)
    np.array([1.0, 2e-9, 3.0, 7.0, 8.0, -9e9]),  # or one array of both
])
def test_a_freed_summary_shows_its_preview_with_show_data(kept: object) -> None:
    freed = SimpleNamespace(shape=(10, 10), dtype=np.dtype("float32"), name=None, data=None,
                            preview=kept, grad=None)
    assert tensor_label(freed, "t3", show_data=True).split("\\n") == [
        "t3", "(10,10) float32", "value [1., 2e-09, 3., …, 7., 8., -9e+09]"]
    assert tensor_label(freed, "t3", show_data=False).split("\\n") == ["t3", "(10,10) float32"]


def test_a_check_reports_a_tiny_relative_error_as_such() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    bad = OpCheck("disagrees", 2.5e-07, 0)
    assert check_text(bad) == "✗ rel err 2.5e-07 (input 0)"
    assert check_text(check_op(x.exp().node)) == "✓"
