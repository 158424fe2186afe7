"""The tape and the reverse walk: accumulation, ordering, memory, retain/create_graph,
grad modes, leaves, and in-place mutation of arrays saved for backward."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.engine import Node


@contextmanager
def gc_disabled() -> Iterator[None]:
    """Only reference counting frees objects inside: a reference cycle would leak."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---- accumulation and ordering ----------------------------------------------------------


def test_gradients_accumulate_over_two_backward_calls() -> None:
    x = ag.tensor([1.0, -2.0, 3.5], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad.data.copy()
    np.testing.assert_array_equal(first, [2.0, -4.0, 7.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * first)


def test_accumulation_does_not_alias_the_previous_grad() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    previous = x.grad
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(previous.data, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])


def test_setting_grad_to_none_clears_it() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 5.0).sum().backward()
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_tensor_used_many_times() -> None:
    x = ag.tensor([0.5, -1.5, 2.0], requires_grad=True)
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2, rtol=1e-15)


def test_same_tensor_on_both_sides_of_one_op() -> None:
    x = ag.tensor([3.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0])


def test_diamond_graph_gets_every_path() -> None:
    # h feeds two branches that meet again: dy/dx = (2h + 3) * dh/dx with h = 2x + 1.
    x = ag.tensor([0.5, -2.0], requires_grad=True)
    h = x * 2.0 + 1.0
    y = h * h + h * 3.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * (2 * (2 * x.data + 1) + 3), rtol=1e-15)


def test_nested_diamonds_with_shared_intermediates() -> None:
    x = ag.tensor(0.3, requires_grad=True)
    a = x.exp()
    b = a * x  # uses a and x
    c = (a + b).tanh()  # uses a again
    (c * b).backward()
    av, bv = np.exp(0.3), 0.3 * np.exp(0.3)
    cv = np.tanh(av + bv)
    dav, dbv = av, av + bv  # da/dx, db/dx
    expected = (1 - cv**2) * (dav + dbv) * bv + cv * dbv
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14)


def test_backward_on_a_leaf_seeds_its_own_gradient() -> None:
    x = ag.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_inputs_not_requiring_grad_get_no_grad() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_long_chain_backward_has_no_recursion_error() -> None:
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    # The chain holds no cycles; without the collector rescanning 200,000 live objects
    # over and over, the test runs about twice as fast.
    with gc_disabled():
        for _ in range(50_000):  # two recorded ops per step: a 100,000-op chain
            y = y * 0.9999 + 0.0001
        y.backward()
    np.testing.assert_allclose(x.grad.item(), 0.9999**50_000, rtol=1e-9)


# ---- memory: nothing outlives its last user --------------------------------------------


def test_intermediate_is_freed_after_backward_once_dropped() -> None:
    with gc_disabled():
        x = ag.tensor(np.ones(3), requires_grad=True)
        h = x * 2.0
        y = h.exp().sum()
        alive = weakref.ref(h)
        y.backward()
        del h
        assert alive() is None, "the graph kept an intermediate alive after backward"
        assert y.grad_fn is not None  # the output itself is still usable


def test_whole_graph_is_freed_when_the_output_is_dropped() -> None:
    with gc_disabled():
        x = ag.tensor(np.ones(3), requires_grad=True)
        h = x * 2.0
        y = (h.tanh() + h).sum()
        refs = [weakref.ref(t) for t in (h, y)]
        del h, y  # no backward at all
        assert [r() for r in refs] == [None, None]


def test_output_and_intermediates_are_freed_after_backward() -> None:
    with gc_disabled():
        x = ag.tensor(np.ones(3), requires_grad=True)
        h = x.exp()
        y = (h * h).sum()
        refs = [weakref.ref(t) for t in (h, y)]
        y.backward()
        del h, y
        assert [r() for r in refs] == [None, None]
        assert x.grad is not None


def _live_nodes() -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Node))


def test_no_global_tape_grows_while_nobody_calls_backward() -> None:
    x = ag.tensor(np.ones(4), requires_grad=True)
    gc.collect()
    before = _live_nodes()
    kept = (x * 2.0).exp()
    assert _live_nodes() == before + 2  # the count sees the nodes of a live graph
    del kept
    for _ in range(300):
        ((x * 2.0).exp() + x).sum()  # recorded, then dropped without backward
    gc.collect()
    assert _live_nodes() == before


# ---- retain_graph and create_graph ----------------------------------------------------


def test_second_backward_through_freed_graph_raises_naming_retain_graph() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first, rtol=1e-15)
    np.testing.assert_allclose(first, np.exp(x.data) * (x.data + 1), rtol=1e-15)


def test_create_graph_makes_the_gradient_differentiable() -> None:
    x = ag.tensor(2.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    g = x.grad
    assert g.grad_fn is not None
    np.testing.assert_allclose(g.item(), 12.0)  # 3x^2
    x.grad = None
    g.backward()
    np.testing.assert_allclose(x.grad.item(), 12.0)  # 6x


def test_create_graph_third_derivative() -> None:
    x = ag.tensor(0.7, requires_grad=True)
    (x.exp() * x).backward(create_graph=True)
    g1 = x.grad
    x.grad = None
    g1.backward(create_graph=True)
    g2 = x.grad
    x.grad = None
    g2.backward()
    np.testing.assert_allclose(x.grad.item(), np.exp(0.7) * (0.7 + 3), rtol=1e-13)


# ---- grad modes -----------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = (x * 2.0).exp().sum()
    assert ag.is_grad_enabled()
    assert not y.requires_grad
    assert y.grad_fn is None
    assert y.is_leaf


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(KeyError), ag.no_grad():
        raise KeyError("boom")
    assert ag.is_grad_enabled()


def test_no_grad_is_thread_local() -> None:
    entered, release = threading.Event(), threading.Event()
    seen_in_thread: list[bool] = []

    def hold_no_grad() -> None:
        with ag.no_grad():
            seen_in_thread.append(ag.is_grad_enabled())
            entered.set()
            release.wait(timeout=10)

    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    try:
        assert entered.wait(timeout=10)
        # The other thread sits inside no_grad; this one still records.
        assert ag.is_grad_enabled()
        x = ag.tensor([1.0], requires_grad=True)
        y = x * 3.0
        assert y.requires_grad and y.grad_fn is not None
    finally:
        release.set()
        worker.join(timeout=10)
    assert seen_in_thread == [False]


def test_grad_mode_of_a_new_thread_is_enabled_even_inside_no_grad() -> None:
    seen: list[bool] = []
    with ag.no_grad():
        worker = threading.Thread(target=lambda: seen.append(ag.is_grad_enabled()))
        worker.start()
        worker.join(timeout=10)
        assert not ag.is_grad_enabled()
    assert seen == [True]


def test_detach_cuts_the_graph_and_shares_values() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.data, [3.0, 6.0])
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 6.0])  # d acts as a constant


def test_requires_grad_in_place_turns_a_tensor_into_a_trainable_leaf() -> None:
    w = ag.tensor([1.0, 2.0])
    assert w.requires_grad_() is w
    assert w.requires_grad and w.is_leaf
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    w.requires_grad_(False)
    assert not (w * 2.0).requires_grad


def test_results_of_recorded_ops_are_not_leaves() -> None:
    x = ag.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None
    assert ag.tensor([1.0]).is_leaf


# ---- mutation of arrays saved for backward ------------------------------------------------


def test_writing_into_an_array_saved_for_backward_fails_loudly() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_writing_into_a_saved_output_fails_loudly() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    e = x.exp()
    with pytest.raises(ValueError, match="read-only"):
        e.data[0] = 0.0


def test_reenabling_writes_and_mutating_makes_backward_raise() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data.setflags(write=True)
    x.data[0] = 5.0
    with pytest.raises(RuntimeError):
        y.backward()


def test_rebinding_data_after_forward_keeps_the_recorded_gradient() -> None:
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    x.data = np.array([10.0, 20.0, 30.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


def test_parameter_update_under_no_grad_keeps_a_leaf() -> None:
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    same = w
    with ag.no_grad():
        w -= 0.1 * w.grad
    assert w is same
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(w.data, [0.8, -1.6], rtol=1e-15)
    w.grad = None
    (w * w).sum().backward()  # still trainable after the update
    np.testing.assert_allclose(w.grad.data, [1.6, -3.2], rtol=1e-15)


def test_in_place_update_of_a_leaf_with_grad_mode_on_raises() -> None:
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        w -= 0.1
    np.testing.assert_array_equal(w.data, [1.0, -2.0])


def test_in_place_update_under_no_grad_does_not_corrupt_a_live_graph() -> None:
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with ag.no_grad():
        w -= 1.0
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])  # at the recorded values


# ---- backward_steps ----------------------------------------------------------------------


def test_backward_steps_run_to_the_end_equal_backward() -> None:
    def build(x: ag.Tensor) -> ag.Tensor:
        return ((x * 2.0).tanh() * x).sum()

    x1 = ag.tensor([0.3, -0.7], requires_grad=True)
    steps = list(build(x1).backward_steps())
    x2 = ag.tensor([0.3, -0.7], requires_grad=True)
    build(x2).backward()
    assert [s.op for s in steps] == ["sum", "mul", "tanh", "mul"]
    np.testing.assert_array_equal(x1.grad.data, x2.grad.data)


def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses() -> None:
    # `@torch.no_grad` (bare, as in makemore's split_loss) raised a TypeError here.
    x = ag.tensor([1.0, 2.0], requires_grad=True)

    @ag.no_grad
    def bare() -> ag.Tensor:
        return x * 2

    @ag.no_grad()
    def called() -> ag.Tensor:
        return x * 2

    @ag.enable_grad
    def again() -> ag.Tensor:
        return x * 2

    assert not bare().requires_grad and not called().requires_grad
    with ag.no_grad():
        assert again().requires_grad
    assert bare.__name__ == "bare" and (x * 2).requires_grad
