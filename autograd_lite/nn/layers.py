"""Layers: Linear, the MLP built from it, Embedding, activation modules and Dropout.

All computation goes through public Tensor operations (``nn.functional``), so every
layer's gradient comes from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..random import generator
from ..tensor import Tensor
from . import functional as F
from . import init as initializers
from .module import Module, Parameter, Sequential


def positive_int(value: Any, what: str, where: str) -> int:
    """``value`` as an int if it is a positive integer; ValueError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """``y = x @ weight.T + bias``: ``x (..., in_features) -> y (..., out_features)``.

    ``weight`` has PyTorch's layout ``(out_features, in_features)``, drawn by ``init``
    (``"xavier"``, ``"he"``, ``"zeros"`` or another name in ``nn.init.INITIALIZERS``)
    from ``rng`` (``ag.manual_seed``'s generator when None); ``bias`` ``(out_features,)``
    starts at zero.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "xavier", rng: np.random.Generator | None = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        self.init = init
        weight = initializers.get(init)((self.out_features, self.in_features),
                                        generator(rng), dtype)
        self.weight = Parameter(weight)
        self.bias = Parameter(np.zeros(self.out_features, dtype=weight.dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        """``x (..., in_features) -> (..., out_features)``."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear '{self._scope}' (in_features={self.in_features}): input of shape "
                f"{shape} must end in {self.in_features} features"
            )
        return F.linear(x, self.weight, self.bias)

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
        rng = generator(rng)
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
    """Inverted dropout (``F.dropout``): in training, zero each element with probability
    ``p`` and scale the survivors by ``1 / (1 - p)``, so evaluation (the identity) needs no
    rescaling. The mask is drawn from ``rng``, or from ``ag.manual_seed``'s generator at
    each call when None. Any shape.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``: masked and rescaled in training, unchanged in eval."""
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    """A lookup table: integer indices of any shape ``S`` -> rows ``S + (embedding_dim,)``
    of ``weight (num_embeddings, embedding_dim)``, drawn from N(0, 1) as in PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = Parameter(generator(rng).standard_normal(
            (self.num_embeddings, self.embedding_dim)).astype(dtype))

    def forward(self, x: Any) -> Tensor:
        """Indices ``S`` (an integer array or int64 Tensor) -> ``S + (embedding_dim,)``."""
        return F.embedding(x, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class _Activation(Module):
    """An elementwise function of ``nn.functional`` as a module (any shape)."""

    _function: Any = None
    _options: tuple[str, ...] = ()  # the keyword arguments stored on the module

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``."""
        return type(self)._function(x, **{k: getattr(self, k) for k in self._options})

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._options)


class GELU(_Activation):
    """``x * Phi(x)`` (exact erf form; ``approximate="tanh"`` for PyTorch's tanh form)."""

    _function = F.gelu
    _options = ("approximate",)

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate


class SiLU(_Activation):
    """``x * sigmoid(x)``."""

    _function = F.silu


class Softplus(_Activation):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    _function = F.softplus
    _options = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold


class ELU(_Activation):
    """``x`` where positive, else ``alpha (exp(x) - 1)``."""

    _function = F.elu
    _options = ("alpha",)

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha


class LeakyReLU(_Activation):
    """``x`` where positive, else ``negative_slope * x``."""

    _function = F.leaky_relu
    _options = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope
