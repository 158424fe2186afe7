"""nn modules: registration and names, scopes, layers, init, Dropout, state dicts and
their round trip through ag.save / ag.load."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn


class Affine(nn.Module):
    """A scale and a shift, plus attributes that must not become parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = ag.tensor([2.0], requires_grad=True)
        self.shift = ag.tensor([1.0], requires_grad=True)
        self.constant = ag.tensor([5.0])  # no requires_grad: not a parameter
        self.factor = 3.0

    def forward(self, x):
        self.last = x * self.scale  # a recorded (non-leaf) tensor cached as an attribute
        return self.last + self.shift


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = Affine()
        self.mlp = nn.MLP([1, 3, 1], rng=np.random.default_rng(0))

    def forward(self, x):
        return self.mlp(self.first(x))


def seeded_mlp(seed=0, sizes=(2, 4, 3), **kwargs):
    return nn.MLP(list(sizes), rng=np.random.default_rng(seed), **kwargs)


# ---- registration and names --------------------------------------------------------------


def test_parameters_are_registered_in_assignment_order():
    m = Affine()
    m(ag.tensor([1.0]))  # caches a non-leaf tensor in m.last
    assert [n for n, _ in m.named_parameters()] == ["scale", "shift"]
    assert list(m.parameters()) == [m.scale, m.shift]


def test_nested_names_are_dotted_and_set_on_the_tensors():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["first.scale", "first.shift", "mlp.layers.0.weight", "mlp.layers.0.bias",
                     "mlp.layers.2.weight", "mlp.layers.2.bias"]
    for name, p in net.named_parameters():
        assert p.name == name
    assert "mlp.layers.0.weight" in repr(net.mlp.layers[0].weight)


def test_names_follow_reassignment_and_late_parameters():
    mlp = seeded_mlp()
    assert mlp.layers[0].weight.name == "layers.0.weight"
    holder = nn.Module()
    holder.body = mlp  # assigned into a parent after construction: re-prefixed
    assert mlp.layers[0].weight.name == "body.layers.0.weight"
    mlp.layers[2].extra = ag.tensor([0.0], requires_grad=True)  # added deep inside later
    assert mlp.layers[2].extra.name == "body.layers.2.extra"


def test_replacing_or_deleting_an_attribute_unregisters_it():
    m = Affine()
    m.scale = None
    del m.shift
    assert list(m.named_parameters()) == []


def test_shared_parameter_is_listed_once():
    shared = nn.Linear(2, 2, rng=np.random.default_rng(0))
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = ag.tensor([1.0], requires_grad=True)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\) first in Forgetful"):
        Forgetful()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(1.0)


# ---- scopes ------------------------------------------------------------------------------


def test_recorded_ops_carry_the_module_path():
    mlp = seeded_mlp()
    out = mlp(np.ones((5, 2)))
    assert out.node.scope == "mlp.layers.2"
    hidden = out.node.inputs[0]  # linear <- relu output
    assert hidden.node.name == "relu" and hidden.node.scope == "mlp.layers.1"
    loss = (out * out).sum()
    assert loss.node.scope is None  # computed outside any module


def test_nested_module_scopes():
    out = Net()(ag.tensor(np.ones((2, 1))))
    assert out.node.scope == "net.mlp.layers.2"
    scopes = set()
    stack = [out]
    while stack:
        t = stack.pop()
        if getattr(t, "node", None) is not None:
            scopes.add(t.node.scope)
            stack.extend(t.node.inputs)
    assert scopes == {"net.first", "net.mlp.layers.0", "net.mlp.layers.1", "net.mlp.layers.2"}


# ---- layers ------------------------------------------------------------------------------


def test_linear_layout_and_value():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    layer.bias.data = np.array([0.5, -1.0])
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + [0.5, -1.0])


def test_linear_without_bias_and_batched_inputs():
    layer = nn.Linear(3, 2, bias=False, rng=np.random.default_rng(0))
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = np.ones((2, 5, 3))
    assert layer(x).shape == (2, 5, 2)


def test_linear_gradcheck():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))

    def f(x, w, b):
        layer.weight, layer.bias = w, b
        return layer(x).tanh().sum()

    x = np.random.default_rng(1).standard_normal((4, 3))
    assert ag.gradcheck(f, [x, layer.weight.data.copy(), np.array([0.1, -0.2])])


def test_linear_wrong_input_names_the_layer():
    mlp = seeded_mlp()
    with pytest.raises(ValueError, match=r"Linear 'mlp.layers.0' \(in_features=2\).*\(5, 3\)"):
        mlp(np.ones((5, 3)))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(bad, 2)


def test_mlp_structure():
    mlp = seeded_mlp(sizes=(2, 8, 8, 3), activation="tanh")
    kinds = [type(m).__name__ for m in mlp.layers]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]  # nothing after the last
    assert [p.shape for p in mlp.parameters()] == [(8, 2), (8,), (8, 8), (8,), (3, 8), (3,)]
    assert "(layers): Sequential" in repr(mlp) and "(1): Tanh()" in repr(mlp)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"sizes": [3]}, "at least an input and an output"),
    ({"sizes": [3, 2], "activation": "gelu"}, "activation must be one of"),
    ({"sizes": [3, 2], "init": "orthogonal"}, "unknown initializer 'orthogonal'"),
])
def test_mlp_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        nn.MLP(**kwargs)


def test_activation_modules():
    x = ag.tensor([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(nn.ReLU()(x).data, [0.0, 0.0, 2.0])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp([1.0, 0.0, -2.0])))


def test_sequential_and_module_list():
    a, b = nn.Linear(2, 3), nn.Linear(3, 1)
    seq = nn.Sequential(a, nn.Tanh(), b)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is b and list(seq)[1] is seq[1]
    with pytest.raises(IndexError, match="index 3 out of range for 3 modules"):
        seq[3]
    with pytest.raises(TypeError, match=r"Sequential\(\*layers\)"):
        nn.Sequential([a, b])
    with pytest.raises(TypeError, match="expected a Module, got function"):
        nn.Sequential(a, lambda x: x)

    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.blocks.append(nn.Linear(2, 1))

    tower = Tower()
    assert [n for n, _ in tower.named_parameters()][-2:] == ["blocks.2.weight", "blocks.2.bias"]
    with pytest.raises(TypeError, match="ModuleList is not callable"):
        tower.blocks(np.ones(2))


# ---- init --------------------------------------------------------------------------------


def test_same_seed_same_model_different_seed_different_model():
    same = [np.array_equal(p.data, q.data)
            for p, q in zip(seeded_mlp(7).parameters(), seeded_mlp(7).parameters())]
    assert all(same)
    assert not np.array_equal(seeded_mlp(7).layers[0].weight.data,
                              seeded_mlp(8).layers[0].weight.data)


@pytest.mark.parametrize("name, std", [
    ("xavier_uniform", math.sqrt(2 / (400 + 300))),
    ("xavier_normal", math.sqrt(2 / (400 + 300))),
    ("he_uniform", math.sqrt(2 / 400)),
    ("he_normal", math.sqrt(2 / 400)),
])
def test_initializer_scale(name, std):
    w = nn.init.get(name)((300, 400), np.random.default_rng(0))
    assert w.shape == (300, 400)
    assert w.std() == pytest.approx(std, rel=0.02)
    assert abs(w.mean()) < 0.05 * std


def test_uniform_initializers_respect_their_bound():
    w = nn.init.xavier_uniform((30, 20), np.random.default_rng(0))
    bound = math.sqrt(6 / 50)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_linear_init_choices_and_dtype():
    rng = np.random.default_rng(0)
    zero = nn.Linear(3, 4, init="zeros", rng=rng)
    assert not zero.weight.data.any() and not zero.bias.data.any()
    he = nn.Linear(200, 300, init="he", rng=rng, dtype=np.float32)
    assert he.weight.dtype == np.float32 and he.bias.dtype == np.float32
    assert he.weight.data.std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    with pytest.raises(ValueError, match="at least 2 axes"):
        nn.init.xavier_normal((3,), rng)


# ---- Dropout -----------------------------------------------------------------------------


def test_dropout_train_masks_and_rescales():
    drop = nn.Dropout(0.25, rng=np.random.default_rng(0))
    x = ag.tensor(np.ones(10_000), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert 0.72 < kept.mean() < 0.78
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # the gradient is the mask itself


def test_dropout_eval_is_identity_and_mode_is_recursive():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    x = ag.tensor(np.ones((2, 3)))
    assert model[1](x) is x
    model.train()
    assert all(m.training for m in model.modules())
    assert (model[1](x).data == 0).any()


def test_dropout_seeded_and_edge_probabilities():
    x = np.ones(100)
    a = nn.Dropout(0.5, rng=np.random.default_rng(3))(x).data
    b = nn.Dropout(0.5, rng=np.random.default_rng(3))(x).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros(100))
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


# ---- state dicts -------------------------------------------------------------------------


def test_state_dict_round_trip_through_save_and_load(tmp_path):
    source, target = seeded_mlp(1), seeded_mlp(2)
    x = np.random.default_rng(0).standard_normal((5, 2))
    assert not np.allclose(source(x).data, target(x).data)
    path = tmp_path / "model.npz"
    ag.save(source.state_dict(), path)
    loaded = ag.load(path)
    assert list(loaded) == [n for n, _ in source.named_parameters()]
    target.load_state_dict(loaded)
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_state_dict_is_a_snapshot():
    model = seeded_mlp()
    snapshot = model.state_dict()
    before = snapshot["layers.0.weight"].copy()
    model.layers[0].weight.data = model.layers[0].weight.data + 1
    np.testing.assert_array_equal(snapshot["layers.0.weight"], before)


def test_load_state_dict_key_errors_name_the_keys():
    model = seeded_mlp()
    state = model.state_dict()
    del state["layers.2.bias"]
    state["layers.9.weight"] = np.zeros(3)
    with pytest.raises(KeyError, match=r"missing keys \['layers.2.bias'\], unexpected keys "
                                       r"\['layers.9.weight'\]"):
        model.load_state_dict(state)


def test_load_state_dict_shape_error_names_the_key_and_changes_nothing():
    model = seeded_mlp()
    before = [p.data.copy() for p in model.parameters()]
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["layers.2.weight"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"'layers.2.weight' has shape \(4, 4\) in the state "
                                         r"dict but \(3, 4\)"):
        model.load_state_dict(state)
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)


def test_load_state_dict_casts_to_parameter_dtype_and_keeps_old_graphs_valid():
    model = seeded_mlp(dtype=np.float32)
    x = np.ones((1, 2), dtype=np.float32)
    out = model(x).sum()
    expected = _grads_after_backward(out, model, retain=True)
    model.load_state_dict({k: v.astype(np.float64) * 0 for k, v in model.state_dict().items()})
    assert model.layers[0].weight.dtype == np.float32
    assert not model.layers[0].weight.data.any()
    # The graph recorded before loading still differentiates at the old values.
    for got, want in zip(_grads_after_backward(out, model), expected):
        np.testing.assert_array_equal(got, want)


def _grads_after_backward(out, model, retain=False):
    model.zero_grad()
    out.backward(retain_graph=retain)
    return [p.grad.data.copy() for p in model.parameters()]


def test_zero_grad_clears_every_parameter():
    model = seeded_mlp()
    model(np.ones((1, 2))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---- save / load errors ------------------------------------------------------------------


def test_save_and_load_keep_order_dtype_and_awkward_keys(tmp_path):
    state = {"file": np.arange(3), "allow_pickle": np.float32(2.5), "b": ag.tensor([1.0])}
    ag.save(state, tmp_path / "x.npz")
    loaded = ag.load(tmp_path / "x.npz")
    assert list(loaded) == ["file", "allow_pickle", "b"]
    assert loaded["allow_pickle"].dtype == np.float32 and loaded["allow_pickle"] == 2.5
    np.testing.assert_array_equal(loaded["b"], [1.0])


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match="expected a dict of name -> array"):
        ag.save([np.zeros(2)], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="the value for 'w' has dtype object"):
        ag.save({"w": np.array([{}, None])}, tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ag.save({"w": np.zeros(2)}, tmp_path / "missing" / "x.npz")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="load: no file at"):
        ag.load(tmp_path / "absent.npz")
    text = tmp_path / "notes.txt"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="is not an .npz archive"):
        ag.load(text)
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(2))
    with pytest.raises(ValueError, match=r"single array \(.npy\)"):
        ag.load(single)
