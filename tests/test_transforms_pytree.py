"""Pytree arguments, dtypes, argnums tuples, has_aux, JAX-style training with a dict of
parameters, and error messages that name the transform and the argument (issue 9)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
import torch
import torch.func as tf

import autograd_lite as ag
from autograd_lite import F, nn, optim
from autograd_lite.pytree import flatten, leaf_paths, tree_map, unflatten

Pair = namedtuple("Pair", ["first", "second"])


def structure(tree: Any) -> Any:
    """The tree with every leaf replaced by its (type name, shape, dtype)."""
    return tree_map(lambda a: (type(a).__name__, np.shape(a), np.asarray(a).dtype), tree)


# ---- pytree helpers ------------------------------------------------------------------------


def test_flatten_and_unflatten_round_trip_every_container() -> None:
    tree = {"a": [1, (2, 3)], "b": Pair(4, {"c": 5}), "d": ()}
    leaves, treedef = flatten(tree)
    assert leaves == [1, 2, 3, 4, 5]
    rebuilt = unflatten(treedef, leaves)
    assert rebuilt == tree and type(rebuilt["b"]) is Pair
    assert leaf_paths(tree) == ["['a'][0]", "['a'][1][0]", "['a'][1][1]", "['b'][0]",
                                "['b'][1]['c']"]
    with pytest.raises(ValueError, match="fewer leaves"):
        unflatten(treedef, leaves[:-1])
    with pytest.raises(ValueError, match="more leaves"):
        unflatten(treedef, leaves + [6])


# ---- structure and dtype of every gradient -----------------------------------------------

def mixed_params() -> dict:
    return {
        "w32": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32),
        "layers": [np.array([1.0, -2.0], dtype=np.float16), 1.5,
                   ag.tensor([0.3, 0.6, -0.9])],
        "ints": (np.array([1, 2, 3]),),
        "pair": Pair(np.float64(2.0), {"deep": np.array([[0.1], [0.2]])}),
    }


def mixed_loss(p: dict) -> ag.Tensor:
    h16, scale, t = p["layers"]
    total = (p["w32"] * p["w32"]).sum() + (h16 * 3.0).sum() + scale * scale * 2.0
    total = total + (t.tanh()).sum() + (p["ints"][0] ** 2).sum()
    return total + p["pair"].first ** 3 + (p["pair"].second["deep"] * 4.0).sum()


def test_gradient_has_the_structure_and_dtypes_of_the_argument() -> None:
    params = mixed_params()
    g = ag.grad(mixed_loss)(params)
    assert structure(g) == {
        "w32": ("ndarray", (2, 3), np.float32),
        "layers": [("ndarray", (2,), np.float16), ("ndarray", (), np.float64),
                   ("ndarray", (3,), np.float64)],
        "ints": (("ndarray", (3,), np.float64),),  # integers are differentiated as float64
        "pair": Pair(("ndarray", (), np.float64), {"deep": ("ndarray", (2, 1), np.float64)}),
    }
    assert type(g["pair"]) is Pair and type(g["layers"]) is list and type(g["ints"]) is tuple
    np.testing.assert_array_equal(g["w32"], 2 * params["w32"])
    np.testing.assert_array_equal(g["layers"][0], np.full(2, 3.0, dtype=np.float16))
    assert float(g["layers"][1]) == 6.0
    np.testing.assert_allclose(g["layers"][2], 1 - np.tanh([0.3, 0.6, -0.9]) ** 2, rtol=1e-15)
    np.testing.assert_array_equal(g["ints"][0], [2.0, 4.0, 6.0])
    assert float(g["pair"].first) == 12.0
    np.testing.assert_array_equal(g["pair"].second["deep"], [[4.0], [4.0]])


def test_the_callers_arrays_are_left_writeable_and_unchanged() -> None:
    params = mixed_params()
    ag.grad(mixed_loss)(params)
    assert params["w32"].flags.writeable
    np.testing.assert_array_equal(params["w32"], mixed_params()["w32"])


def test_dict_gradient_matches_torch_func() -> None:
    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4),
              "extra": [rng.standard_normal(4)]}
    X = rng.standard_normal((5, 3))

    def loss(p: dict, tanh: Any) -> Any:
        return (tanh(X_ @ p["W"] + p["b"]) * p["extra"][0]).sum()

    X_ = X
    g = ag.grad(lambda p: loss(p, ag.tanh))(params)
    X_ = torch.from_numpy(X)
    want = tf.grad(lambda p: loss(p, torch.tanh))(tree_map(torch.from_numpy, params))
    for (got_leaf, want_leaf) in zip(flatten(g)[0], flatten(want)[0]):
        np.testing.assert_allclose(got_leaf, want_leaf.numpy(), rtol=1e-12, atol=1e-14)


def test_argnums_tuple_of_pytrees() -> None:
    def f(a: dict, k: float, b: tuple) -> ag.Tensor:
        return (a["x"] * b[0]).sum() * k + b[1] ** 2

    a, b = {"x": np.array([1.0, 2.0])}, (np.array([3.0, 4.0]), 5.0)
    ga, gb = ag.grad(f, argnums=(0, 2))(a, 2.0, b)
    np.testing.assert_array_equal(ga["x"], [6.0, 8.0])
    np.testing.assert_array_equal(gb[0], [2.0, 4.0])
    assert float(gb[1]) == 10.0
    (gb_only,) = ag.grad(f, argnums=(2,))(a, 2.0, b)
    assert isinstance(gb_only, tuple) and len(gb_only) == 2
    assert ag.grad(f, argnums=-1)(a, 2.0, b)[1] == 10.0


def test_an_empty_container_has_an_empty_gradient() -> None:
    g = ag.grad(lambda p, x: (x * x).sum(), argnums=(0, 1))({}, np.ones(2))
    assert g[0] == {}
    np.testing.assert_array_equal(g[1], [2.0, 2.0])


def test_jacobian_of_pytree_output_and_input_matches_jacrev() -> None:
    def f(p: dict, tanh: Any) -> tuple:
        return (tanh(p["a"] * p["b"][0]), {"s": (p["a"] ** 2).sum() * p["b"][1]})

    p = {"a": np.array([0.2, -0.5, 0.9]), "b": [np.array([1.5, 0.5, -1.0]), np.array(2.0)]}
    jac = ag.jacobian(lambda q: f(q, ag.tanh))(p)
    want = tf.jacrev(lambda q: f(q, torch.tanh))(tree_map(torch.from_numpy, p))
    assert structure(jac) == structure(tree_map(lambda t: t.numpy(), want))
    for got_leaf, want_leaf in zip(flatten(jac)[0], flatten(want)[0]):
        np.testing.assert_allclose(got_leaf, want_leaf.numpy(), rtol=1e-12, atol=1e-14)


def test_hvp_and_jvp_with_pytrees_and_argnums() -> None:
    def f(p: dict, c: Any) -> ag.Tensor:
        return (p["u"] ** 3).sum() * c + (p["u"] * p["v"]).sum()

    p = {"u": np.array([1.0, 2.0]), "v": np.array([0.5, -1.0])}
    v = {"u": np.array([1.0, 0.0]), "v": np.array([0.0, 1.0])}
    hv = ag.hvp(f, (p, 2.0), v, argnums=0)
    # H = [[6 c diag(u), I], [I, 0]] with c = 2: H v = (12 u * vu + vv, vu).
    np.testing.assert_allclose(hv["u"], [12.0 * 1.0 + 0.0, 0.0 + 1.0], rtol=1e-15)
    np.testing.assert_allclose(hv["v"], [1.0, 0.0], rtol=1e-15)
    jv = ag.jvp(lambda q: q["u"] * q["v"], p, v)
    np.testing.assert_allclose(jv, [1.0 * 0.5 + 0.0, 0.0 + 2.0], rtol=1e-15)
    jv2 = ag.jvp(lambda a, b: a * b, (np.array([1.0, 2.0]), np.array([3.0, 4.0])),
                 (np.ones(2), np.zeros(2)), argnums=(0, 1))
    np.testing.assert_array_equal(jv2, [3.0, 4.0])


def test_float32_stays_float32_through_every_transform() -> None:
    x = np.array([0.5, -1.0], dtype=np.float32)
    v = np.array([1.0, 2.0], dtype=np.float32)

    def f(t: ag.Tensor) -> ag.Tensor:
        return (t.tanh() * t).sum()

    assert ag.grad(f)(x).dtype == np.float32
    assert ag.hessian(f)(x).dtype == np.float32
    assert ag.hvp(f, x, v).dtype == np.float32
    assert ag.jvp(lambda t: t * t, x, v).dtype == np.float32
    assert ag.jacobian(lambda t: t * t)(x).dtype == np.float32


# ---- has_aux ---------------------------------------------------------------------------------


def test_has_aux_returns_aux_unchanged() -> None:
    aux = {"note": "kept", "count": [1, 2]}

    def f(x: ag.Tensor) -> tuple:
        return (x * x).sum(), aux

    g, got_aux = ag.grad(f, has_aux=True)(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(g, [2.0, 6.0])
    assert got_aux is aux
    (value, got_aux), g = ag.value_and_grad(f, has_aux=True)(np.array([1.0, 3.0]))
    assert value == 10.0 and got_aux is aux
    np.testing.assert_array_equal(g, [2.0, 6.0])
    jac, got_aux = ag.jacobian(lambda x: (x * 2.0, aux), has_aux=True)(np.ones(2))
    np.testing.assert_array_equal(jac, 2 * np.eye(2))
    assert got_aux is aux


def test_has_aux_can_carry_intermediate_tensors() -> None:
    def f(x: ag.Tensor) -> tuple:
        h = x.tanh()
        return (h * h).sum(), h

    g, h = ag.grad(f, has_aux=True)(np.array([0.3, -0.2]))
    np.testing.assert_allclose(h.data, np.tanh([0.3, -0.2]), rtol=1e-15)
    np.testing.assert_allclose(g, 2 * np.tanh([0.3, -0.2]) * (1 - np.tanh([0.3, -0.2]) ** 2),
                               rtol=1e-14)


# ---- JAX-style training ----------------------------------------------------------------


def regression_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.uniform(-1.0, 1.0, (64, 2))
    return X, np.sin(2.0 * X[:, :1]) + X[:, 1:] ** 2


def test_dict_parameters_train_exactly_like_the_module_version() -> None:
    X, Y = regression_data()
    model = nn.MLP([2, 16, 1], activation="tanh", rng=np.random.default_rng(0))
    first, last = model.layers[0], model.layers[2]
    params = {"hidden": {"W": first.weight.data.copy(), "b": first.bias.data.copy()},
              "out": {"W": last.weight.data.copy(), "b": last.bias.data.copy()}}

    def loss_fn(p: dict, x: np.ndarray, y: np.ndarray) -> ag.Tensor:
        h = (x @ p["hidden"]["W"].T + p["hidden"]["b"]).tanh()
        return F.mse_loss(h @ p["out"]["W"].T + p["out"]["b"], y)

    step = ag.value_and_grad(loss_fn)
    opt = optim.SGD(model.parameters(), lr=0.2)
    dict_losses, module_losses = [], []
    for _ in range(150):
        loss, grads = step(params, X, Y)
        params = {layer: {k: params[layer][k] - 0.2 * grads[layer][k] for k in params[layer]}
                  for layer in params}
        dict_losses.append(loss)
        opt.zero_grad()
        module_loss = F.mse_loss(model(X), Y)
        module_loss.backward()
        opt.step()
        module_losses.append(module_loss.item())
    assert all(type(v) is float for v in dict_losses)
    np.testing.assert_allclose(dict_losses, module_losses, rtol=1e-10)
    assert dict_losses[-1] < dict_losses[0] / 5  # it learns
    np.testing.assert_allclose(params["hidden"]["W"], first.weight.data, rtol=1e-9, atol=1e-12)


# ---- errors name the transform and the argument -------------------------------------------


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (lambda: ag.hessian(lambda x: x * 2.0)(np.ones(3)), TypeError,
     r"^hessian: f must return a scalar.*shape \(3,\)"),
    (lambda: ag.grad(lambda x: x * 2.0)(np.ones(3)), TypeError, r"^grad: f must return a scalar"),
    (lambda: ag.value_and_grad(lambda x, params: params["w"].sum(), argnums=1)(
        1.0, {"w": np.ones(2), "name": "layer"}), TypeError,
     r"^value_and_grad: argument 1 \('params'\)\['name'\] is a str"),
    (lambda: ag.grad(lambda x: x, argnums=2)(1.0), IndexError,
     r"^grad: argnums asks for argument 2 but f got 1"),
    (lambda: ag.jacobian(lambda x: x, argnums="0")(1.0), TypeError, r"^jacobian: argnums must"),
    (lambda: ag.grad(lambda x: (x * x).sum(), has_aux=True)(np.ones(2)), TypeError,
     r"^grad: has_aux=True needs f to return a pair"),
    (lambda: ag.jacobian(lambda x: "text")(np.ones(2)), TypeError,
     r"^jacobian: f must return Tensors, arrays or numbers, got a str"),
    (lambda: ag.jvp(lambda x: x, np.ones(3), np.ones(2)), ValueError,
     r"^jvp: v has shape \(2,\) but the argument has shape \(3,\)"),
    (lambda: ag.hvp(lambda p: (p["a"] ** 2).sum(), {"a": np.ones(2)}, {"a": np.ones(3)}),
     ValueError, r"^hvp: v\['a'\] has shape \(3,\)"),
    (lambda: ag.hvp(lambda p: (p["a"] ** 2).sum(), {"a": np.ones(2)}, [np.ones(2)] * 2),
     ValueError, r"^hvp: v has 2 leaves but the argument it goes with has 1"),
    (lambda: ag.jvp(lambda a, b: a * b, np.ones(2), np.ones(2), argnums=0), TypeError,
     r"^jvp: with argnums, x must be the tuple of f's arguments"),
    (lambda: ag.hessian(lambda x: (x * x).sum(), argnums=1)(np.ones(2)), IndexError,
     r"^hessian: argnums asks for argument 1"),
])
def test_errors_name_the_transform_and_the_argument(call: Any, error: type,
                                                    pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()


def test_an_error_raised_by_f_itself_propagates_unchanged() -> None:
    def f(x: ag.Tensor) -> ag.Tensor:
        raise KeyError("from f")

    with pytest.raises(KeyError, match="from f"):
        ag.grad(f)(1.0)
