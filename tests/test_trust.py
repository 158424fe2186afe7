"""Issue 10 defects 1-7 and 12, and the hooks of issue 11: one regression test per defect.

Each test fails on the engine before its fix: wrong numbers, leaked global state, or a
silent gradient where PyTorch raises.
"""

from __future__ import annotations

import gc
import sys
import threading

import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite import engine, hooks, saved_arrays

# ---- 1. pow with a Tensor exponent: second derivatives keep log a's dependence -------------


def test_pow_second_derivative_through_the_exponent_gradient_matches_torch() -> None:
    a = ag.tensor(2.0, requires_grad=True)
    b = ag.tensor(3.0, requires_grad=True)
    (a**b).backward(create_graph=True)
    b_grad = b.grad
    a.grad = None
    b_grad.backward()
    ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (tgb,) = torch.autograd.grad(ta**tb, tb, create_graph=True)
    (expected,) = torch.autograd.grad(tgb, ta)
    assert a.grad.item() == pytest.approx(expected.item(), rel=1e-12)
    assert a.grad.item() == pytest.approx(3 * 2**2 * np.log(2) + 2**2, rel=1e-12)  # 12.318


def test_pow_hessian_is_symmetric() -> None:
    h = ag.hessian(lambda v: v[0] ** v[1])(np.array([2.0, 3.0]))
    h = np.asarray(h.data if isinstance(h, ag.Tensor) else h)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)
    np.testing.assert_allclose(h[0, 1], 12.317766166719343, rtol=1e-12)


def test_pow_at_zero_with_a_zero_tensor_exponent_has_pytorch_gradients() -> None:
    x = ag.tensor([0.0, 0.0, 2.0], requires_grad=True)
    t = ag.tensor([0.0, 1.5, 0.0], requires_grad=True)
    (x**t).sum().backward()
    tx = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    tt = torch.tensor([0.0, 1.5, 0.0], dtype=torch.float64, requires_grad=True)
    (tx**tt).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(t.grad.data, tt.grad.numpy())
    assert not np.isnan(x.grad.data).any()


# ---- 2. backward never touches the process-wide garbage collector -------------------------


def test_backward_from_threads_leaves_the_collector_enabled_and_locks_balanced() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    errors: list = []

    shared = ag.tensor(np.full(3, 0.5), requires_grad=True)  # locked by every thread's graphs

    def work() -> None:
        try:
            for _ in range(40):
                x = ag.tensor(np.ones(3), requires_grad=True)
                y = x
                for _ in range(30):
                    y = (y * shared).tanh() + 0.1
                dropped = (shared * shared).exp()  # never backpropagated: unlocked when dropped
                y.sum().backward()
                del dropped
                assert gc.isenabled()
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    try:
        assert gc.isenabled()
        for _ in range(5):
            threads = [threading.Thread(target=work) for _ in range(3)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert gc.isenabled()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[0]
    # Lock counts updated from several threads at once still balance to zero.
    assert shared.data.flags.writeable
    assert id(shared.data) not in saved_arrays._counts


# ---- 3. a paused backward_steps() leaves grad mode as it found it ---------------------------


def test_grad_mode_is_not_flipped_between_steps() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    steps = (x.tanh() * 2.0).sum().backward_steps()
    next(steps)
    assert ag.is_grad_enabled()
    assert (x * x).requires_grad
    assert gc.isenabled()
    list(steps)
    assert ag.is_grad_enabled()


def test_an_exception_kept_alive_from_stepping_leaves_grad_mode_on() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data.setflags(write=True)  # tampering: the step raises
    steps = y.backward_steps()
    with pytest.raises(RuntimeError) as kept:
        list(steps)  # the sum step runs, the mul step raises
    assert kept.value.__traceback__ is not None and ag.is_grad_enabled()
    assert (x * x).requires_grad


# ---- 4. in-place writes: views made before the op, create_graph reading current data -------


def test_a_write_through_a_view_made_before_the_op_is_caught() -> None:
    x = ag.tensor([2.0], requires_grad=True)
    v = x.data.reshape(-1)
    y = (x * x).sum()
    v[0] = 100.0
    with pytest.raises(RuntimeError, match="'mul'.*modified in place"):
        y.backward()


def test_a_write_through_an_earlier_view_of_an_interior_result_is_caught() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    v = h.data[1:]  # a view of h's array, made before mul saves h
    y = (h * h).sum()
    v[0] = -1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_write_through_an_earlier_view_is_caught_when_the_op_guards_one_array() -> None:
    # mul by a Python scalar guards x alone: protect's single-array path, whose alias test
    # counts one frame fewer than the several-arrays path of x * x above.
    x = ag.tensor([2.0, 3.0], requires_grad=True)
    v = x.data[1:]
    y = (x * 2.0).exp().sum()
    v[0] = 100.0
    with pytest.raises(RuntimeError, match="'mul'.*modified in place"):
        y.backward()


def test_arrays_without_outside_references_are_not_checksummed() -> None:
    # The cheap path: only a possible alias costs a CRC. This also holds the gate's count of
    # its own references (a count one too low would checksum here).
    x = ag.tensor(np.ones(3), requires_grad=True)
    h = (x * 2.0).tanh()
    w = ag.tensor(np.ones((2, 3)), requires_grad=True)
    y = (h * x).sum() + (h @ w.T).sum()
    assert not saved_arrays._checksums
    y.backward()


def test_a_training_step_checksums_no_parameter_and_no_loss_constant(monkeypatch) -> None:
    # W3's step: ``x @ W.T`` saves a view of a Parameter's array (the Parameter, the
    # transpose node and the view hold its owner), and cross_entropy multiplies by a
    # constant it made. None of them has an outside alias, so nothing is checksummed.
    summed: list = []
    monkeypatch.setattr(saved_arrays, "_checksum", lambda a: summed.append(a.shape) or 0)
    rng = np.random.default_rng(0)
    model = ag.nn.MLP([6, 5, 4, 3], activation="relu", rng=rng, dtype=np.float32)
    opt = ag.optim.SGD(model.parameters(), lr=0.1)
    x = ag.tensor(rng.standard_normal((8, 6)).astype(np.float32))
    for _ in range(2):
        opt.zero_grad()
        ag.F.cross_entropy(model(x), rng.integers(0, 3, size=8)).backward()
        opt.step()
    assert summed == []


def test_a_write_through_a_view_of_a_parameter_made_before_the_op_is_caught() -> None:
    w = ag.nn.Parameter(np.ones((2, 3)))
    row = w.data[0]  # made before matmul saves w (through a transpose view)
    x = ag.tensor(np.ones((4, 3)))
    y = (x @ w.T).sum()
    row[1] = 7.0
    with pytest.raises(RuntimeError, match="'matmul'.*modified in place"):
        y.backward()


def test_every_save_of_memory_that_had_a_view_when_locked_is_checked() -> None:
    # The first save locks w's memory and notices the earlier view; a later save of the
    # already locked w must be checked too (the fast path for locked arrays skips the
    # alias test, so the owner remembers it).
    w = ag.nn.Parameter(np.ones((2, 3)))
    row = w.data[0]
    x = ag.tensor(np.ones((4, 3)))
    y = (x @ w.T).sum()
    z = (w * w).sum()
    zz = (w.exp() * w).sum()  # the output of exp is fresh: never checksummed
    row[1] = 7.0
    with pytest.raises(RuntimeError, match="'mul'.*modified in place"):
        z.backward()
    with pytest.raises(RuntimeError, match="'matmul'.*modified in place"):
        y.backward()
    del y, z, zz
    gc.collect()
    assert id(w.data) not in saved_arrays._counts and id(w.data) not in saved_arrays._exposed
    assert w.data.flags.writeable and row.flags.writeable


def test_a_write_through_a_view_of_a_constant_operand_is_caught() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])  # a constant Tensor: mul saves its array
    view = c.data[:]
    y = (x * c).sum()
    view[0] = -3.0
    with pytest.raises(RuntimeError, match="'mul'.*modified in place"):
        y.backward()


def test_create_graph_refuses_a_rebound_output() -> None:
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.data = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"'exp'.*\.data was replaced"):
        y.backward(np.ones(2), create_graph=True)


def test_create_graph_refuses_an_in_place_update_of_a_non_leaf_under_no_grad() -> None:
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    z = x.exp()
    with ag.no_grad():
        z += 1.0
    with pytest.raises(RuntimeError, match=r"\.data was replaced"):
        z.sum().backward(create_graph=True)


# ---- 5. saved arrays become writeable again once no live graph needs them ------------------


def test_the_seed_notes_update_works_after_backward() -> None:
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.data -= 0.1 * w.grad.data
    np.testing.assert_allclose(w.data, [0.8, -1.6])


def test_arrays_unlock_when_an_unused_graph_is_dropped() -> None:
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    y = (w.exp() * w).sum()
    assert not w.data.flags.writeable
    del y
    w.data[0] = 3.0
    assert w.data[0] == 3.0


def test_an_array_stays_locked_while_another_graph_needs_it() -> None:
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    first = (w * w).sum()
    second = (w * 3.0 * w).sum()
    first.backward()
    with pytest.raises(ValueError, match="read-only"):
        w.data[0] = 5.0
    w.grad = None
    second.backward()
    np.testing.assert_allclose(w.grad.data, [6.0, -12.0])
    w.data[0] = 5.0  # now nobody needs it


def test_arrays_read_only_before_the_graph_stay_read_only() -> None:
    frozen = np.array([1.0, 2.0])
    frozen.setflags(write=False)
    w = ag.Tensor._make(frozen, None).requires_grad_()
    (w * w).sum().backward()
    assert not frozen.flags.writeable


# ---- 6. leaf gradients never share memory ---------------------------------------------------


def test_leaf_gradients_through_reshape_and_add_do_not_alias() -> None:
    x = ag.tensor(np.ones((2, 2)), requires_grad=True)
    u = ag.tensor(np.ones(4), requires_grad=True)
    ((x.reshape(4) + u) * 2).sum().backward()
    assert not np.shares_memory(x.grad.data, u.grad.data)
    x.grad.data[0, 0] = 99.0
    np.testing.assert_array_equal(u.grad.data, [2.0, 2.0, 2.0, 2.0])


def test_leaf_gradients_through_concatenate_do_not_alias() -> None:
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0], requires_grad=True)
    ag.concatenate([a, b]).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)


# ---- 7. custom Functions get the engine's protection ----------------------------------------


class _SavesAView(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x[1:])
        return (x[1:] ** 2).sum()

    @staticmethod
    def backward(ctx, grad):
        (tail,) = ctx.saved_tensors
        g = np.zeros(len(tail) + 1)
        g[1:] = 2 * tail * grad
        return g


def test_function_saves_lock_their_base_and_raise_runtime_errors() -> None:
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = _SavesAView.apply(x)
    with pytest.raises(ValueError, match="read-only"):
        x.data[2] = 100.0  # the base of the saved view
    x.data.setflags(write=True)
    x.data[2] = 100.0
    with pytest.raises(RuntimeError, match="_SavesAView"):
        y.backward()


def test_function_saves_are_not_locked_under_no_grad() -> None:
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with ag.no_grad():
        _SavesAView.apply(x)
    x.data[0] = 5.0  # nothing recorded, nothing locked
    assert x.data.flags.writeable


def test_function_saves_unlock_after_backward() -> None:
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    _SavesAView.apply(x).backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 4.0, 6.0])
    x.data[2] = 0.0


# ---- 12. edge semantics as PyTorch ------------------------------------------------------------


def test_softmax_along_a_zero_length_axis_is_empty() -> None:
    z = ag.zeros((0, 3)).requires_grad_()
    assert z.softmax(axis=0).shape == (0, 3) == tuple(torch.zeros(0, 3).softmax(0).shape)
    assert z.log_softmax(axis=0).shape == (0, 3)
    z.log_softmax(axis=0).sum().backward()
    assert z.grad.shape == (0, 3)


def test_max_over_a_non_empty_axis_of_an_empty_tensor_is_empty() -> None:
    z = ag.zeros((0, 3))
    assert z.max(axis=1).shape == (0,) == tuple(torch.zeros(0, 3).amax(dim=1).shape)
    assert z.min(axis=1).shape == (0,)
    with pytest.raises(ValueError, match=r"max: .*zero-length axis.*\(0, 3\)"):
        z.max(axis=0)


def test_reducing_a_0d_tensor_over_axis_0_is_a_no_op_and_other_axes_name_sum() -> None:
    t = ag.tensor(3.0, requires_grad=True)
    for axis in (0, -1):
        assert t.sum(axis=axis).item() == torch.tensor(3.0).sum(dim=axis).item()
    t.sum(axis=0).backward()
    assert t.grad.item() == 1.0
    with pytest.raises(ValueError, match=r"sum: axis 1 .*shape \(\)"):
        t.sum(axis=1)


# ---- issue 11: retain_grad, register_hook, values kept after backward -----------------------


def test_retain_grad_keeps_and_accumulates_a_non_leaf_gradient() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward(retain_graph=True)
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    y = (h * 1.0).sum()
    y.backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data + 1.0)
    assert not np.shares_memory(h.grad.data, x.grad.data)


def test_hooks_see_and_replace_gradients_and_can_be_removed() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    seen: list = []
    handle = h.register_hook(lambda g: seen.append(g.copy()))
    doubler = x.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 2 * 18 * x.data)  # 18x, doubled by the leaf hook
    handle.remove()
    doubler.remove()
    handle.remove()  # twice is fine
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])
    assert len(seen) == 1
    assert all(r.ref() is not None for r in hooks.registry.values())


def test_a_hook_replacing_a_non_leaf_gradient_changes_what_flows_on() -> None:
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.register_hook(lambda g: g * 0.0)
    (h * h).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_freed_graphs_keep_small_values_and_a_preview_of_large_ones() -> None:
    x = ag.tensor(np.arange(100.0), requires_grad=True)
    small = x[:4] * 2.0
    small.name = "small"
    big = x * 2.0
    big.name = "big"
    kept = small.exp()
    kept.retain_grad()
    y = kept.sum() + big.sum()
    y.backward()
    inputs = [i for n in engine.graph_nodes([y]) for i in n.inputs]
    freed = {i.name: i for i in inputs if isinstance(i, engine.Freed)}
    np.testing.assert_array_equal(freed["small"].data, [0.0, 2.0, 4.0, 6.0])
    assert freed["big"].data is None
    np.testing.assert_array_equal(freed["big"].preview[0], [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(freed["big"].preview[1], [194.0, 196.0, 198.0])
    assert any(i is kept for i in inputs)  # retained: the tensor itself, with its .grad
    np.testing.assert_allclose(kept.grad.data, [1.0] * 4)
