"""The lean eager path (issue 13): the shortcuts give the results of the general path."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import engine


def _chain_with_branches(x: ag.Tensor) -> ag.Tensor:
    """A graph with reuse, a diamond and a broadcast, so the walk order is not trivial."""
    a = (x * 0.5 + 0.1).tanh()
    b = a.exp() * a  # diamond: a reaches b twice
    c = b @ ag.tensor(np.ones((3, 2)), requires_grad=True)
    return (c + ag.tensor([1.0, 2.0])).sum()


def test_backward_frees_nodes_in_the_order_backward_steps_yields_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    freed: list[str] = []
    real_free = engine._free

    def recording_free(node: engine.Node, guarded: Any) -> None:
        freed.append(node.op.name)
        real_free(node, guarded)

    monkeypatch.setattr(engine, "_free", recording_free)
    x = ag.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True)
    _chain_with_branches(x).backward()
    plain_grad = x.grad.data.copy()
    walked = freed[:]
    freed.clear()
    x.grad = None
    steps = [s.op for s in _chain_with_branches(x).backward_steps()]
    assert walked == steps == freed
    assert steps == ["sum", "add", "matmul", "mul", "exp", "tanh", "add", "mul"]
    np.testing.assert_array_equal(x.grad.data, plain_grad)


def test_a_small_freed_summary_reads_shape_and_dtype_from_its_data() -> None:
    x = ag.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = x * 2.0
    y.name = "y"
    z = (y * 3.0).sum()
    z.backward()
    freed = [i for n in engine.graph_nodes([z]) for i in n.inputs
             if isinstance(i, engine.Freed)]
    assert sorted(f.name or "" for f in freed) == ["", "y"]  # y, and y * 3.0 unnamed
    small = next(f for f in freed if f.name == "y")
    assert type(small) is engine.Freed
    assert small.shape == (2, 3) and small.dtype == np.float32
    np.testing.assert_array_equal(small.data, np.full((2, 3), 2.0, dtype=np.float32))
    assert small.preview is None and small.requires_grad and small.grad is None


def test_a_large_freed_summary_previews_the_flat_ends_of_a_transposed_array() -> None:
    x = ag.tensor(np.arange(80.0).reshape(8, 10), requires_grad=True)
    t = x.T * 1.0  # 80 elements: over FREED_KEEPS; the product of a transpose is F-ordered
    t.name = "t"
    z = (t * 2.0).sum()
    z.backward()
    large = [i for n in engine.graph_nodes([z]) for i in n.inputs
             if isinstance(i, engine.Freed) and i.name == "t"]
    assert len(large) == 1 and type(large[0]) is engine.FreedLarge
    summary = large[0]
    assert summary.data is None and summary.shape == (10, 8) and summary.dtype == np.float64
    flat = t.data.ravel()  # C order, as .flat reads it
    np.testing.assert_array_equal(summary.preview[0], flat[:3])
    np.testing.assert_array_equal(summary.preview[1], flat[-3:])
    assert summary.preview[0].base is not t.data and summary.preview[1].base is not t.data


def test_scopes_nest_and_are_restored_after_an_exception() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(KeyError), engine.scope("net"):
        with engine.scope("net.fc1"):
            inner = x * 2.0
        with engine.scope("act"):
            act = inner.tanh()
        raise KeyError("boom")
    assert engine.mode.scope is None
    assert inner.node.scope == "net.fc1" and act.node.scope == "net.act"


def test_mode_switches_are_per_thread_and_readable_through_mode() -> None:
    seen: list[tuple] = []
    with ag.no_grad(), ag.detect_anomaly():
        assert engine.mode.enabled is False and engine.mode.anomaly is True
        thread = threading.Thread(
            target=lambda: seen.append((engine.mode.enabled, engine.mode.anomaly)))
        thread.start()
        thread.join()
    assert seen == [(True, False)]
    assert engine.mode.enabled is True and engine.mode.anomaly is False
    engine.mode.enabled = False  # the property writes this thread's state
    try:
        assert engine.mode.state.enabled is False and not ag.is_grad_enabled()
    finally:
        engine.mode.enabled = True


def test_operators_convert_non_tensor_operands_as_the_functions_do() -> None:
    x = ag.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    ints = np.array([3, 4])
    for got, want in ((x * ints, ag.multiply(x, ints)), (ints - x, ag.subtract(ints, x)),
                      (x / 2, ag.divide(x, 2))):
        assert got.dtype == np.float32 == want.dtype
        np.testing.assert_array_equal(got.data, want.data)
    with pytest.raises(TypeError, match="holding Tensors"):
        _ = x + [x, x]
    (x * ints).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert x.grad.dtype == np.float32
