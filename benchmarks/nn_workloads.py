"""Training-step workloads for ``make bench`` (issue 3): one SGD iteration of an MLP.

- W2: 2-16-16-1 tanh MLP, batch 32, MSE loss, backward, SGD step (float64).
- W3: 784-256-128-10 ReLU MLP, batch 128, softmax cross-entropy on integer labels,
  backward, SGD step; one row in float32 (``W3-float32``) and one in float64.
- conv2d: the ``train --model cnn`` convolutions on a batch of 128 digits (float32):
  Conv2d(1, 16, 3, padding=1), ReLU, Conv2d(16, 32, 3, padding=1), forward and backward
  (no optimizer step: the convolutions alone), against PyTorch's.

Every candidate starts from the same weights and data and does one whole iteration
(forward, loss, backward, parameter update) per call: autograd_lite; NumPy by hand
(forward, hand-written backward, in-place SGD: the fastest honest NumPy); PyTorch on
the CPU and HIPS autograd when importable. Each returns the loss and the first
layer's weight after its update, so the harness's one check before timing covers the
forward, the whole backward and the step. All setup happens here.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import autograd_lite as ag
from autograd_lite import nn, optim
from benchmarks import jax_peers
from benchmarks.harness import COMPILED, ENGINE, HIPS, NUMPY, TORCH, Workload

LR = 0.01
SEED = 0
Step = Callable[[], tuple]


def _importable(name: str) -> ModuleType | None:
    """Module ``name``, or None when it is not installed (its candidate shows n/a)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


torch = _importable("torch")
hips = _importable("autograd")
anp = _importable("autograd.numpy")


# ---- autograd_lite --------------------------------------------------------------------


def _engine(model: nn.Module, X: np.ndarray, loss_fn: Callable, compiled: bool = False) -> Step:
    """zero_grad, forward, loss, backward, SGD step; with ``compiled`` the same step under
    ``ag.compile`` (its first call traces, later calls replay)."""
    opt = optim.SGD(model.parameters(), lr=LR)
    inputs = ag.tensor(X)
    first = model.layers[0]

    def step() -> tuple:
        opt.zero_grad()
        loss = loss_fn(model(inputs))
        loss.backward()
        opt.step()
        return loss.item(), first.weight.data

    return ag.compile(step) if compiled else step


# ---- NumPy by hand ----------------------------------------------------------------------


def _sgd_in_place(pairs: tuple) -> None:
    """``p -= LR * g`` for each (parameter, fresh gradient) pair, reusing the gradient."""
    for p, g in pairs:
        g *= LR
        p -= g


def _numpy_w2(params: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> Step:
    """2-16-16-1 tanh MLP, MSE, hand-written backward, in-place SGD."""
    W1, b1, W2, b2, W3, b3 = params
    scale = 2.0 / Y.size  # d mean(d**2) / d d

    def step() -> tuple:
        h1 = np.tanh(X @ W1.T + b1)
        h2 = np.tanh(h1 @ W2.T + b2)
        diff = h2 @ W3.T + b3 - Y
        loss = np.mean(diff * diff)
        d_out = diff * scale
        d_z2 = (d_out @ W3) * (1 - h2 * h2)
        d_z1 = (d_z2 @ W2) * (1 - h1 * h1)
        _sgd_in_place(((W3, d_out.T @ h2), (b3, d_out.sum(0)), (W2, d_z2.T @ h1),
                       (b2, d_z2.sum(0)), (W1, d_z1.T @ X), (b1, d_z1.sum(0))))
        return loss, W1

    return step


def _numpy_w3(params: list[np.ndarray], X: np.ndarray, labels: np.ndarray) -> Step:
    """784-256-128-10 ReLU MLP, softmax cross-entropy, hand-written backward, in-place SGD."""
    W1, b1, W2, b2, W3, b3 = params
    rows = np.arange(len(labels))
    n = len(labels)

    def step() -> tuple:
        h1 = X @ W1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        shifted = h2 @ W3.T
        shifted += b3
        shifted -= shifted.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        total = probs.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
        probs /= total
        probs[rows, labels] -= 1  # d loss / d logits = (softmax - onehot) / n
        probs /= n
        d_h2 = probs @ W3
        d_h2 *= h2 > 0
        d_h1 = d_h2 @ W2
        d_h1 *= h1 > 0
        _sgd_in_place(((W3, probs.T @ h2), (b3, probs.sum(0)), (W2, d_h2.T @ h1),
                       (b2, d_h2.sum(0)), (W1, d_h1.T @ X), (b1, d_h1.sum(0))))
        return loss, W1

    return step


# ---- PyTorch ----------------------------------------------------------------------------


def _torch(params: list[np.ndarray], X: np.ndarray, target: np.ndarray,
           activation: str) -> Step:
    """The same iteration with torch.nn and torch.optim.SGD on the CPU."""
    layers: list[Any] = []
    for weight, bias in zip(params[::2], params[1::2]):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0],
                                 dtype=torch.from_numpy(weight).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers += [linear, torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])  # no activation after the last layer
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(target)
    functional = torch.nn.functional
    loss_fn = functional.mse_loss if activation == "tanh" else functional.cross_entropy

    def step() -> tuple:
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        opt.step()
        return loss.item(), model[0].weight.detach().numpy()

    return step


# ---- HIPS autograd ----------------------------------------------------------------------


def _loss_of(xnp: Any, X: np.ndarray, target: np.ndarray, activation: str) -> Callable:
    """The MLP's loss as a function of its parameter list, written with ``xnp`` (HIPS
    autograd's or JAX's NumPy)."""
    act = xnp.tanh if activation == "tanh" else (lambda z: xnp.maximum(z, 0.0))
    rows = np.arange(len(target))

    def loss_of(ps: list) -> Any:
        h = X
        for i in range(0, len(ps), 2):
            h = xnp.dot(h, ps[i].T) + ps[i + 1]
            if i + 2 < len(ps):
                h = act(h)
        if activation == "tanh":
            return xnp.mean((h - target) ** 2)
        shifted = h - xnp.max(h, axis=1, keepdims=True)
        logp = shifted - xnp.log(xnp.sum(xnp.exp(shifted), axis=1, keepdims=True))
        return -xnp.mean(logp[rows, target])

    return loss_of


def _hips(params: list[np.ndarray], X: np.ndarray, target: np.ndarray,
          activation: str) -> Step:
    """The same iteration with HIPS autograd's value_and_grad and an in-place update."""
    value_and_grad = hips.value_and_grad(_loss_of(anp, X, target, activation))

    def step() -> tuple:
        loss, grads = value_and_grad(params)
        _sgd_in_place(zip(params, grads))
        return loss, params[0]

    return step


# ---- workloads --------------------------------------------------------------------------


def _candidates(model: nn.Module, X: np.ndarray, target: np.ndarray, activation: str,
                loss_fn: Callable, by_hand: Callable) -> dict[str, Step | None]:
    """Every candidate, each on its own copy of ``model``'s initial weights."""
    initial = [p.data.copy() for p in model.parameters()]

    def copies() -> list[np.ndarray]:
        return [p.copy() for p in initial]

    return {
        ENGINE: _engine(model, X, loss_fn),
        COMPILED: _engine(copy.deepcopy(model), X, loss_fn, compiled=True),
        NUMPY: by_hand(copies(), X, target),
        TORCH: _torch(copies(), X, target, activation) if torch is not None else None,
        HIPS: _hips(copies(), X, target, activation) if hips is not None else None,
        **jax_peers.sgd_candidates(lambda xnp: _loss_of(xnp, X, target, activation),
                                   copies(), LR),
    }


def w2() -> Workload:
    """2-16-16-1 tanh MLP, batch 32, MSE, backward, SGD step (float64)."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((32, 2))
    Y = np.sin(X.sum(axis=1, keepdims=True))
    model = nn.MLP([2, 16, 16, 1], activation="tanh", rng=rng)
    return Workload(
        id="W2",
        title="2-16-16-1 tanh MLP, batch 32: MSE, backward, SGD step (float64)",
        unit="ms",
        candidates=_candidates(model, X, Y, "tanh", lambda out: ag.F.mse_loss(out, Y),
                               _numpy_w2),
    )


def w3(dtype: Any) -> Workload:
    """784-256-128-10 ReLU MLP, batch 128, cross-entropy on labels, backward, SGD step."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((128, 784)).astype(dtype)
    labels = rng.integers(0, 10, size=128)
    model = nn.MLP([784, 256, 128, 10], activation="relu", rng=rng, dtype=dtype)
    name = np.dtype(dtype).name
    return Workload(
        id=f"W3-{name}",
        title=f"784-256-128-10 ReLU MLP, batch 128: softmax cross-entropy, backward, SGD "
              f"step ({name})",
        unit="ms",
        candidates=_candidates(model, X, labels, "relu",
                               lambda out: ag.F.cross_entropy(out, labels), _numpy_w3),
        # float32 sums in a different order differ in the 7th digit.
        rtol=1e-5 if np.dtype(dtype) == np.float32 else 1e-9,
    )


def _conv_engine(convs: list[nn.Conv2d], images: np.ndarray, cotangent: np.ndarray) -> Step:
    """Both convolutions forward, ``sum(out * cotangent)`` backward."""
    first, second = convs
    x, weight = ag.tensor(images), cotangent

    def step() -> tuple:
        first.zero_grad()
        second.zero_grad()
        (second(first(x).relu()) * weight).sum().backward()
        return first.weight.grad.data, second.weight.grad.data

    return step


def _conv_torch(convs: list[nn.Conv2d], images: np.ndarray, cotangent: np.ndarray) -> Step:
    """The same with torch.nn.Conv2d on the CPU, from the same weights."""
    layers = []
    for conv in convs:
        layer = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                                padding=conv.padding, dtype=torch.float32)
        layer.load_state_dict({k: torch.from_numpy(v) for k, v in conv.state_dict().items()})
        layers.append(layer)
    x, weight = torch.from_numpy(images), torch.from_numpy(cotangent)

    def step() -> tuple:
        for layer in layers:
            layer.zero_grad()
        (layers[1](torch.relu(layers[0](x))) * weight).sum().backward()
        return layers[0].weight.grad.numpy(), layers[1].weight.grad.numpy()

    return step


def w5_conv() -> Workload:
    """The CNN's two convolutions on 128 digits: forward and backward (float32)."""
    from autograd_lite import datasets

    images = datasets.load("digits", SEED, np.float32).train.X[:128].reshape(128, 1, 8, 8)
    rng = np.random.default_rng(SEED)
    convs = [nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=np.float32),
             nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=np.float32)]
    cotangent = rng.standard_normal((128, 32, 8, 8)).astype(np.float32)
    return Workload(
        id="conv2d",
        title="digits CNN convolutions, batch 128 (1->16->32 channels, 3x3, 8x8): forward "
              "and backward (float32)",
        unit="ms",
        candidates={ENGINE: _conv_engine(convs, images, cotangent),
                    TORCH: _conv_torch(convs, images, cotangent) if torch is not None
                    else None},
        rtol=1e-4,  # float32 sums over 144-element windows in another order
        note="no NumPy-by-hand or HIPS candidate: the comparison is with PyTorch's conv2d",
    )


WORKLOADS = [w2(), w3(np.float32), w3(np.float64), w5_conv()]
