"""ag.compile: a traced training step replays bitwise like eager, retraces on new
signatures, checks itself with check=True and refuses what it cannot replay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import engine, nn, optim

STEPS = 50


def mlp() -> nn.Module:
    return nn.MLP([3, 16, 16, 2], activation="tanh", rng=np.random.default_rng(7))


def cnn() -> nn.Module:
    rng = np.random.default_rng(8)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 3 * 3, 5, rng=rng))


def sgd(model: nn.Module) -> optim.Optimizer:
    return optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def adam(model: nn.Module) -> optim.Optimizer:
    return optim.Adam(model.parameters(), lr=0.01)


def training_step(model: nn.Module, opt: optim.Optimizer, loss_fn: Callable) -> Callable:
    """zero_grad, forward, loss, backward, step; returns the loss twice (item and Tensor)."""

    def step(x: np.ndarray, target: np.ndarray) -> tuple:
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss.item(), loss

    return step


def batches(kind: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` different batches: regression targets for the MLP, labels for the CNN."""
    rng = np.random.default_rng(3)
    if kind == "mlp":
        return [(rng.standard_normal((8, 3)), rng.standard_normal((8, 2))) for _ in range(count)]
    return [(rng.standard_normal((6, 1, 6, 6)), rng.integers(0, 5, size=6))
            for _ in range(count)]


def assert_same_models(a: nn.Module, b: nn.Module) -> None:
    pairs = list(zip(a.named_parameters(), b.named_parameters()))
    assert pairs
    for (name, p), (_, q) in pairs:
        assert np.array_equal(p.data, q.data), name
        assert np.array_equal(p.grad.data, q.grad.data), name


@pytest.mark.parametrize("kind, make_model, loss_fn", [
    ("mlp", mlp, ag.F.mse_loss),
    ("cnn", cnn, ag.F.cross_entropy),
])
@pytest.mark.parametrize("make_opt", [sgd, adam])
def test_fifty_compiled_steps_equal_eager_bitwise(kind: str, make_model: Callable,
                                                   loss_fn: Callable, make_opt: Callable) -> None:
    eager_model, compiled_model = make_model(), make_model()
    eager = training_step(eager_model, make_opt(eager_model), loss_fn)
    compiled = ag.compile(training_step(compiled_model, make_opt(compiled_model), loss_fn))
    for k, (x, target) in enumerate(batches(kind, STEPS)):
        want_item, want = eager(x, target)
        got_item, got = compiled(x, target)
        assert got_item == want_item
        assert isinstance(got, ag.Tensor) and (got.node is None) == (k > 0)  # 0: the trace
        assert np.array_equal(got.data, want.data)
    assert compiled.traces == 1
    assert_same_models(eager_model, compiled_model)
    losses = [eager(x, t)[0] for x, t in batches(kind, 2)]
    assert losses[0] != losses[1]  # the batches differ, so a frozen batch would show


def test_the_source_shows_one_line_per_forward_and_vjp_call() -> None:
    model = mlp()
    step = ag.compile(training_step(model, sgd(model), ag.F.mse_loss))
    x, y = batches("mlp", 1)[0]
    step(x, y)
    source = step.source
    assert source == step.code(x, y)
    assert source.startswith("def replay(inputs):")
    assert source.count("# tanh") == 4  # two forward lines, two VJP lines
    assert source.count("= np.tanh(") == 2  # the hot ops are inlined as NumPy expressions
    # zero_grad cleared every .grad, so each deposit is a plain store of a fresh gradient
    assert source.count(".grad = _Tensor._make(") == len(list(model.parameters()))
    assert "Node" not in source and "_Tensor" not in source.split(".grad = ")[0]
    with pytest.raises(KeyError, match="compile"):
        step.code(x[:2], y[:2])


def test_ops_without_an_inline_form_replay_through_their_generic_functions() -> None:
    w = ag.tensor(np.ones((2, 3)), requires_grad=True)

    @ag.compile
    def f(x: np.ndarray) -> float:
        w.grad = None  # frozen (not an op), harmless here: the next grad is set afresh
        loss = (w * x).log_softmax(axis=1).sum()
        loss.backward()
        return loss.item()

    x = np.arange(6.0).reshape(2, 3)
    f(x)
    assert "_log_softmax_fwd" in f.source and "_log_softmax_vjp" in f.source
    want = ag.tensor(np.ones((2, 3)), requires_grad=True)
    (want * (x + 1)).log_softmax(axis=1).sum().backward()
    w.grad = None
    assert f(x + 1) == (want * (x + 1)).log_softmax(axis=1).sum().item()
    assert np.array_equal(w.grad.data, want.grad.data)


def test_a_new_shape_retraces_and_both_signatures_then_replay() -> None:
    model = mlp()
    step = ag.compile(training_step(model, sgd(model), ag.F.mse_loss))
    (x, y), (x2, y2) = batches("mlp", 2)
    step(x, y)
    step(x2, y2)
    assert step.traces == 1
    step(x[:5], y[:5])
    assert step.traces == 2
    step(x2, y2)
    step(x2[:5], y2[:5])
    assert step.traces == 2
    step(x.astype(np.float32), y)  # a dtype is part of the signature too
    assert step.traces == 3


def test_a_captured_parameter_of_another_shape_retraces() -> None:
    w = ag.tensor(np.ones((3, 2)), requires_grad=True)

    @ag.compile
    def f(x: np.ndarray) -> ag.Tensor:
        return (x @ w).sum()

    x = np.arange(6.0).reshape(2, 3)
    f(x)
    w.data = np.ones((3, 4))
    assert f(x).item() == 60.0
    assert f.traces == 2


def test_inputs_as_tensors_pytrees_and_tensor_of_an_input_made_inside() -> None:
    w = ag.tensor(np.array([[1.0], [2.0]]), requires_grad=True)

    opt = optim.SGD([w], lr=0.0)

    @ag.compile
    def f(batch: dict, scale: float) -> dict:
        opt.zero_grad()  # replayed (w.grad = None by hand would be frozen)
        x = ag.tensor(batch["x"])  # made inside fn from an input: replayed, not frozen
        out = ((x @ w) * batch["t"] * scale).sum()
        out.backward()
        return {"out": out, "grad": w.grad, "w": w}

    for k in range(3):
        batch = {"x": np.full((4, 2), float(k + 1)), "t": ag.tensor(np.full((4, 1), 2.0))}
        got = f(batch, 0.5)
        assert got["out"].item() == 4 * 3 * (k + 1) * 2.0 * 0.5
        assert np.array_equal(got["grad"].data, np.full((2, 1), 4 * (k + 1) * 1.0))
        assert got["w"] is w
    assert f.traces == 1
    f({"x": np.ones((4, 2)), "t": ag.tensor(np.ones((4, 1)))}, 2.0)  # a new value: retrace
    assert f.traces == 2


def test_gradients_accumulate_like_eager_without_zero_grad() -> None:
    def backward_of(p: ag.Tensor) -> Callable:
        return lambda x: ((p * x) ** 2).sum().backward()

    a, b = ag.tensor(np.ones(3), requires_grad=True), ag.tensor(np.ones(3), requires_grad=True)
    eager, compiled = backward_of(a), ag.compile(backward_of(b))
    for k in range(4):
        x = np.arange(3.0) + k
        eager(x)
        compiled(x)
        assert np.array_equal(a.grad.data, b.grad.data)
    assert compiled.traces == 1 and not np.array_equal(a.grad.data, 2 * (np.arange(3.0) + 3))


def test_check_passes_when_the_replay_matches_eager() -> None:
    model = mlp()
    step = ag.compile(check=True)(training_step(model, adam(model), ag.F.mse_loss))
    reference = mlp()
    eager = training_step(reference, adam(reference), ag.F.mse_loss)
    for x, y in batches("mlp", 4):
        assert step(x, y)[0] == eager(x, y)[0]
    assert_same_models(reference, model)


def test_check_catches_python_control_flow_on_data() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)

    @ag.compile(check=True)
    def f(x: np.ndarray) -> float:
        y = (w * x).sum()
        if y.item() > 0:  # frozen at trace time: the documented limit
            y = y * 2.0
        return y.item()

    assert f(np.ones(2)) == 4.0
    assert f(np.full(2, 3.0)) == 12.0  # same branch: fine
    with pytest.raises(RuntimeError, match=r"compile check: fn's result differs"):
        f(-np.ones(2))


def test_check_catches_a_replay_that_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    model = mlp()
    step = ag.compile(training_step(model, sgd(model), ag.F.mse_loss), check=True)
    (x, y), (x2, y2) = batches("mlp", 2)
    step(x, y)
    tanh = ag.ops.elementwise.tanh_op
    vjp = tanh.vjp  # the replay keeps the traced VJP; eager now runs a slightly other one
    monkeypatch.setattr(tanh, "vjp", lambda *a, **k: tuple(g * (1 + 1e-9) for g in vjp(*a, **k)))
    with pytest.raises(RuntimeError, match=r"compile check: .* differs between eager "
                                           r"and the replay \(max abs difference"):
        step(x2, y2)


def test_random_draws_inside_fn_are_refused_not_frozen() -> None:
    w = ag.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="compile: fn drew from ag's random generator"):
        ag.compile(lambda: (w * ag.randn(3)).sum().item())()
    drop = nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="compile: fn drew from ag's random generator"):
        ag.compile(lambda x: drop(w * x).sum().item())(np.ones(3))


def test_refused_inside_fn() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)

    def refused(body: Callable[[ag.Tensor], Any], match: str) -> None:
        with pytest.raises((RuntimeError, TypeError), match=match):
            ag.compile(lambda x: body(w * x))(np.ones(2))
        w.grad = None

    refused(lambda y: y.sum().backward(create_graph=True), "compile: backward.create_graph")
    refused(lambda y: y.backward(np.ones(2)), r"compile: backward\(grad=")
    refused(lambda y: list(y.sum().backward_steps()), "compile: only Tensor.backward")
    refused(lambda y: ag.grad(lambda v: (v * v).sum())(y), "compile: only Tensor.backward")

    def hooked(y: ag.Tensor) -> None:
        y.register_hook(lambda g: g * 2)
        y.sum().backward()

    refused(hooked, "compile: a tensor hook or retain_grad")

    def retained(y: ag.Tensor) -> None:
        y.retain_grad()
        y.sum().backward()

    refused(retained, "compile: a tensor hook or retain_grad")

    class Cube(ag.Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
            return 3 * ctx.saved_tensors[0] ** 2 * g

    refused(lambda y: Cube.apply(y), "compile: custom Function 'Cube'")
    refused(lambda y: ag.checkpoint(lambda v: v * v, y), "compile: an op takes the Python "
                                                         "function")
    refused(lambda y: y.sum().item() * 2.0, "compile: fn's result is a float")
    refused(lambda y: y.data.sum(), "compile: fn's result is a float64")

    def leaf_inside(y: ag.Tensor) -> None:
        (ag.tensor(np.ones(2), requires_grad=True) * y).sum().backward()

    refused(leaf_inside, "compile: backward reached a tensor of shape .2,. created inside")
    with ag.detect_anomaly():
        refused(lambda y: y.sum(), "compile: cannot trace under detect_anomaly")


def test_refused_arguments_and_nesting() -> None:
    with pytest.raises(TypeError, match="compile: argument leaf 1 is a set"):
        ag.compile(lambda x, s: x)(np.ones(2), {1})
    with pytest.raises(TypeError, match="compile: expected a function"):
        ag.compile(3)
    inner = ag.compile(lambda x: ag.tensor(x) * 2)
    with pytest.raises(RuntimeError, match="compile: a compiled function was called while"):
        ag.compile(lambda x: inner(x))(np.ones(2))
    assert engine.tracer is None


def test_an_input_converted_outside_the_ops_is_refused_not_frozen() -> None:
    model = nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    step = ag.compile(lambda x, y: ag.F.mse_loss(model(x), y).item())
    x = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(RuntimeError, match="compile: op 'sub' got an array .* equal to an input"):
        step(x, np.full((4, 2), 0.5))  # float64 targets: np.asarray(y, float32) copies them
    assert step(x, np.full((4, 2), 0.5, dtype=np.float32)) == \
        ag.F.mse_loss(model(x), np.full((4, 2), 0.5, dtype=np.float32)).item()


def test_unused_forward_values_get_no_line() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)

    @ag.compile
    def f(x: np.ndarray) -> ag.Tensor:
        (w * x).exp()  # computed and dropped: dead
        return (w + x).sum()

    f(np.ones(2))
    assert "_exp_fwd" not in f.source and "_mul_fwd" not in f.source
    assert f(np.full(2, 2.0)).item() == 6.0


def test_check_covers_gradients_deposited_into_tensor_arguments() -> None:
    @ag.compile(check=True)
    def f(x: ag.Tensor) -> ag.Tensor:
        (x * x).sum().backward()
        return x.grad

    f(ag.tensor(np.ones(2), requires_grad=True))
    x = ag.tensor(np.full(2, 3.0), requires_grad=True)
    g = f(x)  # eager, restore, replay: one deposit, not two
    assert np.array_equal(g.data, np.full(2, 6.0)) and g is x.grad
    assert f.traces == 1


def test_another_thread_running_tensor_code_during_a_trace_is_refused() -> None:
    errors: list[str] = []

    def other() -> None:
        try:
            ag.tensor(np.ones(2)) * 2
        except RuntimeError as exc:
            errors.append(str(exc))

    @ag.compile
    def f(x: np.ndarray) -> ag.Tensor:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        return ag.tensor(x).sum()

    f(np.ones(2))
    assert errors and errors[0].startswith("compile: another thread ran Tensor code")


@pytest.mark.parametrize("meddle", [
    lambda w: ag.nn.utils.clip_grad_norm_([w], 0.1),
    lambda w: setattr(w, "grad", w.grad * 0.5),
    lambda w: setattr(w, "grad", None),
])
def test_a_grad_changed_by_hand_before_the_step_is_refused(meddle: Callable) -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def step(x: np.ndarray) -> None:
        opt.zero_grad()
        (w * x).sum().backward()
        meddle(w)
        opt.step()

    with pytest.raises(RuntimeError, match="compile: the .grad of a parameter of shape .2,. "
                                           "was set in fn outside backward"):
        ag.compile(step)(np.full(2, 3.0))


def test_a_grad_from_before_the_call_is_stepped_with_as_eager() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    step = ag.compile(opt.step)
    for k in range(3):
        w.grad = ag.tensor(np.full(2, float(k)))
        step()
    assert np.array_equal(w.data, np.ones(2) - 0.1 * 1.0 - 0.1 * 2.0)
    assert step.traces == 1


def test_the_first_replay_is_checked_by_default_so_frozen_numpy_shows() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)
    calls = []

    @ag.compile
    def f(x: np.ndarray) -> float:
        calls.append(1)
        doubled = ag.tensor(x.copy() * 2)  # NumPy outside the ops: frozen at trace time
        return (w * doubled).sum().item()

    assert f(np.ones(2)) == 4.0  # the trace: eager
    with pytest.raises(RuntimeError, match=r"compile check: fn's result differs"):
        f(np.full(2, 3.0))  # its first replay runs eager beside it and disagrees


def test_after_its_first_checked_replay_a_signature_runs_without_eager() -> None:
    w = ag.tensor(np.ones(2), requires_grad=True)
    calls = []

    @ag.compile
    def f(x: np.ndarray) -> float:
        calls.append(1)
        return (w * x).sum().item()

    assert [f(np.full(2, v)) for v in (1.0, 2.0, 3.0, 4.0)] == [2.0, 4.0, 6.0, 8.0]
    assert len(calls) == 2  # the trace and the eager run beside the first replay
    unchecked = ag.compile(f.fn, check=False)
    assert [unchecked(np.full(2, v)) for v in (1.0, 2.0)] == [2.0, 4.0]
    assert len(calls) == 3  # the trace only


def test_check_must_be_true_false_or_first() -> None:
    with pytest.raises(ValueError, match=r"compile: check must be True, False or 'first', "
                                         r"got 'always'"):
        ag.compile(lambda: None, check="always")


def test_a_gradient_summed_from_two_branches_keeps_both_branches() -> None:
    # The first branch's gradient is only read by the sum: dead-code removal must see it.
    w = ag.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.0)

    @ag.compile(check=True)
    def f(x: np.ndarray) -> Any:
        opt.zero_grad()
        loss = (w * x).tanh().sum() + 0.1 * (w * w).sum()
        loss.backward()
        return w.grad

    for scale in (1.0, 2.0, 3.0):
        x = np.full(3, scale)
        expected = (1 - np.tanh(w.data * x) ** 2) * x + 0.2 * w.data
        np.testing.assert_allclose(f(x).data, expected, rtol=1e-12)


def test_masks_comparisons_argmax_and_integer_casts_follow_the_data() -> None:
    # Not on the tape (no gradient), but replayed: each call's values, not the traced ones.
    w = ag.tensor(np.array([0.5, -1.0, 2.0, -0.25]), requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)

    @ag.compile(check=True)
    def step(x: np.ndarray) -> Any:
        opt.zero_grad()
        y = w * x
        loss = (ag.F.leaky_relu(y, 0.1).sum() + ag.F.elu(y).sum()
                + ag.F.huber_loss(y, np.zeros(4), delta=0.5)
                + (y * (y > 0)).sum() + y.clip(ag.tensor(-0.3), None).sum()
                + (y * y.argmax().astype(np.float64)).sum() + ag.where(y, y, 0.0).sum())
        loss.backward()
        opt.step()
        return loss, y.argmax(), ag.floor_divide(y, 0.3)

    rng = np.random.default_rng(0)
    for _ in range(6):  # signs flip from call to call: a frozen mask would be caught
        step(rng.standard_normal(4))
    assert step.traces == 1


def test_replayed_gradients_never_alias_as_in_eager() -> None:
    # add hands one gradient array to both inputs: the second .grad must be a copy
    a, b = (ag.tensor(np.ones(3), requires_grad=True) for _ in range(2))
    opt = ag.optim.SGD([a, b], lr=0.0)

    @ag.compile(check=True)
    def step(x: np.ndarray) -> Any:
        opt.zero_grad()
        (a + b + x).sum().backward()
        return a.grad, b.grad

    for _ in range(3):
        ga, gb = step(np.zeros(3))
        assert not np.shares_memory(ga.data, gb.data)
        ga.data += 1.0  # a .grad is the user's to modify
        assert np.array_equal(gb.data, np.ones(3))
