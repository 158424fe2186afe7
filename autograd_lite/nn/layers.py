"""Layers: Linear, the MLP built from it, activation modules and Dropout.

All computation goes through public Tensor operations (``nn.functional``), so every
layer's gradient comes from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init as initializers
from .module import Module, Sequential


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng``, or a fresh unseeded Generator (pass a seeded one for repeatable models)."""
    return rng if rng is not None else np.random.default_rng()


def _positive_int(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """``y = x @ weight.T + bias``: ``x (..., in_features) -> y (..., out_features)``.

    ``weight`` has PyTorch's layout ``(out_features, in_features)``, drawn by ``init``
    (``"xavier"``, ``"he"``, ``"zeros"`` or another name in ``nn.init.INITIALIZERS``)
    from ``rng``; ``bias`` ``(out_features,)`` starts at zero.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "xavier", rng: np.random.Generator | None = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        self.init = init
        weight = initializers.get(init)((self.out_features, self.in_features),
                                        _generator(rng), dtype)
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_features, dtype=weight.dtype),
                           requires_grad=True) if bias else None

    def forward(self, x: Any) -> Tensor:
        """``x (..., in_features) -> (..., out_features)``."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear '{self._scope}' (in_features={self.in_features}): input of shape "
                f"{shape} must end in {self.in_features} features"
            )
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, init={self.init!r}")


class ReLU(Module):
    """Elementwise ``max(x, 0)`` as a module (any shape)."""

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``."""
        return F.relu(x)


class Tanh(Module):
    """Elementwise ``tanh`` as a module (any shape)."""

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``."""
        return F.tanh(x)


class Sigmoid(Module):
    """Elementwise logistic sigmoid as a module (any shape)."""

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``."""
        return F.sigmoid(x)


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
# He init suits ReLU (it halves the variance), Glorot tanh and sigmoid.
_DEFAULT_INIT = {"relu": "he", "tanh": "xavier", "sigmoid": "xavier"}


class MLP(Module):
    """A multilayer perceptron: ``sizes = [in, hidden..., out]``.

    ``self.layers`` is a :class:`Sequential` of ``Linear`` layers with an
    ``activation`` module (``"relu"``, ``"tanh"`` or ``"sigmoid"``) between them and none
    after the last, so the output is a raw score/logit: ``(..., in) -> (..., out)``.
    ``init`` defaults to He for ReLU and Xavier otherwise; ``"zeros"`` is available.
    One ``rng`` draws every layer, so a seeded Generator gives the same model.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", init: str | None = None,
                 bias: bool = True, rng: np.random.Generator | None = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got "
                             f"{sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{activation!r}")
        self.activation = activation
        init = init or _DEFAULT_INIT[activation]
        rng = _generator(rng)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(_ACTIVATIONS[activation]())
            layers.append(Linear(n_in, n_out, bias=bias, init=init, rng=rng, dtype=dtype))
        self.layers = Sequential(*layers)

    def forward(self, x: Any) -> Tensor:
        """``x (..., sizes[0]) -> (..., sizes[-1])``."""
        return self.layers(x)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the survivors by ``1 / (1 - p)``, so evaluation (the identity) needs no rescaling.

    The mask is drawn from ``rng`` (seed it for repeatable runs). Any shape.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self.rng = _generator(rng)

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``: masked and rescaled in training, unchanged in eval."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        keep = (self.rng.random(x.shape) >= self.p).astype(x.dtype)
        if self.p < 1.0:  # p == 1 drops everything: the mask stays all zeros
            keep /= 1.0 - self.p
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
