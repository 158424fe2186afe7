"""ag.interop: models moved to PyTorch and back keep their weights, buffers, dtypes and
mode, and compute the same outputs (to 1e-6 in float32, far closer in float64)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.commands.train import CNN

torch = pytest.importorskip("torch")


def every_layer(dtype=np.float64) -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 4, 3, padding=1, rng=rng, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype),
        nn.GELU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(1, 0), rng=rng, dtype=dtype),
        nn.SiLU(), nn.AvgPool2d(2, 1), nn.Flatten(),
        nn.Linear(18, 16, rng=rng, dtype=dtype), nn.LayerNorm(16, dtype=dtype),
        nn.ELU(0.5), nn.Dropout(0.3), nn.Linear(16, 8, rng=rng, dtype=dtype),
        nn.BatchNorm1d(8, momentum=None, dtype=dtype), nn.Softplus(2.0), nn.LeakyReLU(0.1),
        nn.Tanh(), nn.Linear(8, 3, bias=False, rng=rng, dtype=dtype), nn.Sigmoid(), nn.ReLU(),
    )


def _outputs_agree(ours, theirs, x: np.ndarray, atol: float) -> None:
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with ag.no_grad():
        got = ours(x).data
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


@pytest.mark.parametrize(("dtype", "atol"), [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_to_torch_keeps_weights_buffers_dtypes_and_mode(dtype, atol) -> None:
    model = every_layer(dtype)
    x = np.random.default_rng(1).uniform(size=(5, 64)).astype(dtype)
    model(x)  # training mode: batch norm's running statistics move
    model.eval()
    converted = ag.interop.to_torch(model)
    assert not converted.training and isinstance(converted, torch.nn.Sequential)
    state = converted.state_dict()
    assert list(state) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert state[key].numpy().dtype == value.dtype
        np.testing.assert_array_equal(state[key].numpy(), value)
    _outputs_agree(model, converted, x, atol)


def test_from_torch_round_trip_in_training_mode() -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=torch.float64),
        torch.nn.BatchNorm2d(3, dtype=torch.float64), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(12, 5, dtype=torch.float64), torch.nn.GELU("tanh"),
        torch.nn.Linear(5, 2, dtype=torch.float64))
    ours = ag.interop.from_torch(theirs)
    assert ours.training and isinstance(ours[1], nn.BatchNorm2d)
    x = np.random.default_rng(2).standard_normal((4, 2, 4, 4))
    _outputs_agree(ours, theirs, x, 1e-12)  # batch statistics on both sides
    back = ag.interop.to_torch(ours)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(back.state_dict()[key], value)


def test_mlp_and_the_train_cnn_keep_their_keys() -> None:
    for model in (nn.MLP([64, 16, 10], rng=np.random.default_rng(0)),
                  CNN((8, 8), [4, 8], 10, np.random.default_rng(0), np.float64)):
        converted = ag.interop.to_torch(model)
        assert list(converted.state_dict()) == list(model.state_dict())
        x = np.random.default_rng(3).uniform(size=(6, 64))
        _outputs_agree(model, converted, x, 1e-12)
        again = ag.interop.from_torch(converted)
        assert list(again.state_dict()) == list(model.state_dict())
        _outputs_agree(again, converted, x, 1e-12)


def test_embedding_both_ways() -> None:
    theirs = torch.nn.Embedding(5, 3)
    ours = ag.interop.from_torch(theirs)
    assert ours.weight.dtype == np.float32
    idx = np.array([[0, 4], [4, 1]])
    np.testing.assert_array_equal(ours(idx).data, theirs(torch.from_numpy(idx)).detach().numpy())


@pytest.mark.parametrize(("module", "message"), [
    (lambda: torch.nn.Conv2d(1, 1, 3, dilation=2), "Conv2d with dilation=.* no counterpart"),
    (lambda: torch.nn.MaxPool2d(2, ceil_mode=True), "MaxPool2d with ceil_mode=True"),
    (lambda: torch.nn.GRU(2, 2), "no counterpart for torch.nn.GRU"),
])
def test_from_torch_refuses_what_it_cannot_represent(module, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        ag.interop.from_torch(module())


def test_to_torch_refuses_unknown_modules() -> None:
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="to_torch: no PyTorch counterpart for Custom"):
        ag.interop.to_torch(Custom())
