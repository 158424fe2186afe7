"""Edge cases found in review: views of saved arrays, caller-owned arrays, shared
gradients, pow at zero, bad data, comparisons with non-numbers, integer casts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import autograd_lite as ag


def test_writing_through_the_base_of_a_saved_view_fails_loudly() -> None:
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = ag.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (x[1:] * w[1:]).sum()  # mul saves a view of x's array
    with pytest.raises(ValueError, match="read-only"):
        x.numpy()[2] = 100.0
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [0.0, 2.0, 3.0])


def test_caller_arrays_used_as_constants_stay_writeable() -> None:
    w = np.ones(3)
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * w).sum().backward()
    w[0] = 2.0  # the graph saved its own copy
    a = np.array([1.0, 2.0])
    ag.grad(lambda t: (t * t).sum())(a)
    a[0] = 5.0
    assert w[0] == 2.0 and a[0] == 5.0


def test_np_array_of_a_tensor_is_a_copy() -> None:
    t = ag.tensor([1.0, 2.0])
    a = np.array(t)
    a[0] = 99.0
    assert t.data[0] == 1.0


def test_two_leaves_never_share_one_gradient_array() -> None:
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(np.ones(2))
    a.grad.data *= 0.5
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])


def test_pow_gradients_at_zero_base_match_pytorch() -> None:
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    base = ag.tensor([0.0, 2.0], requires_grad=True)
    expo = ag.tensor([2.0, 3.0], requires_grad=True)
    (base**expo).sum().backward()
    np.testing.assert_allclose(expo.grad.data, [0.0, 8.0 * np.log(2.0)])


@pytest.mark.parametrize("data", [None, "abc", {"a": 1}])
def test_non_numeric_data_is_a_type_error(data: object) -> None:
    with pytest.raises(TypeError, match="numeric"):
        ag.tensor(data)


def test_ragged_data_names_the_problem() -> None:
    with pytest.raises(ValueError, match="Tensor"):
        ag.tensor([[1.0, 2.0], [3.0]])


def test_comparison_with_a_non_number_is_false_not_an_error() -> None:
    t = ag.tensor([1.0])
    assert (t == None) is False  # noqa: E711  (the point of the test)
    assert t not in [None, "x"]


def test_softmax_rejects_a_tuple_axis_clearly() -> None:
    with pytest.raises(TypeError, match="softmax: axis must be a single int"):
        ag.tensor([[1.0, 2.0]]).softmax(axis=(0, 1))


def test_cast_to_integers_cuts_the_graph() -> None:
    x = ag.tensor([1.5], requires_grad=True)
    y = x.astype(np.int64)
    assert y.dtype == np.int64 and not y.requires_grad and y.grad_fn is None
    z = x.astype(np.float32)
    assert z.requires_grad and z.dtype == np.float32


@pytest.mark.parametrize("call", [
    lambda t: t.prod(dim=0), lambda t: t.logsumexp(dim=0), lambda t: t.std(dim=-1, unbiased=False),
    lambda t: t.flip(0), lambda t: t.squeeze(0), lambda t: t.sum(dim=0), lambda t: t.mean(-1),
])
def test_axis_0_and_minus_1_of_a_0d_tensor_work_as_in_torch(call: Any) -> None:
    # sum(dim=0) on a 0-d tensor was fixed alone; prod/logsumexp/flip raised NumPy's raw
    # AxisError and squeeze(0) an IndexError, where PyTorch returns a 0-d result.
    import torch

    x = ag.tensor(1.5, requires_grad=True)
    xt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    y, yt = call(x), call(xt)
    y.backward()
    yt.backward()
    assert y.shape == () and float(y.data) == yt.item()
    assert float(x.grad.data) == xt.grad.item()


def test_a_one_element_tensor_formats_and_converts_like_torch() -> None:
    # print(f"loss {loss:.4f}") raised "unsupported format string passed to
    # Tensor.__format__", and int(t) a TypeError; PyTorch accepts both.
    loss = (ag.tensor([1.0, 2.0], requires_grad=True) ** 2).mean()
    assert f"{loss:.4f}" == "2.5000" and f"{loss:>6.1f}" == "   2.5"
    assert f"{loss}" == str(loss)
    assert int(loss) == 2 and f"{ag.tensor([3.0]):.0f}" == "3"
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        f"{ag.tensor([1.0, 2.0]):.2f}"  # noqa: B018
