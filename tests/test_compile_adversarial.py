"""ag.compile with check=False against an eager twin: training steps people write, each run
over several calls with changing data, must be bitwise identical to eager or refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn, optim
from autograd_lite.nn import functional as F

CALLS = 5


def _bits(value: Any) -> list[bytes]:
    """Every array leaf of ``value`` as dtype, shape and bytes (a number as a 0-d array)."""
    leaves = ag.pytree.flatten(value)[0]
    arrays = [np.asarray(v.data if isinstance(v, ag.Tensor) else v) for v in leaves]
    return [a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes() for a in arrays]


def assert_like_eager(build: Callable[[], tuple[Callable, nn.Module]],
                      args: Callable[[int], tuple]) -> None:
    """Two identical setups from ``build()``: one stepped eagerly, one through
    ``ag.compile(check=False)``; results, parameters and gradients must match bitwise."""
    eager_step, eager_model = build()
    step, model = build()
    compiled = ag.compile(step, check=False)
    for i in range(CALLS):
        assert _bits(compiled(*args(i))) == _bits(eager_step(*args(i))), f"call {i}"
        for (name, p), (_, q) in zip(model.named_parameters(), eager_model.named_parameters()):
            assert _bits(p) == _bits(q), f"{name} after call {i}"
            assert _bits(p.grad) == _bits(q.grad), f"{name}.grad after call {i}"
    assert compiled.traces == 1


def _data(i: int, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + i)
    return rng.standard_normal((8, 3)), rng.integers(0, classes, 8)


def _mlp(out: int) -> nn.Module:
    return nn.MLP([3, 5, out], activation="relu", rng=np.random.default_rng(1))


def test_one_hot_targets_follow_each_calls_labels() -> None:
    def build() -> tuple[Callable, nn.Module]:
        model = _mlp(4)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x: np.ndarray, labels: np.ndarray) -> float:
            opt.zero_grad()
            loss = F.mse_loss(model(x), F.one_hot(labels, 4))
            loss.backward()
            opt.step()
            return loss.item()

        return step, model

    assert_like_eager(build, _data)


def test_one_hot_out_of_range_in_a_replay_raises() -> None:
    step = ag.compile(lambda labels: F.one_hot(labels, 3), check=False)
    assert step(np.array([0, 2])).data.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert step(np.array([1, 0])).data.tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="one_hot: class value 3 is out of range"):
        step(np.array([3, 0]))


def test_numpy_slice_of_an_array_argument_is_refused() -> None:
    model = _mlp(2)

    def step(x: np.ndarray) -> tuple:  # gradient accumulation over two half batches
        first = model(x[:4]).sum()
        first.backward()
        second = model(x[4:]).sum()
        second.backward()
        return first.item(), second.item()

    with pytest.raises(RuntimeError, match=r"compile: .* view of an input array of shape "
                                           r"\(8, 3\)"):
        ag.compile(step, check=False)(_data(0)[0])


def test_tensor_slices_of_an_input_accumulate_like_eager() -> None:
    def build() -> tuple[Callable, nn.Module]:
        model = _mlp(2)
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x: np.ndarray, y: np.ndarray) -> tuple:
            opt.zero_grad()
            x, y = ag.tensor(x), ag.tensor(y)
            first = F.mse_loss(model(x[:4]), y[:4]) / 2
            first.backward()
            second = F.mse_loss(model(x[4:]), y[4:]) / 2
            second.backward()
            opt.step()
            return first.item(), second.item()

        return step, model

    assert_like_eager(build, lambda i: (_data(i)[0], np.random.default_rng(i).random((8, 2))))


def _loss_step(model: nn.Module, opt: optim.Optimizer, loss_fn: Callable = F.mse_loss
              ) -> Callable:
    def step(x: np.ndarray, y: np.ndarray) -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _regression(i: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(200 + i)
    return rng.standard_normal((8, 3)), rng.standard_normal((8, 2))


def _run_twins(make: Callable[[], nn.Module], between: Callable[[int, nn.Module], None],
               optimizer: Callable = lambda params: optim.Adam(params, lr=0.01)) -> int:
    """Eager and compiled (check=False) twins stepped CALLS times, ``between(i, model)``
    applied to both before call ``i``; returns the number of traces."""
    eager, model = make(), make()
    eager_step = _loss_step(eager, optimizer(eager.parameters()))
    compiled = ag.compile(_loss_step(model, optimizer(model.parameters())), check=False)
    for i in range(CALLS):
        between(i, eager)
        between(i, model)
        assert compiled(*_regression(i)) == eager_step(*_regression(i)), f"call {i}"
        for p, q in zip(model.parameters(), eager.parameters()):
            assert _bits(p) == _bits(q) and _bits(p.grad) == _bits(q.grad), f"call {i}"
    return compiled.traces


def _batch_norm_net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(1)), nn.BatchNorm1d(4),
                         nn.ReLU(), nn.Linear(4, 2, rng=np.random.default_rng(2)))


def test_train_eval_switched_between_calls_traces_each_mode() -> None:
    traces = _run_twins(_batch_norm_net, lambda i, m: m.train(i % 2 == 0))
    assert traces == CALLS  # the mode changes on every call


def test_eval_mode_kept_replays_one_trace() -> None:
    assert _run_twins(_batch_norm_net, lambda i, m: m.eval()) == 1


def test_parameter_frozen_between_calls_gets_no_update() -> None:
    def freeze_first(i: int, model: nn.Module) -> None:
        next(iter(model.parameters())).requires_grad = i % 2 == 0

    traces = _run_twins(lambda: _mlp(2), freeze_first,
                        lambda params: optim.SGD(params, lr=0.1, momentum=0.9))
    assert traces == CALLS


def test_dropout_with_its_own_generator_is_refused() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(1)),
                          nn.Dropout(0.5, rng=np.random.default_rng(9)),
                          nn.Linear(4, 2, rng=np.random.default_rng(2)))
    step = ag.compile(_loss_step(model, optim.SGD(model.parameters(), lr=0.1)), check=False)
    with pytest.raises(RuntimeError, match=r"compile: fn drew from a NumPy generator passed "
                                           r"as rng="):
        step(*_regression(0))
    model.eval()  # the identity in eval: nothing drawn, so it traces
    step(*_regression(1))
    assert step.traces == 1


SCALE = 1.0  # a global the step below reads, rebound between calls


def _scaled_loss(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    for p in model.parameters():
        p.grad = None
    loss = F.mse_loss(model(x), y) * SCALE
    loss.backward()
    return loss.item()


def test_rebound_closure_number_retraces() -> None:
    def make() -> tuple[Callable, Callable]:
        model, lr = _mlp(2), 0.1

        def step(x: np.ndarray, y: np.ndarray) -> float:
            for p in model.parameters():
                p.grad = None
            loss = F.mse_loss(model(x), y) * lr
            loss.backward()
            return loss.item()

        def set_lr(value: float) -> None:
            nonlocal lr
            lr = value

        return step, set_lr

    (eager, set_eager), (step, set_lr) = make(), make()
    compiled = ag.compile(step, check=False)
    for i in range(CALLS):
        set_eager(0.1 * (i + 1))
        set_lr(0.1 * (i + 1))
        assert compiled(*_regression(i)) == eager(*_regression(i)), f"call {i}"
    compiled(*_regression(0))  # the same lr again: replayed, no new trace
    assert compiled.traces == CALLS


def test_rebound_global_number_retraces() -> None:
    global SCALE
    model, eager_model = _mlp(2), _mlp(2)
    compiled_global = ag.compile(_scaled_loss, check=False)
    try:
        for i in range(CALLS):
            SCALE = 1.0 + i
            want = _scaled_loss(eager_model, *_regression(i))
            assert compiled_global(model, *_regression(i)) == want, f"call {i}"
        assert compiled_global.traces == CALLS
    finally:
        SCALE = 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_bce_with_logits_follows_each_calls_target(dtype: type) -> None:
    def build() -> tuple[Callable, nn.Module]:
        model = _mlp(2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        return _loss_step(model, opt, F.binary_cross_entropy_with_logits), model

    def args(i: int) -> tuple[np.ndarray, np.ndarray]:
        x, _ = _regression(i)
        return x, (np.random.default_rng(i).random((8, 2)) > 0.5).astype(dtype)

    assert_like_eager(build, args)


def test_functional_sgd_returning_new_leaves_keeps_requires_grad() -> None:
    def step(w: ag.Tensor, x: np.ndarray, y: np.ndarray) -> tuple:
        loss = F.mse_loss(x @ w, y)
        loss.backward()
        return (w.detach() - 0.1 * w.grad).requires_grad_(), loss.item()

    compiled = ag.compile(step, check=False)
    start = np.random.default_rng(5).standard_normal((3, 2))
    w_eager = ag.tensor(start, requires_grad=True)
    w = ag.tensor(start.copy(), requires_grad=True)
    for i in range(CALLS):
        w_eager, want = step(w_eager, *_regression(i))
        w, got = compiled(w, *_regression(i))
        assert got == want and w.requires_grad, f"call {i}"
        assert _bits(w) == _bits(w_eager), f"call {i}"
    assert compiled.traces == 1


def test_eval_step_reads_running_statistics_updated_between_calls() -> None:
    model = _batch_norm_net()
    validate = ag.compile(lambda x: model(x).sum().item(), check=False)
    x = _regression(0)[0]
    for epoch in range(3):
        model.train()
        with ag.no_grad():  # a training epoch moves the running statistics in place
            model(_regression(10 + epoch)[0] * (epoch + 1))
        model.eval()
        assert validate(x) == model(x).sum().item(), f"epoch {epoch}"
    assert validate.traces == 1


def test_captured_buffer_filled_in_place_between_calls() -> None:
    def build() -> tuple[Callable, nn.Module, np.ndarray]:
        model, buffer = _mlp(2), np.zeros((8, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x: np.ndarray) -> float:
            opt.zero_grad()
            loss = F.mse_loss(model(x), buffer) + ((model(x) - ag.tensor(buffer)) ** 2).sum()
            loss.backward()
            opt.step()
            return loss.item()

        return step, model, buffer

    (eager, eager_model, eager_buffer), (step, model, buffer) = build(), build()
    compiled = ag.compile(step, check=False)
    for i in range(CALLS):
        x, y = _regression(i)
        eager_buffer[...] = y
        buffer[...] = y
        assert compiled(x) == eager(x), f"call {i}"
        for p, q in zip(model.parameters(), eager_model.parameters()):
            assert _bits(p) == _bits(q), f"call {i}"
    assert compiled.traces == 1
