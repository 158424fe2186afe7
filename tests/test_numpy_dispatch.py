"""NumPy functions on Tensors: every ``numpy=`` function of the table records like its
ag.* function (Tensors mixed with ndarrays); others are refused; ``out=`` is raw."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from test_op_table import _build, _flat_arrays, _parts, _rebuild

import autograd_lite as ag
from autograd_lite.numpy_dispatch import covered_names
from autograd_lite.ops import TABLE
from autograd_lite.ops.table import Entry, Sample


def _accepts(func: Any, sample: Sample) -> bool:
    """Whether NumPy's own signature takes the sample's keywords (``dim=`` is ours)."""
    if not sample.kwargs:
        return True
    if isinstance(func, np.ufunc):
        return False
    params = inspect.signature(func).parameters
    return all(k in params for k in sample.kwargs)


CASES = [pytest.param(e, f, s, id=f"np.{f.__name__}-{e.name}-{k}")
         for e in TABLE for f in e.numpy for k, s in enumerate(e.samples) if _accepts(f, s)]


def test_every_numpy_function_of_the_table_has_a_case() -> None:
    tested = {id(case.values[1]) for case in CASES}
    assert [f.__name__ for e in TABLE for f in e.numpy if id(f) not in tested] == []


@pytest.mark.parametrize(("entry", "func", "sample"), CASES)
def test_numpy_function_records_like_the_ag_function(entry: Entry, func: Any,
                                                     sample: Sample) -> None:
    args = _build(sample, seed=5)
    arrays = _flat_arrays(args)
    ours = [ag.tensor(a, requires_grad=entry.differentiable) for a in arrays]
    theirs = [ag.tensor(a, requires_grad=entry.differentiable) for a in arrays]
    # Mixed: with several array arguments the first goes to NumPy as a plain ndarray.
    mixed: list[Any] = list(theirs)
    if len(mixed) > 1:
        mixed[0] = arrays[0].copy()
    # A list or tuple result (np.split, np.linalg.slogdet) is checked part by part.
    expected = _parts(entry.function(*_rebuild(args, ours), **sample.kwargs))
    got = _parts(func(*_rebuild(args, mixed), **sample.kwargs))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, ag.Tensor), f"np.{func.__name__} returned {type(g).__name__}"
        np.testing.assert_array_equal(g.data, e.data)
    if not entry.differentiable:
        return
    # Parts the ag function returns unrecorded (atleast_1d of a 1-d tensor is the tensor
    # itself) have nothing to compare but their values.
    pairs = list(zip(got, expected))
    if len(pairs) > 1 and len(mixed) > 1:
        pairs = pairs[1:]  # one part per argument (atleast_3d): the first came from an ndarray
    recorded = [(g, e) for g, e in pairs if e.node is not None]
    assert all(g.node is not None and g.node.op is e.node.op for g, e in recorded)
    if not recorded:
        return
    rng = np.random.default_rng(6)
    us = [rng.standard_normal(g.shape) for g, _ in recorded]
    sum((g * u).sum() for (g, _), u in zip(recorded, us)).backward()
    sum((e * u).sum() for (_, e), u in zip(recorded, us)).backward()
    for k, (t_ours, t_theirs) in enumerate(zip(ours, theirs)):
        if len(mixed) > 1 and k == 0:
            assert t_theirs.grad is None  # it went in as an ndarray: a constant
            continue
        # None on both sides only for an input returned as it is (atleast_2d of a matrix)
        assert (t_ours.grad is None) == (t_theirs.grad is None)
        if t_ours.grad is not None:
            np.testing.assert_allclose(t_theirs.grad.data, t_ours.grad.data, rtol=1e-12)


def test_ndarray_on_the_left_of_an_operator_gives_a_recorded_tensor() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = ag.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
    for out in (a * t, a + t, a - t, a / t, a @ t, a**t):
        assert isinstance(out, ag.Tensor) and out.requires_grad
    (a * t + a @ t).sum().backward()
    assert t.grad is not None
    np.testing.assert_allclose(t.grad.data, a + a.sum(axis=0)[:, None])
    less = a < t
    assert isinstance(less, ag.Tensor) and less.dtype == bool and not less.requires_grad


def test_ufunc_with_an_ndarray_out_computes_raw_values_without_recording() -> None:
    a = np.zeros(2)
    t = ag.tensor([1.0, 2.0], requires_grad=True)
    result = np.add(a, t, out=a)
    assert result is a and a.tolist() == [1.0, 2.0]
    w = ag.tensor([1.0, 1.0], requires_grad=True)
    w.grad = ag.tensor([1.0, 2.0])
    w.data -= 0.5 * w.grad  # the PyTorch idiom p.data -= lr * p.grad
    assert w.data.tolist() == [0.5, 0.0] and w.node is None
    with pytest.raises(TypeError, match="np.add: out= cannot be a Tensor"):
        np.add(t, 1.0, out=(t,))


@pytest.mark.parametrize(("call", "name"), [
    (lambda t: np.i0(t), "np.i0"),
    (lambda t: np.add.reduce(t), "np.add.reduce"),
    (lambda t: np.cumprod(t), "np.cumprod"),
    (lambda t: np.fft.fft(t), "np.fft.fft"),
    (lambda t: np.exp(t, dtype=np.float32), "np.exp: keyword dtype="),
])
def test_a_numpy_function_without_a_rule_is_refused_by_name(call: Any, name: str) -> None:
    t = ag.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=name.replace(".", r"\.")) as info:
        call(t)
    if ":" not in name:
        assert "t.data" in str(info.value)


def test_queries_read_the_arrays() -> None:
    t = ag.tensor(np.zeros((2, 3)), requires_grad=True)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
    assert np.result_type(t, 1.0) == np.float64
    assert np.allclose(t, 0.0)
    assert np.asarray(t) is t.data


def test_covered_names_include_the_common_functions() -> None:
    names = set(covered_names())
    assert {"np.exp", "np.sum", "np.matmul", "np.concatenate", "np.where", "np.tanh",
            "np.multiply", "np.transpose"} <= names


def test_out_into_data_a_live_graph_saved_names_the_graph_not_a_bare_numpy_error() -> None:
    # `W.data += -lr * W.grad` while a validation loss built in grad mode is still alive
    # said only NumPy's "output array is read-only".
    w = ag.tensor(np.ones((2, 2)), requires_grad=True)
    (w * w).sum().backward()
    alive = (np.ones((1, 2)) @ w).sum()
    with pytest.raises(ValueError, match=r"np.add: the out= array is read-only.*live graph"):
        w.data += -0.1 * w.grad
    del alive
    w.data += -0.1 * w.grad
    np.testing.assert_allclose(w.data, np.full((2, 2), 0.8))
