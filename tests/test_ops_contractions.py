"""What the generated op-table tests cannot see for contractions, linalg and layout:
einsum over many subscripts against NumPy and PyTorch, error messages, singular
matrices, slogdet's sign, and the PyTorch semantics of the Tensor methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite.ops import TABLE
from autograd_lite.ops import contractions as C
from autograd_lite.ops import layout as L
from autograd_lite.ops import linalg as LA

RNG = np.random.default_rng(0)


def method(name: str) -> Callable[..., Any]:
    """The Tensor method ``name`` as the op table defines it: ``impl(self, ...)``."""
    for entry in TABLE:
        for m in entry.methods:
            if m == name:
                return entry.function
            if isinstance(m, tuple) and m[0] == name:
                return m[1]
    raise KeyError(name)


def leaf(*shape: int) -> ag.Tensor:
    return ag.tensor(RNG.standard_normal(shape), requires_grad=True)


def torch_of(t: ag.Tensor) -> torch.Tensor:
    return torch.tensor(t.data, requires_grad=True)


# ---- einsum ---------------------------------------------------------------------------

EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba", [(2, 3)]),
    ("Ba", [(2, 3)]),
    ("aB,Ba", [(2, 3), (3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("i,i", [(4,), (4,)]),
    ("i,j", [(2,), (3,)]),
    ("ij->", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 5)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...,i...", [(3, 2), (3, 2)]),
    ("...", [(2, 3)]),
    ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 4), (2, 4, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("ab , bc -> ca", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUMS)
def test_einsum_values_match_numpy(subscripts: str, shapes: list) -> None:
    arrays = [RNG.standard_normal(s) for s in shapes]
    got = C.einsum(subscripts, *arrays)
    expected = np.einsum(subscripts, *arrays)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUMS)
def test_einsum_gradients_match_torch(subscripts: str, shapes: list) -> None:
    leaves = [leaf(*s) for s in shapes]
    out = C.einsum(subscripts, *leaves)
    u = RNG.standard_normal(out.shape)
    (out * u).sum().backward()
    t_leaves = [torch_of(t) for t in leaves]
    (torch.einsum(subscripts.replace(" ", ""), *t_leaves) * torch.tensor(u)).sum().backward()
    for t, tl in zip(leaves, t_leaves):
        np.testing.assert_allclose(t.grad.data, tl.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_einsum_second_derivative_of_a_repeated_index_matches_torch() -> None:
    a = leaf(3, 3)

    def first(x: Any) -> Any:
        return ag.grad(lambda y: (C.einsum("ii->i", y) ** 3).sum())(x)

    hessian_v = ag.grad(lambda x: (first(x) ** 2).sum())(a)
    ta = torch_of(a)
    (tg,) = torch.autograd.grad((torch.einsum("ii->i", ta) ** 3).sum(), ta, create_graph=True)
    (th,) = torch.autograd.grad((tg ** 2).sum(), ta)
    np.testing.assert_allclose(hessian_v.data, th.numpy(), rtol=1e-12)
    assert np.count_nonzero(th.numpy()) == 3  # the diagonal only


@pytest.mark.parametrize(("subscripts", "shapes", "message"), [
    ("ij,jk->ik", [(2, 3), (4, 5)], r"einsum: subscripts 'ij,jk->ik' for shapes \(2, 3\), "
                                    r"\(4, 5\): index 'j' has sizes 3 and 4"),
    ("ij,jk", [(2, 3)], "name 2 operand"),
    ("ijk", [(2, 3)], r"term 'ijk' names 3 axes but its operand has shape \(2, 3\)"),
    ("ij->k", [(2, 3)], "every output index must appear in an input"),
    ("ij->ii", [(2, 2)], "once in the output"),
    ("i1->i", [(2, 2)], r"invalid character\(s\) \['1'\]"),
    ("...i->i", [(2, 3)], "no '...' to hold them"),
])
def test_einsum_errors_name_the_function_subscripts_and_shapes(subscripts: str, shapes: list,
                                                                message: str) -> None:
    with pytest.raises(ValueError, match=message):
        C.einsum(subscripts, *[np.ones(s) for s in shapes])


def test_einsum_refuses_non_string_subscripts() -> None:
    with pytest.raises(TypeError, match="einsum: subscripts must be a string"):
        C.einsum([0, 1], np.ones(2))


def test_tensordot_and_dot_errors_name_shapes_and_axes() -> None:
    with pytest.raises(ValueError, match=r"tensordot: shapes \(3, 4\) and \(5, 2\) do not "
                                         r"align on axes \[1\] and \[0\] \(4 != 5\)"):
        C.tensordot(np.ones((3, 4)), np.ones((5, 2)), axes=1)
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3, 4\) and \(5, 2\) do not align"):
        C.dot(np.ones((2, 3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"inner: shapes \(2, 3\) and \(4,\)"):
        C.inner(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 are the same axis"):
        C.diagonal(np.ones((2, 3)), 0, 1, -1)


@pytest.mark.parametrize(("fn", "shapes", "kwargs"), [
    (C.tensordot, [(2, 3, 4), (4, 3)], {"axes": ([1, 2], [1, 0])}),
    (C.tensordot, [(2, 3), (3, 4)], {"axes": 1}),
    (C.dot, [(2, 3, 4), (5, 4, 2)], {}),
    (C.inner, [(2, 3), (4, 3)], {}),
    (C.outer, [(2, 2), (3,)], {}),
])
def test_contractions_match_numpy_values(fn: Callable, shapes: list, kwargs: dict) -> None:
    arrays = [RNG.standard_normal(s) for s in shapes]
    np_fn = getattr(np, fn.__name__)
    np.testing.assert_allclose(fn(*arrays, **kwargs).data, np_fn(*arrays, **kwargs),
                               rtol=1e-12)


# ---- linalg -----------------------------------------------------------------------------


def test_singular_inv_and_solve_name_the_op_and_shape() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match=r"inv: singular matrix \(input of shape "
                                                    r"\(2, 2\)\)"):
        LA.inv(singular)
    with pytest.raises(np.linalg.LinAlgError, match=r"solve: singular matrix .*\(2, 2\)"):
        LA.solve(singular, np.ones(2))
    with pytest.raises(ValueError, match=r"det: needs square matrices .* shape \(2, 3\)"):
        LA.det(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"solve: shapes \(2, 2\) and \(3,\) do not align"):
        LA.solve(np.eye(2), np.ones(3))


def test_slogdet_sign_is_unrecorded_and_logabsdet_has_inverse_transpose_gradient() -> None:
    a = ag.tensor([[0.0, 2.0], [1.0, 0.5]], requires_grad=True)  # det = -2
    sign, logabs = LA.slogdet(a)
    assert sign.item() == -1.0
    assert not sign.requires_grad
    np.testing.assert_allclose(logabs.item(), np.log(2.0))
    logabs.backward()
    np.testing.assert_allclose(a.grad.data, np.linalg.inv(a.data).T, rtol=1e-12)
    signs, _ = LA.slogdet(np.stack([np.eye(2), np.diag([-1.0, 1.0])]))
    np.testing.assert_array_equal(signs.data, [1.0, -1.0])


def test_norm_gradient_at_zero_is_zero_as_torch() -> None:
    x = ag.tensor(np.zeros(3), requires_grad=True)
    LA.norm(x).backward()
    tx = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.linalg.norm(tx).backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ord": "fro", "axis": 0}, "ord='fro' is a matrix norm"),
    ({"ord": 2, "axis": (0, 1)}, "matrix ord=2 is not supported"),
    ({"ord": 0, "axis": 1}, "vector ord=0 is not supported"),
    ({"ord": 1}, r"ord=1 with axis=None needs a 1-D or 2-D tensor, got shape \(2, 3, 4\)"),
])
def test_norm_unsupported_orders_say_so(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"norm: {message}"):
        LA.norm(np.ones((2, 3, 4)), **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"p": "fro", "dim": (0, 1)}, {"p": 1, "dim": 1},
                                    {"p": 2, "dim": 0, "keepdim": True}, {"p": float("inf")},
                                    {"p": 3}])
def test_norm_method_follows_torch(kwargs: dict) -> None:
    x = leaf(3, 4)
    out = method("norm")(x, **kwargs)
    tx = torch_of(x)
    t_out = tx.norm(**kwargs)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


def test_norm_method_takes_numpy_spellings_but_not_both() -> None:
    x = leaf(3, 4)
    np.testing.assert_allclose(method("norm")(x, ord=1, axis=0).data,
                               np.linalg.norm(x.data, 1, axis=0))
    with pytest.raises(TypeError, match="norm: got both axis= and dim="):
        method("norm")(x, dim=0, axis=0)


def test_linalg_namespace_exports_the_functions() -> None:
    import autograd_lite.linalg as agl

    assert (agl.norm, agl.inv, agl.det, agl.slogdet, agl.solve) == \
        (LA.norm, LA.inv, LA.det, LA.slogdet, LA.solve)
    assert {e.name for e in TABLE if e.namespace == "linalg"} == set(agl.__all__)


# ---- layout: PyTorch method semantics -----------------------------------------------------


def test_repeat_method_tiles_like_torch_while_ag_repeat_repeats_elements() -> None:
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(method("repeat")(x, 2, 1).data,
                                  torch.tensor(x.data).repeat(2, 1).numpy())
    np.testing.assert_array_equal(method("repeat")(x, (1, 2, 2)).data,
                                  torch.tensor(x.data).repeat(1, 2, 2).numpy())
    np.testing.assert_array_equal(L.repeat(x, 2, axis=0).data, np.repeat(x.data, 2, axis=0))
    with pytest.raises(ValueError, match="repeat: 1 repeat counts for a tensor of shape"):
        method("repeat")(x, 2)


def test_expand_keeps_sizes_given_as_minus_one_and_adds_leading_axes() -> None:
    x = leaf(3, 1)
    out = method("expand")(x, 2, -1, 4)
    assert out.shape == (2, 3, 4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((3, 1), 8.0))
    assert method("expand")(x, (-1, 5)).shape == (3, 5)
    with pytest.raises(ValueError, match="expand: -1 is not allowed for the new leading"):
        method("expand")(x, -1, 3, 1)


def test_squeeze_method_ignores_non_unit_dims_like_torch_but_ag_squeeze_refuses() -> None:
    x = leaf(2, 1, 3)
    for dim in (0, 2, (0, 2)):
        assert method("squeeze")(x, dim).shape == tuple(torch.zeros(2, 1, 3).squeeze(dim).shape)
    assert method("squeeze")(x, 1).shape == (2, 3)
    assert method("squeeze")(x).shape == (2, 3)
    assert method("squeeze")(x, axis=-2).shape == (2, 3)
    with pytest.raises(ValueError, match=r"squeeze: axis 0 has size 2, not 1"):
        L.squeeze(x, 0)


def test_unsqueeze_flip_roll_take_numpy_spellings_too() -> None:
    x = leaf(2, 3)
    t = torch.tensor(x.data)
    assert method("unsqueeze")(x, 1).shape == (2, 1, 3)
    assert method("unsqueeze")(x, axis=-1).shape == (2, 3, 1)
    with pytest.raises(TypeError, match="unsqueeze: got both dim= and axis="):
        method("unsqueeze")(x, 0, axis=0)
    for args in ((0,), (0, 1), ((0, 1),)):
        np.testing.assert_array_equal(method("flip")(x, *args).data, t.flip(*args).numpy())
    np.testing.assert_array_equal(method("flip")(x, axis=1).data, np.flip(x.data, 1))
    np.testing.assert_array_equal(method("roll")(x, 1).data, t.roll(1).numpy())
    np.testing.assert_array_equal(method("roll")(x, (1, -1), (0, 1)).data,
                                  t.roll((1, -1), (0, 1)).numpy())
    np.testing.assert_array_equal(method("roll")(x, shift=2, axis=1).data,
                                  np.roll(x.data, 2, axis=1))
    np.testing.assert_array_equal(method("swapaxes")(x, 0, 1).data, x.data.T)


def test_diagonal_and_triangle_methods_take_torch_keywords() -> None:
    x = leaf(3, 4, 5)
    t = torch.tensor(x.data)
    np.testing.assert_array_equal(method("diagonal")(x, 1, dim1=2, dim2=0).data,
                                  t.diagonal(1, dim1=2, dim2=0).numpy())
    np.testing.assert_array_equal(method("tril")(x, diagonal=-1).data, t.tril(-1).numpy())
    np.testing.assert_array_equal(method("triu")(x, k=2).data, np.triu(x.data, 2))
    with pytest.raises(TypeError, match="triu: got both diagonal= and k="):
        method("triu")(x, 1, k=1)


def test_take_gradient_adds_up_repeated_indices() -> None:
    x = leaf(4)
    L.take(x, [1, 1, 3, 1]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, 0.0, 1.0])
    with pytest.raises(IndexError, match=r"take: index 4 is out of bounds for axis 0 with "
                                         r"size 4"):
        L.take(x, [4])


def test_sort_routes_the_gradient_through_the_permutation() -> None:
    x = ag.tensor([3.0, 1.0, 2.0], requires_grad=True)
    out = L.sort(x)
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 3.0])
    (out * ag.tensor([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [30.0, 10.0, 20.0])


def test_pad_supports_constant_mode_only_and_checks_widths() -> None:
    with pytest.raises(ValueError, match="pad: only mode='constant' is supported, got "
                                         "mode='reflect'"):
        L.pad(np.ones(3), 1, mode="reflect")
    with pytest.raises(ValueError, match="pad: pad_width must be non-negative integers"):
        L.pad(np.ones(3), -1)
    with pytest.raises(ValueError, match=r"pad: pad_width .* does not fit a tensor of shape "
                                         r"\(2, 3\)"):
        L.pad(np.ones((2, 3)), ((1, 1), (1, 1), (1, 1)))


def test_layout_functions_match_numpy_values() -> None:
    a = RNG.standard_normal((2, 3, 4))
    checks = [
        (L.moveaxis(a, [0, 1], [-1, 0]), np.moveaxis(a, [0, 1], [-1, 0])),
        (L.expand_dims(a, (0, -1)), np.expand_dims(a, (0, -1))),
        (L.tile(a, (2, 1, 1, 2)), np.tile(a, (2, 1, 1, 2))),
        (L.rot90(a, 3, (2, 1)), np.rot90(a, 3, (2, 1))),
        (L.roll(a, (1, 2), (0, 0)), np.roll(a, (1, 2), (0, 0))),
        (L.repeat(a, [1, 0, 2], axis=1), np.repeat(a, [1, 0, 2], axis=1)),
        (L.take_along_axis(a, np.argsort(a, axis=1), 1), np.sort(a, axis=1)),
        (L.pad(a, ((0, 1), (2, 0), (1, 1)), constant_values=-3.0),
         np.pad(a, ((0, 1), (2, 0), (1, 1)), constant_values=-3.0)),
        (L.pad(a, 1, constant_values=((1, 2), (3, 4), (5, 6))),
         np.pad(a, 1, constant_values=((1, 2), (3, 4), (5, 6)))),
        (C.diag(a[0, 0], -1), np.diag(a[0, 0], -1)),
        (C.trace(a, 1, 2, 1), np.trace(a, 1, 2, 1)),
        (C.tril(a[0, 0]), np.tril(a[0, 0])),
    ]
    for got, expected in checks:
        np.testing.assert_array_equal(got.data, expected)


@pytest.mark.parametrize(("fn", "np_fn", "shape", "rest", "axis"), [
    (L.squeeze, np.squeeze, (2, 1, 1), (), 1),
    (L.expand_dims, np.expand_dims, (2, 3), (), 1),
    (L.repeat, np.repeat, (2, 3), (2,), 1),
    (L.roll, np.roll, (2, 3), (1,), 1),
    (L.flip, np.flip, (2, 3), (), 1),
    (L.sort, np.sort, (2, 3), (), 0),
    (L.take, np.take, (2, 3), ([0, 2],), 1),
    (L.take_along_axis, np.take_along_axis, (2, 3), (np.array([[1], [0]]),), 0),
    (LA.norm, np.linalg.norm, (2, 3), (), 1),
])
def test_functions_take_dim_for_axis_but_not_both(fn: Callable, np_fn: Callable, shape: tuple,
                                                  rest: tuple, axis: int) -> None:
    x = RNG.standard_normal(shape)
    np.testing.assert_array_equal(fn(x, *rest, dim=axis).data, np_fn(x, *rest, axis=axis))
    with pytest.raises(TypeError, match=f"{fn.__name__}: got both axis= and dim="):
        fn(x, *rest, axis=axis, dim=axis)


def test_norm_takes_keepdim_too() -> None:
    x = RNG.standard_normal((2, 3))
    assert LA.norm(x, dim=1, keepdim=True).shape == (2, 1)
    with pytest.raises(TypeError, match="norm: got both keepdims= and keepdim="):
        LA.norm(x, keepdims=True, keepdim=True)


def test_graph_hints_of_the_new_primitives() -> None:
    x = leaf(2, 2)
    kinds = {t.node.op.name: t.node.op.kind for t in (
        C.einsum("ij,jk", x, x), L.flip(x), L.roll(x, 1, 0), L.pad(x, 1), LA.norm(x))}
    assert kinds == {"einsum": "contraction", "flip": "shape", "roll": "shape", "pad": "shape",
                     "norm": "reduction"}
    assert all(t.node.op.rule for t in (LA.inv(x), LA.det(x), LA.solve(x, x)))


@pytest.mark.parametrize("matrix", [
    np.array([[1.0, 2.0], [2.0, 4.0]]),
    np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[0.3, -1.2], [0.7, 2.0]])]),
])
def test_det_is_differentiable_at_singular_matrices_as_torch(matrix: np.ndarray) -> None:
    # The VJP was det * inv(a)^T: the gradient of a singular matrix's det raised
    # "inv: singular matrix"; PyTorch gives the cofactor matrix (and second derivatives).
    direction = np.random.default_rng(4).standard_normal(matrix.shape)

    def det_sum(a: Any) -> Any:
        return ag.linalg.det(a).sum()

    grad = ag.grad(det_sum)(matrix)
    second = ag.grad(lambda a: (ag.grad(det_sum)(a) * direction).sum())(matrix)
    at = torch.tensor(matrix, requires_grad=True)
    (grad_t,) = torch.autograd.grad(torch.linalg.det(at).sum(), at, create_graph=True)
    (second_t,) = torch.autograd.grad((grad_t * torch.tensor(direction)).sum(), at)
    np.testing.assert_allclose(grad, grad_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(second, second_t.numpy(), rtol=0, atol=1e-12)


def test_stack_and_concatenate_primitives_take_negative_axes_in_backward() -> None:
    # The VJPs built `(slice(None),) * axis`, empty for axis < 0: a primitive called with
    # axis=-1 sent input i the slice i of axis 0 (the public functions normalise first).
    from autograd_lite.ops.shape import concatenate_op, stack_op

    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    weights = np.array([[10.0, 20.0], [30.0, 40.0]])
    (stack_op(a, b, axis=-1) * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [10.0, 30.0])
    np.testing.assert_array_equal(b.grad.data, [20.0, 40.0])
    x = ag.tensor(np.ones((2, 1)), requires_grad=True)
    y = ag.tensor(np.ones((2, 2)), requires_grad=True)
    (concatenate_op(x, y, axis=-1) * np.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0], [3.0]])
    np.testing.assert_array_equal(y.grad.data, [[1.0, 2.0], [4.0, 5.0]])
