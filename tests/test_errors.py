"""Errors a user can act on: the right type, the op's name and every shape involved."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.ops import elementwise


def assert_mentions(exc: pytest.ExceptionInfo, *words: str) -> None:
    """Each of ``words`` appears in the exception message, verbatim."""
    message = str(exc.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def _t(*shape: int) -> ag.Tensor:
    return ag.tensor(np.ones(shape), requires_grad=True)


# ---- shape mismatches ---------------------------------------------------------------------

MATMUL_MISMATCHES = [
    ((2, 3), (4, 5)),
    ((2, 3), (4,)),
    ((4,), (2, 3)),
    ((2, 3, 4), (3, 4, 5)),  # batch axes 2 and 3 do not broadcast
    ((5, 2, 3), (5, 4, 2)),
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_MISMATCHES)
@pytest.mark.parametrize("right", ["tensor", "ndarray"])
def test_matmul_mismatch_names_matmul_and_both_shapes(sa: tuple, sb: tuple, right: str) -> None:
    b = _t(*sb) if right == "tensor" else np.ones(sb)
    with pytest.raises(ValueError) as exc:
        _t(*sa) @ b
    assert_mentions(exc, "matmul", str(sa), str(sb))


def test_matmul_mismatch_with_ndarray_on_the_left() -> None:
    with pytest.raises(ValueError) as exc:
        np.ones((2, 3)) @ _t(4, 5)
    assert_mentions(exc, "matmul", "(2, 3)", "(4, 5)")


BROADCASTING = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": ag.maximum,
    "minimum": ag.minimum,
}


@pytest.mark.parametrize("name", BROADCASTING)
@pytest.mark.parametrize("other", ["tensor", "ndarray-right", "ndarray-left"])
def test_broadcast_mismatch_names_the_op_and_both_shapes(name: str, other: str) -> None:
    fn = BROADCASTING[name]
    with pytest.raises(ValueError) as exc:
        if other == "tensor":
            fn(_t(3, 4), _t(5,))
        elif other == "ndarray-right":
            fn(_t(3, 4), np.ones(5))
        else:
            fn(np.ones(5), _t(3, 4))
    assert_mentions(exc, name, "(3, 4)", "(5,)")


def test_where_mismatch_names_where_and_the_shapes() -> None:
    with pytest.raises(ValueError) as exc:
        ag.where(np.ones((3, 4), dtype=bool), _t(3, 4), _t(5,))
    assert_mentions(exc, "where", "(3, 4)", "(5,)")


@pytest.mark.parametrize("new_shape", [(4, 2), (7,), (4, -1)])
def test_reshape_mismatch_names_both_shapes(new_shape: tuple) -> None:
    with pytest.raises(ValueError) as exc:
        _t(2, 3).reshape(*new_shape)
    assert_mentions(exc, "reshape", "(2, 3)", str(new_shape))


def test_concatenate_mismatch_names_the_shapes() -> None:
    with pytest.raises(ValueError) as exc:
        ag.concatenate([_t(2, 3), _t(2, 4)])
    assert_mentions(exc, "concatenate", "(2, 3)", "(2, 4)")


def test_stack_of_unequal_shapes_names_them() -> None:
    with pytest.raises(ValueError) as exc:
        ag.stack([_t(2, 3), _t(3, 2)])
    assert_mentions(exc, "stack", "(2, 3)", "(3, 2)")


# ---- backward misuse -------------------------------------------------------------------------


def test_backward_of_non_scalar_without_grad_raises() -> None:
    y = _t(2, 3) * 2.0
    with pytest.raises(RuntimeError) as exc:
        y.backward()
    assert_mentions(exc, "(2, 3)")


@pytest.mark.parametrize("grad_shape", [(3, 2), (6,), (2, 3, 1)])
def test_backward_with_grad_of_the_wrong_shape_raises(grad_shape: tuple) -> None:
    y = _t(2, 3) * 2.0
    with pytest.raises(RuntimeError) as exc:
        y.backward(np.ones(grad_shape))
    assert_mentions(exc, str(grad_shape), "(2, 3)")


def test_backward_of_a_tensor_without_graph_raises() -> None:
    with pytest.raises(RuntimeError):
        (ag.tensor([1.0, 2.0]) * 2.0).sum().backward()


# ---- construction and dtypes ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_requires_grad_on_a_non_float_dtype_is_a_type_error(dtype: Any) -> None:
    with pytest.raises(TypeError) as exc:
        ag.tensor([1, 0], dtype=dtype, requires_grad=True)
    assert_mentions(exc, str(np.dtype(dtype)))


def test_requires_grad_in_place_on_an_integer_tensor_is_a_type_error() -> None:
    t = ag.tensor([1, 2], dtype=np.int64)
    with pytest.raises(TypeError):
        t.requires_grad_()
    assert not t.requires_grad


# ---- axes and indices ------------------------------------------------------------------------

BAD_AXIS: dict[str, Callable[[ag.Tensor, Any], Any]] = {
    "sum": lambda t, ax: t.sum(axis=ax),
    "mean": lambda t, ax: t.mean(axis=ax),
    "max": lambda t, ax: t.max(axis=ax),
    "min": lambda t, ax: t.min(axis=ax),
    "var": lambda t, ax: t.var(axis=ax),
    "softmax": lambda t, ax: t.softmax(axis=ax),
    "log_softmax": lambda t, ax: t.log_softmax(axis=ax),
    "concatenate": lambda t, ax: ag.concatenate([t, t], axis=ax),
    "stack": lambda t, ax: ag.stack([t, t], axis=ax + 1 if ax >= 0 else ax - 1),
}


@pytest.mark.parametrize("name", BAD_AXIS)
@pytest.mark.parametrize("axis", [2, -3, 7])
def test_bad_axis_names_the_op_and_the_shape(name: str, axis: int) -> None:
    with pytest.raises(ValueError) as exc:
        BAD_AXIS[name](_t(2, 3), axis)
    assert_mentions(exc, name, "(2, 3)")


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
def test_bad_axis_inside_a_tuple_names_the_op_and_the_shape(name: str) -> None:
    with pytest.raises(ValueError) as exc:
        BAD_AXIS[name](_t(2, 3), (0, 5))
    assert_mentions(exc, name, "(2, 3)")


def test_repeated_axis_is_rejected() -> None:
    with pytest.raises(ValueError) as exc:
        _t(2, 3).sum(axis=(1, -1))
    assert_mentions(exc, "sum")


def test_transpose_with_a_bad_permutation_names_transpose() -> None:
    with pytest.raises(ValueError) as exc:
        _t(2, 3, 4).transpose(0, 0, 1)
    assert_mentions(exc, "transpose")


@pytest.mark.parametrize("index", [np.array([0.0, 1.0]), ag.tensor([0.0, 1.0]), [0.5, 1.0]],
                         ids=["ndarray", "tensor", "list"])
def test_float_index_is_a_clear_index_error(index: Any) -> None:
    with pytest.raises(IndexError) as exc:
        _t(2, 3)[index]
    assert_mentions(exc, "integer")


def test_out_of_range_index_names_the_shape() -> None:
    with pytest.raises(IndexError) as exc:
        _t(2, 3)[5]
    assert_mentions(exc, "(2, 3)")


# ---- gradcheck must catch a wrong VJP, and say where ------------------------------------------


class BadCube(ag.Function):
    """x**3 whose backward is off by a factor 2/3 (it returns 2x^2 instead of 3x^2)."""

    @staticmethod
    def forward(ctx: ag.Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: ag.Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return 2 * x**2 * grad


def _reported(message: str, field: str) -> float:
    match = re.search(rf"{field}\s+(-?[0-9.eE+-]+)", message)
    assert match, f"no {field} value in: {message}"
    return float(match.group(1))


def test_gradcheck_catches_a_wrong_function_backward_and_names_the_worst_element() -> None:
    x = ag.tensor([0.5, -2.0, 1.0], name="w")
    with pytest.raises(ag.GradcheckError) as exc:
        ag.gradcheck(lambda t: BadCube.apply(t).sum(), [x])
    message = str(exc.value)
    assert_mentions(exc, "input 0", "'w'", "(1,)")  # |3x^2 - 2x^2| is largest at x = -2
    assert _reported(message, "analytic") == pytest.approx(8.0, rel=1e-9)
    assert _reported(message, "numeric") == pytest.approx(12.0, rel=1e-6)
    assert _reported(message, "difference") == pytest.approx(4.0, rel=1e-6)


def test_gradcheck_names_the_second_input_when_it_is_the_wrong_one() -> None:
    a = ag.tensor([1.0, 2.0])
    b = ag.tensor([[0.5, 1.0], [1.5, -3.0]])
    with pytest.raises(ag.GradcheckError) as exc:
        ag.gradcheck(lambda p, q: (p * BadCube.apply(q)).sum(), [a, b])
    assert_mentions(exc, "input 1", "(1, 1)")


def test_gradcheck_catches_a_monkeypatched_builtin_vjp(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong_tanh_vjp(g: Any, out: Any, a: Any) -> tuple:
        return (g * (1 - out),)  # forgot to square

    monkeypatch.setattr(elementwise.tanh_op, "vjp", wrong_tanh_vjp)
    x = ag.tensor(np.array([[0.3, -1.2], [0.8, 2.0]]))
    with pytest.raises(ag.GradcheckError) as exc:
        ag.gradcheck(lambda t: t.tanh(), [x])
    assert_mentions(exc, "input 0", "analytic", "numeric", "difference")
    # Sanity: the same check passes once the real VJP is back.
    monkeypatch.undo()
    assert ag.gradcheck(lambda t: t.tanh(), [x]) is True


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(ag.GradcheckError, AssertionError)


# ---- lists of Tensors as operands ---------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda a, ts: a * ts,
    lambda a, ts: ts + a,
    lambda a, ts: a @ ts,
    lambda a, ts: ag.maximum(ts, 0.0),
    lambda a, ts: ag.sin(tuple(ts)),
])
def test_list_of_tensors_operand_is_refused_not_detached(build: Callable) -> None:
    # np.asarray([t1, t2]) reads the values: the product had no gradient to t1, t2, and
    # ag.grad(f, argnums=(0, 1)) of a list argument returned zeros for it.
    ts = [ag.tensor(1.0, requires_grad=True), ag.tensor(2.0, requires_grad=True)]
    with pytest.raises(TypeError) as exc:
        build(ag.tensor(np.ones(2), requires_grad=True), ts)
    assert_mentions(exc, "holding Tensors", "ag.stack")
    with pytest.raises(TypeError):
        ag.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(np.ones(2), [1.0, 2.0])
