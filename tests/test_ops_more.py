"""What the generated op-table tests cannot see for the op set of issue 8: prod's
derivatives at zeros, unrecorded results, softplus's threshold, split pieces, creation
dtypes, seeding, both axis spellings and the error messages.

Functions are reached through their modules (``ops.statistics.prod``) and methods and
operators through the table, which is what the generated Tensor surface is built from.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite.ops import TABLE, binary, creation, joining, statistics, unary

ENTRIES = {e.name: e for e in TABLE}


def method(t: ag.Tensor, name: str) -> Any:
    """``t.<name>`` as the table defines it (a plain name or a PyTorch-signature impl)."""
    for entry in TABLE:
        for m in entry.methods:
            if m == name:
                return lambda *a, **k: entry.function(t, *a, **k)
            if isinstance(m, tuple) and m[0] == name:
                return lambda *a, **k: m[1](t, *a, **k)
    raise LookupError(name)


def operator(name: str) -> Any:
    """The table's implementation of the dunder ``name``."""
    return next(impl for e in TABLE for dunder, impl in e.operators if dunder == name)


# ---- prod with zeros ------------------------------------------------------------------

ZERO_CASES = [
    [2.0, 0.0, 3.0, -1.5],  # one zero
    [0.0, 2.0, 0.0, 5.0],  # two zeros: first derivative zero, second not
    [0.0, 0.0, 3.0, 0.0],  # three zeros: first and second derivative zero
    [1.5, -2.0, 0.5, 3.0],  # none
]


@pytest.mark.parametrize("values", ZERO_CASES)
def test_prod_first_and_second_derivatives_match_torch_with_zeros(values: list) -> None:
    x = np.array(values)
    tx = torch.tensor(x, requires_grad=True)
    (t_grad,) = torch.autograd.grad(torch.prod(tx), tx)
    t_hess = torch.autograd.functional.hessian(torch.prod, torch.tensor(x))
    np.testing.assert_array_equal(ag.grad(statistics.prod)(x), t_grad.numpy())
    np.testing.assert_allclose(ag.hessian(statistics.prod)(x), t_hess.numpy(), rtol=0, atol=0)


def test_prod_derivatives_are_exact_at_zeros_by_hand() -> None:
    x = np.array([0.0, 2.0, 0.0, 5.0])
    assert ag.grad(statistics.prod)(x).tolist() == [0.0, 0.0, 0.0, 0.0]
    hess = ag.hessian(statistics.prod)(x)
    assert hess[0, 2] == hess[2, 0] == 10.0  # d2/dx0 dx2 of x0 x1 x2 x3 = x1 x3
    assert np.count_nonzero(hess) == 2


def test_prod_third_derivative_is_exact_with_zeros() -> None:
    x = np.array([0.0, 2.0, 0.0, 5.0])
    third = ag.jacobian(ag.hessian(statistics.prod))(x)
    # d3/dx0 dx2 dx1 = x3 and d3/dx0 dx2 dx3 = x1, in every order of differentiation
    assert third[0, 2, 1] == third[1, 2, 0] == 5.0
    assert third[2, 3, 0] == third[3, 0, 2] == 2.0
    assert np.count_nonzero(third) == 12  # the 6 orders of each of the two triples


def test_prod_along_an_axis_with_zeros_matches_torch_second_order() -> None:
    x = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0], [2.0, -1.0, 0.5]])
    w = np.array([0.3, -1.2, 0.7])

    def f(t: Any) -> Any:
        return (statistics.prod(t, axis=1) * w).sum()

    def tf(t: Any) -> Any:
        return (torch.prod(t, dim=1) * torch.tensor(w)).sum()

    t_hess = torch.autograd.functional.hessian(tf, torch.tensor(x))
    np.testing.assert_allclose(ag.hessian(f)(x), t_hess.numpy(), rtol=1e-15, atol=0)


# ---- results that are not recorded ----------------------------------------------------


def test_floor_divide_and_floordiv_operator_are_not_recorded() -> None:
    x = ag.tensor([3.5, -3.5, 7.0], requires_grad=True)
    for out in (binary.floor_divide(x, 2.0), operator("__floordiv__")(x, 2.0)):
        assert not out.requires_grad and out.node is None
        assert out.data.tolist() == [1.0, -2.0, 3.0]
    assert operator("__rfloordiv__")(x, 7.0).data.tolist() == [2.0, -2.0, 1.0]


def test_argmax_argmin_are_int64_and_not_recorded() -> None:
    x = ag.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    for out, expected in ((statistics.argmax(x, axis=1), [1, 0]),
                          (statistics.argmin(x, dim=0), [0, 1, 0]),
                          (method(x, "argmax")(), 3)):
        assert out.dtype == np.int64 and out.node is None and not out.requires_grad
        assert out.data.tolist() == expected
    assert method(x, "argmax")(dim=1, keepdim=True).shape == (2, 1)


def test_zero_gradient_functions_are_recorded_with_zero_gradients() -> None:
    for fn in (unary.sign, unary.floor, unary.ceil, unary.round, unary.trunc):
        x = ag.tensor([-1.7, 0.2, 2.5], requires_grad=True)
        y = fn(x)
        assert y.node is not None
        (y * x).sum().backward()  # d/dx (f(x) x) = f(x) where f' = 0
        np.testing.assert_array_equal(x.grad.data, y.data)


def test_round_halves_to_even_and_takes_decimals() -> None:
    assert unary.round([0.5, 1.5, 2.5, -0.5]).data.tolist() == [0.0, 2.0, 2.0, -0.0]
    assert unary.round(ag.tensor([1.234, 5.678]), decimals=1).data.tolist() == [1.2, 5.7]


# ---- elementwise values -----------------------------------------------------------------


def test_softplus_threshold_values_and_gradients_match_torch_without_overflow() -> None:
    values = np.array([-800.0, -30.0, 0.0, 19.9, 20.0, 20.1, 50.0, 800.0])
    x = ag.tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = unary.softplus(x)
        y.sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.nn.functional.softplus(tx)
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15, atol=0)
    # exp(x - out) is sigmoid(x) to within the rounding of out
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-13, atol=0)
    assert y.data[-3:].tolist() == [20.1, 50.0, 800.0]  # x itself above the threshold
    assert x.grad.data[-3:].tolist() == [1.0, 1.0, 1.0]


def test_log_bases_are_exact_at_powers() -> None:
    assert unary.log10([1000.0, 1e-3]).data.tolist() == [3.0, -3.0]
    assert unary.log2([8.0, 0.125]).data.tolist() == [3.0, -3.0]


def test_mod_operators_follow_python_signs() -> None:
    x = ag.tensor([5.5, -5.5], requires_grad=True)
    assert operator("__mod__")(x, 2.0).data.tolist() == [1.5, 0.5]
    assert operator("__rmod__")(x, 7.0).data.tolist() == [1.5, -4.0]
    assert binary.fmod(x, 2.0).data.tolist() == [1.5, -1.5]
    operator("__rmod__")(x, 7.0).sum().backward()  # d/dx (7 mod x) = -floor(7 / x)
    assert x.grad.data.tolist() == [-1.0, 2.0]


def test_logsumexp_is_stable() -> None:
    x = ag.tensor([1000.0, 1000.0], requires_grad=True)
    y = statistics.logsumexp(x)
    assert y.item() == 1000.0 + np.log(2.0)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5], rtol=1e-12)  # out rounds at 1e-13
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert statistics.logsumexp([-np.inf, -np.inf]).item() == -np.inf


# ---- splitting ------------------------------------------------------------------------


def test_split_pieces_and_their_gradients() -> None:
    x = ag.tensor(np.arange(24.0).reshape(6, 4), requires_grad=True)
    pieces = joining.split(x, 3)
    assert [p.shape for p in pieces] == [(2, 4)] * 3
    w = np.arange(8.0).reshape(2, 4)
    (pieces[1] * w).sum().backward()
    expected = np.zeros((6, 4))
    expected[2:4] = w
    np.testing.assert_array_equal(x.grad.data, expected)


def test_split_indices_array_split_and_the_pytorch_method() -> None:
    x = ag.tensor(np.arange(7.0))
    assert [p.data.tolist() for p in joining.split(x, [2, 5])] == [[0, 1], [2, 3, 4], [5, 6]]
    assert [p.shape for p in joining.array_split(x, 3)] == [(3,), (2,), (2,)]
    # t.split follows PyTorch: an int is a piece size, a list holds piece sizes
    assert [p.shape for p in method(x, "split")(3)] == [(3,), (3,), (1,)]
    assert [p.shape for p in method(x, "split")([1, 6], dim=0)] == [(1,), (6,)]
    m = np.zeros((2, 6))
    assert [p.shape for p in joining.split(m, 2, dim=1)] == [(2, 3), (2, 3)]
    with pytest.raises(TypeError, match="array_split: got both axis= and dim="):
        joining.array_split(m, 2, axis=1, dim=1)


def test_split_errors_name_the_function_and_shape() -> None:
    with pytest.raises(ValueError, match=r"split: axis 0 of length 5 \(shape \(5, 2\)\)"):
        joining.split(np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match=r"split: sizes \[1, 2\] add up to 3.*\(4,\)"):
        method(ag.tensor(np.zeros(4)), "split")([1, 2])


def test_stacking_helpers_shapes() -> None:
    a, b = np.ones(3), np.zeros(3)
    assert joining.vstack([a, b]).shape == (2, 3)
    assert joining.hstack([a, b]).shape == (6,)
    assert joining.dstack([a, b]).shape == (1, 3, 2)
    assert joining.column_stack([a, np.zeros((3, 2))]).shape == (3, 3)
    assert [t.shape for t in joining.atleast_3d(1.0, a, np.ones((2, 3)))] == [
        (1, 1, 1), (1, 3, 1), (2, 3, 1)]
    assert joining.cat([a, b], axis=0).shape == joining.cat([a, b], dim=0).shape == (6,)


# ---- creation -------------------------------------------------------------------------


def test_creation_shapes_and_dtypes() -> None:
    assert creation.zeros(2, 3).shape == creation.zeros((2, 3)).shape == (2, 3)
    assert creation.ones(2, dtype=np.float32).dtype == np.float32
    assert creation.arange(4).data.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert creation.arange(4).dtype == np.float64
    assert creation.arange(1, 2, 0.25).data.tolist() == [1.0, 1.25, 1.5, 1.75]
    assert creation.arange(3, dtype=np.int64).dtype == np.int64
    assert creation.linspace(0, 1, 5).data.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert creation.full((2, 2), 7).dtype == np.float64
    assert creation.full(3, 7).data.tolist() == [7.0, 7.0, 7.0]
    np.testing.assert_array_equal(creation.eye(2, 3, k=1).data, np.eye(2, 3, k=1))
    f32 = ag.tensor([1.0, 2.0], dtype=np.float32)
    assert creation.zeros_like(f32).dtype == np.float32
    assert creation.ones_like(np.array([1, 2])).dtype == np.float64  # ints become float64
    assert creation.full_like(f32, 3.0, dtype=np.float64).data.tolist() == [3.0, 3.0]
    leaf = creation.rand(2, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    with pytest.raises(TypeError, match="floating dtype"):
        creation.zeros(2, dtype=np.int64, requires_grad=True)


def test_manual_seed_makes_rand_and_randn_repeatable() -> None:
    ag.random.manual_seed(7)
    first = (creation.rand(2, 3).data, creation.randn((4,)).data)
    ag.random.manual_seed(7)
    second = (creation.rand((2, 3)).data, creation.randn(4).data)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert ((first[0] >= 0) & (first[0] < 1)).all()
    np.testing.assert_array_equal(creation.randn(3, rng=np.random.default_rng(1)).data,
                                  np.random.default_rng(1).standard_normal(3))


# ---- both spellings, errors -------------------------------------------------------------

SPELLED = [
    (statistics.std, {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}),
    (statistics.prod, {"axis": (0, 1)}, {"dim": (0, 1)}),
    (statistics.logsumexp, {"axis": -1, "keepdims": True}, {"dim": -1, "keepdim": True}),
    (statistics.cumsum, {"axis": 0}, {"dim": 0}),
    (statistics.argmin, {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}),
]


@pytest.mark.parametrize(("fn", "numpy_kw", "torch_kw"), SPELLED,
                         ids=[f.__name__ for f, _, _ in SPELLED])
def test_dim_keepdim_spelling_equals_axis_keepdims(fn: Any, numpy_kw: dict,
                                                   torch_kw: dict) -> None:
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(fn(x, **numpy_kw).data, fn(x, **torch_kw).data)
    with pytest.raises(TypeError, match=f"{fn.__name__}: got both axis= and dim="):
        fn(x, axis=0, dim=0)


def test_std_ddof_spellings() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4))
    ddof1 = statistics.std(x, axis=0, ddof=1).data
    np.testing.assert_array_equal(statistics.std(x, axis=0, unbiased=True).data, ddof1)
    np.testing.assert_array_equal(statistics.std(x, axis=0, correction=1).data, ddof1)
    np.testing.assert_allclose(ddof1, np.std(x, axis=0, ddof=1), rtol=1e-15)
    with pytest.raises(TypeError, match="std: got ddof= and unbiased="):
        statistics.std(x, ddof=1, unbiased=True)


def test_errors_name_the_function_and_the_shapes() -> None:
    a = ag.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"mod: shapes \(3,\) and \(4,\) cannot be broadcast"):
        binary.mod(a, np.ones(4))
    with pytest.raises(ValueError, match=r"floor_divide: shapes \(3,\) and \(2,\)"):
        binary.floor_divide(a, np.ones(2))
    with pytest.raises(ValueError, match=r"cat: cannot join tensors of shapes \(2, 3\), \(4, 2\)"):
        joining.cat([np.ones((2, 3)), np.ones((4, 2))])
    with pytest.raises(ValueError, match=r"cumsum: axis 2 is out of range .* shape \(3, 4\)"):
        statistics.cumsum(np.ones((3, 4)), axis=2)
    with pytest.raises(TypeError, match="argmax: axis must be an int or None"):
        statistics.argmax(np.ones((3, 4)), axis=(0, 1))
    with pytest.raises(ValueError, match=r"argmin: empty tensor of shape \(0,\)"):
        statistics.argmin(np.ones(0))


def test_cumsum_without_axis_flattens_and_0d_acts_as_1d() -> None:
    out = statistics.cumsum(np.arange(6.0).reshape(2, 3))
    assert out.data.tolist() == [0.0, 1.0, 3.0, 6.0, 10.0, 15.0]
    assert statistics.cumsum(2.0, axis=-1).data.tolist() == [2.0]  # as np.cumsum
    assert statistics.argmax(2.0, axis=0).data.tolist() == 0


def test_empty_reductions() -> None:
    x = ag.tensor(np.ones((0, 3)), requires_grad=True)
    y = statistics.prod(x, axis=0)  # the empty product is 1; its gradient has no elements
    assert y.data.tolist() == [1.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    assert statistics.logsumexp(x, axis=0).data.tolist() == [-np.inf] * 3


@pytest.mark.parametrize("bounds", ["min", "max", "both", "crossed"])
def test_clamp_with_tensor_bounds_matches_torch_and_sends_gradient_to_the_bounds(
        bounds: str) -> None:
    # x.clamp(min=<Tensor>) recursed forever: np.clip dispatched back to ag.clip.
    rng = np.random.default_rng(7)
    xn = rng.standard_normal((2, 3))
    lon = np.array([-0.5, 0.1, xn[0, 2]])  # a tie with x: the gradient stays with x
    hin = np.array([-0.7, 0.3, 0.3]) if bounds == "crossed" else np.array([0.9, 0.3, 1.5])
    names = {"min": ["min"], "max": ["max"], "both": ["min", "max"], "crossed": ["min", "max"]}
    ours = {"min": ag.tensor(lon, requires_grad=True), "max": ag.tensor(hin, requires_grad=True)}
    theirs = {"min": torch.tensor(lon, requires_grad=True),
              "max": torch.tensor(hin, requires_grad=True)}
    x, xt = ag.tensor(xn, requires_grad=True), torch.tensor(xn, requires_grad=True)
    y = x.clamp(**{k: ours[k] for k in names[bounds]})
    yt = xt.clamp(**{k: theirs[k] for k in names[bounds]})
    w = rng.standard_normal((2, 3))
    (y * w).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=0, atol=1e-15)
    for k in names[bounds]:
        np.testing.assert_allclose(ours[k].grad.data, theirs[k].grad.numpy(), rtol=0, atol=1e-15)
    assert isinstance(np.clip(x, ours["min"], None), ag.Tensor)


@pytest.mark.parametrize(("values", "kwargs", "torch_kwargs"), [
    (np.ones(3), {}, {"unbiased": False}),
    (np.ones((2, 3)), {"dim": 1, "unbiased": True}, {"dim": 1}),
    (np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]), {"dim": 1}, {"dim": 1, "unbiased": False}),
    (np.array(2.0), {}, {"unbiased": False}),
])
def test_std_of_equal_values_has_zero_gradient_of_every_order_as_torch(
        values: np.ndarray, kwargs: dict, torch_kwargs: dict) -> None:
    # std was sqrt(var): 0 * (1 / 0) = NaN gradients for a constant row, which poison a
    # `(x - x.mean()) / (x.std() + eps)` normalisation; PyTorch gives 0.
    weights = np.arange(1.0, 1.0 + np.std(values, axis=kwargs.get("dim")).size)
    direction = np.arange(values.size, dtype=float).reshape(values.shape)

    def ours(v: Any) -> Any:
        out = v.std(**kwargs)
        return (out * weights.reshape(out.shape)).sum()

    grad = ag.grad(ours)(values)
    second = ag.grad(lambda u: (ag.grad(ours)(u) * direction).sum())(values)
    xt = torch.tensor(values, requires_grad=True)
    out_t = xt.std(**torch_kwargs)
    (grad_t,) = torch.autograd.grad((out_t * torch.tensor(weights).reshape(out_t.shape)).sum(),
                                    xt, create_graph=True)
    (second_t,) = torch.autograd.grad((grad_t * torch.tensor(direction)).sum(), xt)
    np.testing.assert_allclose(grad, grad_t.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(second, second_t.numpy(), rtol=0, atol=1e-14)


def test_var_and_std_with_no_degrees_of_freedom_give_nan_not_zero_division() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x, kwargs in [(np.ones((1, 3)), {"dim": 0, "unbiased": True}),
                          (np.zeros((0, 3)), {"dim": 0})]:
            for name in ("var", "std"):
                t = ag.tensor(x, requires_grad=True)
                out = getattr(t, name)(**kwargs)
                out.sum().backward()
                assert np.isnan(out.data).all() and t.grad.shape == x.shape
                assert np.isnan(t.grad.data).all()


def test_arctan2_gradient_at_the_origin_is_zero_as_torch() -> None:
    # (g / (a*a + b*b)) * b was 0 / 0 = NaN at a = b = 0; torch.atan2 gives 0 there.
    a_values, b_values = np.array([0.0, 1.0, 0.0, -2.0]), np.array([0.0, 0.0, 3.0, 0.5])
    a, b = ag.tensor(a_values, requires_grad=True), ag.tensor(b_values, requires_grad=True)
    at = torch.tensor(a_values, requires_grad=True)
    bt = torch.tensor(b_values, requires_grad=True)
    (ag.arctan2(a, b) * np.arange(1.0, 5.0)).sum().backward()
    (torch.atan2(at, bt) * torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(a.grad.data, at.grad.numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(b.grad.data, bt.grad.numpy(), rtol=0, atol=1e-15)
    second = ag.grad(lambda u: ag.grad(lambda v: ag.arctan2(v, b_values).sum())(u).sum())(
        a_values)
    assert np.isfinite(second).all()
