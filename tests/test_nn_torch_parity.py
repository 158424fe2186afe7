"""The nn additions against PyTorch in float64: every layer, activation and loss, their
values and the gradients of every input and parameter, second order for the new
primitives, and the state-dict layout (keys, buffers) PyTorch uses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = dict(rtol=1e-9, atol=1e-11)


def _close(ours, theirs, what: str) -> None:
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), err_msg=what, **TOL)


def compare_functions(ours: Callable, theirs: Callable, arrays: list[np.ndarray],
                      seed: int = 0) -> None:
    """Values and the gradient of every input for ``sum(out * cotangent)``."""
    mine = [ag.Tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref_out = ours(*mine), theirs(*ref)
    _close(out.data, ref_out, "values")
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    (out * cotangent).sum().backward()
    (ref_out * torch.tensor(cotangent)).sum().backward()
    for i, (a, b) in enumerate(zip(mine, ref)):
        _close(a.grad.data, b.grad, f"gradient of input {i}")


def compare_modules(ours: nn.Module, theirs, x: np.ndarray, seed: int = 0) -> None:
    """Load ``ours``'s state into ``theirs``; compare outputs and the gradients of the
    input and of every parameter (same names in both)."""
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    mine = ag.Tensor(x, requires_grad=True)
    compare_outputs_and_grads(ours(mine), theirs(xt), mine, xt, ours, theirs, seed)


def compare_outputs_and_grads(out, ref_out, mine, xt, ours, theirs, seed) -> None:
    _close(out.data, ref_out, "values")
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    (out * cotangent).sum().backward()
    (ref_out * torch.tensor(cotangent)).sum().backward()
    _close(mine.grad.data, xt.grad, "gradient of the input")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad.data, theirs_params[name].grad, f"gradient of {name}")


def rng_array(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---- linear ------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_with_second_derivatives(x_shape, bias) -> None:
    arrays = [rng_array(*x_shape), rng_array(2, 3, seed=2)] + ([rng_array(2, seed=3)]
                                                                if bias else [])
    compare_functions(F.linear, TF.linear, arrays)

    def second(tensor, grad_fn, linear):
        inputs = [tensor(a, requires_grad=True) for a in arrays]
        grads = grad_fn((linear(*inputs).tanh() ** 2).sum(), inputs)
        sum((g ** 3).sum() for g in grads).backward()
        return inputs

    mine = second(ag.Tensor, lambda y, xs: ag.engine.grad_of([y], xs, create_graph=True),
                  F.linear)
    ref = second(lambda a, requires_grad: torch.tensor(a, requires_grad=True),
                 lambda y, xs: torch.autograd.grad(y, xs, create_graph=True), TF.linear)
    for i, (a, b) in enumerate(zip(mine, ref)):
        _close(a.grad.data, b.grad, f"second-order gradient of input {i}")


def test_linear_skips_constants_keeps_float32_and_leaves_its_inputs_alone() -> None:
    x = rng_array(4, 3).astype(np.float32)
    w = ag.Tensor(rng_array(2, 3, seed=2).astype(np.float32), requires_grad=True)
    b = ag.Tensor(np.zeros(2, np.float32), requires_grad=True)
    y = F.linear(x, w, b)  # x a constant array: no gradient computed for it
    assert y.dtype == np.float32 and not np.shares_memory(y.data, b.data)
    y.sum().backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [4.0, 4.0])
    np.testing.assert_allclose(w.grad.data, np.tile(x.sum(axis=0), (2, 1)), rtol=1e-6)
    assert np.array_equal(b.data, np.zeros(2, np.float32))  # the bias was not added into
    # A float64 bias promotes the result as + does, rather than being cast down.
    assert F.linear(x, w, np.ones(2)).dtype == np.float64


@pytest.mark.parametrize(("x_shape", "w_shape", "b_shape", "message"), [
    ((4, 3), (2, 4), None, r"linear: input of shape \(4, 3\) and weight of shape \(2, 4\)"),
    ((4, 3), (3,), None, r"weight of shape \(3,\) do not align"),
    ((4, 3), (2, 3), (3,), r"linear: bias of shape \(3,\) does not match weight of shape "
                           r"\(2, 3\); it must be \(2,\)"),
])
def test_linear_names_the_shapes_that_do_not_fit(x_shape, w_shape, b_shape, message) -> None:
    bias = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=message):
        F.linear(np.ones(x_shape), np.ones(w_shape), bias)


# ---- convolution and pooling -----------------------------------------------------------


@pytest.mark.parametrize(("kernel", "stride", "padding"), [
    (3, 1, 0), (3, 1, 1), ((3, 2), (2, 1), (1, 0)), (2, 2, 0), (1, 1, 0), (5, 3, 2),
])
def test_conv2d_module_matches_torch(kernel, stride, padding) -> None:
    ours = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=np.random.default_rng(0))
    theirs = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dtype=torch.float64)
    compare_modules(ours, theirs, rng_array(2, 3, 9, 8))


def test_conv2d_without_bias_and_functional_form() -> None:
    ours = nn.Conv2d(2, 3, 2, bias=False, rng=np.random.default_rng(0))
    assert [n for n, _ in ours.named_parameters()] == ["weight"]
    compare_functions(lambda x, w: F.conv2d(x, w, stride=2, padding=1),
                      lambda x, w: TF.conv2d(x, w, stride=2, padding=1),
                      [rng_array(2, 2, 5, 5), rng_array(3, 2, 2, 2, seed=2)])


def test_conv2d_default_init_has_torchs_bounds() -> None:
    conv = nn.Conv2d(4, 8, 3, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(4 * 9)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.8 * bound


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    (lambda x: F.max_pool2d(x, (2, 3), (1, 2)), lambda x: TF.max_pool2d(x, (2, 3), (1, 2))),
    (lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2)),
    (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1)),
], ids=["max 2", "max 3/2/1", "max rect", "avg 2", "avg 3/2/1"])
def test_pools_match_torch(ours, theirs) -> None:
    compare_functions(ours, theirs, [rng_array(2, 3, 7, 6)])


def test_max_pool_gives_the_gradient_to_the_first_maximum_of_ties() -> None:
    x = np.round(rng_array(2, 2, 6, 6)) * 0 + np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    compare_functions(lambda t: F.max_pool2d(t, 2, 1), lambda t: TF.max_pool2d(t, 2, 1), [x])
    grad = ag.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(grad, 2).sum().backward()
    assert grad.grad.data.ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_pool_modules_and_bad_shapes() -> None:
    x = rng_array(1, 2, 4, 4)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, TF.max_pool2d(torch.tensor(x), 2))
    np.testing.assert_allclose(nn.AvgPool2d(2, 1)(x).data,
                               TF.avg_pool2d(torch.tensor(x), 2, 1).numpy(), **TOL)
    with pytest.raises(ValueError, match=r"max_pool2d: expected an input of shape \(N, C, H, W\)"):
        F.max_pool2d(rng_array(4, 4), 2)
    with pytest.raises(ValueError, match="padding .* at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"Conv2d 'conv2d' \(in_channels=3\): input of shape"):
        nn.Conv2d(3, 1, 2)(x)
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) .* does not fit .* \(4, 4\)"):
        F.conv2d(x, ag.Tensor(rng_array(1, 2, 5, 5)))


def test_conv_and_pool_second_derivatives_match_torch() -> None:
    x, w = rng_array(1, 2, 5, 5), rng_array(3, 2, 3, 3, seed=2)

    def second(conv, pool, tensor, grad_fn, inputs):
        a, b = (tensor(v, requires_grad=True) for v in inputs)
        y = (pool(conv(a, b)).tanh() ** 2).sum()
        ga, gb = grad_fn(y, [a, b])
        return (ga ** 3).sum() + (gb * gb).sum(), a, b

    def ag_grad(y, xs):
        return ag.engine.grad_of([y], xs, create_graph=True)

    def torch_grad(y, xs):
        return torch.autograd.grad(y, xs, create_graph=True)

    for pool, tpool in ((lambda t: F.max_pool2d(t, 2, 1), lambda t: TF.max_pool2d(t, 2, 1)),
                        (lambda t: F.avg_pool2d(t, 2), lambda t: TF.avg_pool2d(t, 2))):
        z, a, b = second(lambda p, q: F.conv2d(p, q, padding=1), pool, ag.Tensor, ag_grad,
                         (x, w))
        tz, ta, tb = second(lambda p, q: TF.conv2d(p, q, padding=1), tpool,
                            lambda v, requires_grad: torch.tensor(v, requires_grad=True),
                            torch_grad, (x, w))
        z.backward()
        tz.backward()
        np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_flatten_and_unflatten() -> None:
    x = rng_array(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == torch.nn.Flatten(2)(torch.tensor(x)).shape
    assert nn.Unflatten(1, (1, 8, 8))(rng_array(3, 64)).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match=r"Unflatten: axis 1 .* cannot become \(1, 8, 8\)"):
        nn.Unflatten(1, (1, 8, 8))(rng_array(3, 60))


# ---- embedding, one_hot ------------------------------------------------------------------


def test_embedding_matches_torch_and_repeated_indices_add_up() -> None:
    ours = nn.Embedding(7, 3, rng=np.random.default_rng(0))
    theirs = torch.nn.Embedding(7, 3, dtype=torch.float64)
    theirs.load_state_dict({"weight": torch.tensor(ours.weight.data)})
    idx = np.array([[1, 4, 1], [6, 1, 0]])
    for index in (idx, ag.Tensor(idx, dtype=np.int64)):
        ours.zero_grad()
        theirs.zero_grad()
        out, ref = ours(index), theirs(torch.tensor(idx))
        _close(out.data, ref, "embedding values")
        cot = rng_array(2, 3, 3)
        (out * cot).sum().backward()
        (ref * torch.tensor(cot)).sum().backward()
        _close(ours.weight.grad.data, theirs.weight.grad, "embedding gradient")
    assert ours.weight.grad.data[1].tolist() == pytest.approx(cot[0, 0] + cot[0, 2] + cot[1, 1])


@pytest.mark.parametrize(("index", "error", "message"), [
    (np.array([0.0, 1.0]), TypeError, "embedding: indices must be integers"),
    (np.array([0, 7]), IndexError, "index 7 is out of range for 7 embeddings"),
    (np.array([-1, 2]), IndexError, "index -1 is out of range"),
])
def test_embedding_refuses_bad_indices(index, error, message) -> None:
    with pytest.raises(error, match=message):
        nn.Embedding(7, 2)(index)


def test_one_hot_is_int64_as_torch() -> None:
    labels = np.array([[0, 3], [2, 2]])
    ours = F.one_hot(ag.Tensor(labels, dtype=np.int64))
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.data, TF.one_hot(torch.tensor(labels)).numpy())
    assert F.one_hot(labels, num_classes=6).shape == (2, 2, 6)
    with pytest.raises(ValueError, match="class value 3 is out of range for num_classes=3"):
        F.one_hot(labels, 3)
    with pytest.raises(TypeError, match="one_hot: indices must be integers"):
        F.one_hot(labels.astype(float))


# ---- normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [5, (4, 5)])
def test_layer_norm_matches_torch(shape) -> None:
    ours = nn.LayerNorm(shape)
    theirs = torch.nn.LayerNorm(shape, dtype=torch.float64)
    ours.weight.data = rng_array(*np.atleast_1d(shape), seed=3)
    ours.bias.data = rng_array(*np.atleast_1d(shape), seed=4)
    compare_modules(ours, theirs, rng_array(3, 4, 5))


@pytest.mark.parametrize(("ours_cls", "theirs_cls", "shape"), [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3, 4)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 2)),
])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_train_and_eval_match_torch(ours_cls, theirs_cls, shape, momentum) -> None:
    ours = ours_cls(3, momentum=momentum)
    theirs = theirs_cls(3, momentum=momentum, dtype=torch.float64)
    ours.weight.data, ours.bias.data = rng_array(3, seed=5), rng_array(3, seed=6)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    for step in range(3):  # training: batch statistics, running statistics updated
        ours.zero_grad()
        theirs.zero_grad()
        x = rng_array(*shape, seed=10 + step) * 2 + 1
        xt = torch.tensor(x, requires_grad=True)
        mine = ag.Tensor(x, requires_grad=True)
        compare_outputs_and_grads(ours(mine), theirs(xt), mine, xt, ours, theirs, step)
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(state[key], value.numpy(), **TOL)
    assert state["num_batches_tracked"].dtype == np.int64 and state["num_batches_tracked"] == 3
    ours.eval()
    theirs.eval()
    x = rng_array(*shape, seed=20)
    xt = torch.tensor(x, requires_grad=True)
    mine = ag.Tensor(x, requires_grad=True)
    ours.zero_grad()
    theirs.zero_grad()
    compare_outputs_and_grads(ours(mine), theirs(xt), mine, xt, ours, theirs, 7)


def test_batch_norm_state_round_trip_and_bad_input() -> None:
    a, b = nn.BatchNorm2d(2), nn.BatchNorm2d(2)
    a(rng_array(3, 2, 2, 2))
    b.load_state_dict(a.state_dict())
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value)
    assert [n for n, _ in a.named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match=r"BatchNorm2d 'batchnorm2d' \(num_features=2\)"):
        a(rng_array(3, 3, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(2)(rng_array(1, 2))


# ---- activations -------------------------------------------------------------------------

ACTIVATIONS = {
    "gelu": (nn.GELU(), torch.nn.GELU()),
    "gelu tanh": (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    "silu": (nn.SiLU(), torch.nn.SiLU()),
    "softplus": (nn.Softplus(), torch.nn.Softplus()),
    "softplus beta": (nn.Softplus(beta=2.0, threshold=3.0),
                      torch.nn.Softplus(beta=2.0, threshold=3.0)),
    "elu": (nn.ELU(), torch.nn.ELU()),
    "elu alpha": (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    "leaky relu": (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
}
# Kinks and thresholds exactly, large values both ways, and ordinary ones.
POINTS = np.concatenate([[0.0, -0.0, 1.5, -1.5, 30.0, -30.0, 800.0, -800.0],
                         rng_array(24) * 3])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_torch_with_second_derivatives(name) -> None:
    ours, theirs = ACTIVATIONS[name]
    compare_functions(ours, theirs, [POINTS])
    # Second order away from the kinks: exactly at them PyTorch's hand-written double
    # backward does not differentiate its own first-order rule (ELU at 0 gives 0, softplus
    # at the threshold gives 0), while ours is the derivative of the first-order rule.
    smooth = POINTS[8:]
    x = ag.Tensor(smooth, requires_grad=True)
    (g,) = ag.engine.grad_of([ours(x).sum()], [x], create_graph=True)
    if g.requires_grad:  # else the gradient does not depend on x (leaky relu)
        (g * g).sum().backward()
    xt = torch.tensor(smooth, requires_grad=True)
    (gt,) = torch.autograd.grad(theirs(xt).sum(), [xt], create_graph=True)
    (gt * gt).sum().backward()
    second = x.grad.data if x.grad is not None else np.zeros_like(smooth)
    np.testing.assert_allclose(second, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_activation_reprs_and_dropout_draws_from_manual_seed() -> None:
    assert repr(nn.Softplus(beta=2.0)) == "Softplus(beta=2.0, threshold=20.0)"
    x = np.ones((50, 4))
    ag.random.manual_seed(3)
    first = nn.Dropout(0.5)(x).data
    ag.random.manual_seed(3)
    assert np.array_equal(F.dropout(x, 0.5).data, first)
    assert set(np.unique(first)) == {0.0, 2.0}
    assert np.array_equal(F.dropout(x, 0.5, training=False).data, x)
    ag.random.manual_seed(5)
    layer = nn.Linear(3, 2)
    ag.random.manual_seed(5)
    assert np.array_equal(nn.Linear(3, 2).weight.data, layer.weight.data)


# ---- losses ------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("ours", "theirs"), [
    (nn.MSELoss, torch.nn.MSELoss), (nn.L1Loss, torch.nn.L1Loss),
    (nn.HuberLoss, torch.nn.HuberLoss),
    (lambda reduction: nn.HuberLoss(reduction, delta=0.3),
     lambda reduction: torch.nn.HuberLoss(reduction, delta=0.3)),
], ids=["mse", "l1", "huber", "huber delta"])
def test_regression_losses_match_torch(ours, theirs, reduction) -> None:
    pred, target = rng_array(4, 3), rng_array(4, 3, seed=2)
    target[0, 0] = pred[0, 0]  # a zero difference: the kink of l1
    target[1, 1] = pred[1, 1] - 0.3  # exactly delta apart
    compare_functions(lambda p, t: ours(reduction=reduction)(p, t),
                      lambda p, t: theirs(reduction=reduction)(p, t), [pred, target])


def test_binary_losses_match_torch() -> None:
    probs = 1 / (1 + np.exp(-rng_array(5, 2)))
    target = np.random.default_rng(2).uniform(size=(5, 2))
    compare_functions(nn.BCELoss(), torch.nn.BCELoss(), [probs, target])
    compare_functions(nn.BCEWithLogitsLoss("sum"), torch.nn.BCEWithLogitsLoss(reduction="sum"),
                      [rng_array(5, 2), target])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [-100, 2])
def test_cross_entropy_options_match_torch(reduction, smoothing, ignore) -> None:
    labels = np.array([0, 2, 1, 2, 3])
    for logits_shape, target in (((5, 4), labels), ((5, 4, 2), np.stack([labels, labels[::-1]],
                                                                         axis=1))):
        compare_functions(
            lambda x, t=target: nn.CrossEntropyLoss(ignore, reduction, smoothing)(x, t),
            lambda x, t=target: torch.nn.CrossEntropyLoss(
                ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)(
                    x, torch.tensor(t)),
            [rng_array(*logits_shape)])
    probs = np.random.default_rng(3).dirichlet(np.ones(4), size=5)
    compare_functions(lambda x: F.cross_entropy(x, probs, reduction, label_smoothing=smoothing),
                      lambda x: TF.cross_entropy(x, torch.tensor(probs), reduction=reduction,
                                                 label_smoothing=smoothing),
                      [rng_array(5, 4)])


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_second_derivatives_match_torch(reduction) -> None:
    """Through logits of shape (N, C) and (N, C, d) and into probability targets."""
    labels = np.array([0, 2, 1, 2, 3])
    probs = np.random.default_rng(3).dirichlet(np.ones(4), size=5)
    cases = [((5, 4), labels, False), ((5, 4, 2), np.stack([labels, labels[::-1]], axis=1),
                                       False), ((5, 4), probs, True)]
    for shape, target, soft in cases:
        def second(tensor, grad_fn, loss_fn, shape=shape, target=target, soft=soft):
            x = tensor(rng_array(*shape), requires_grad=True)
            t = tensor(target, requires_grad=True) if soft else target
            inputs = [x, t] if soft else [x]
            grads = grad_fn((loss_fn(x, t) ** 2).sum(), inputs)
            sum((g ** 3).sum() for g in grads).backward()
            return inputs

        mine = second(ag.Tensor, lambda y, xs: ag.engine.grad_of([y], xs, create_graph=True),
                      lambda x, t: F.cross_entropy(x, t, reduction, label_smoothing=0.1))
        ref = second(lambda a, requires_grad: torch.tensor(a, requires_grad=requires_grad),
                     lambda y, xs: torch.autograd.grad(y, xs, create_graph=True),
                     lambda x, t, soft=soft: TF.cross_entropy(
                         x, t if soft else torch.tensor(t), reduction=reduction,
                         label_smoothing=0.1))
        for i, (a, b) in enumerate(zip(mine, ref)):
            _close(a.grad.data, b.grad, f"{shape}: second-order gradient of input {i}")


def test_cross_entropy_with_every_target_ignored_is_nan_as_torch() -> None:
    value = F.cross_entropy(rng_array(2, 3), np.array([-100, -100]))
    assert np.isnan(value.item())
    assert np.isnan(TF.cross_entropy(torch.tensor(rng_array(2, 3)),
                                     torch.tensor([-100, -100])).item())


def test_losses_run_in_a_named_scope() -> None:
    logits = ag.Tensor(rng_array(3, 4), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 1, 2]))
    assert loss.node.scope == "cross_entropy"
    inside = nn.MSELoss()(logits, np.zeros((3, 4)))
    assert inside.node.scope == "mseloss.mse_loss"


# ---- parameters, buffers, zero_grad, clipping ----------------------------------------------


class WithParameter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(np.ones(2))
        self.frozen = nn.Parameter(np.zeros(2), requires_grad=False)
        self.register_buffer("count", np.zeros(()))

    def forward(self, x):
        return x * self.scale + self.frozen


def test_parameter_registration_buffers_and_zero_grad() -> None:
    m = WithParameter()
    assert isinstance(m.scale, ag.Tensor) and m.scale.requires_grad
    assert [n for n, _ in m.named_parameters()] == ["scale", "frozen"]
    assert list(m.state_dict()) == ["scale", "frozen", "count"]
    assert [n for n, _ in m.named_buffers()] == ["count"]
    m(ag.tensor([1.0, 2.0])).sum().backward()
    m.zero_grad(set_to_none=False)
    assert m.scale.grad.data.tolist() == [0.0, 0.0]
    m.zero_grad()
    assert m.scale.grad is None
    m.count = np.ones(())
    assert m.state_dict()["count"] == 1.0


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm) -> None:
    grads = [rng_array(3, 2), rng_array(4, seed=2)]
    ours = [ag.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = ag.Tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, float) and total == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        _close(p.grad.data, q.grad, "clipped gradient")
    nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for p, q in zip(ours, theirs):
        _close(p.grad.data, q.grad, "value-clipped gradient")
