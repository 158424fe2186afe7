"""Normalisation layers: LayerNorm and BatchNorm1d/2d, with PyTorch's parameters, buffers
and state-dict keys."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .layers import positive_int
from .module import Module, Parameter


class LayerNorm(Module):
    """Normalise each sample over its last axes ``normalized_shape`` (``F.layer_norm``),
    then scale by ``weight`` (ones) and shift by ``bias`` (zeros), each of that shape."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5,
                 elementwise_affine: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
            tuple(normalized_shape)
        self.normalized_shape = tuple(positive_int(n, "normalized_shape", "LayerNorm")
                                      for n in shape)
        self.eps = eps
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) \
            if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) \
            if elementwise_affine else None

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x``, which ends with ``normalized_shape``."""
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class _BatchNorm(Module):
    """Batch statistics in training, running statistics in eval (``F.batch_norm``).

    Buffers as PyTorch: ``running_mean`` (zeros), ``running_var`` (ones), both
    ``(num_features,)``, and ``num_batches_tracked`` (an int64 scalar). ``momentum=None``
    makes the running statistics a cumulative average over the batches seen.
    """

    _input_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, dtype: Any = np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x: Any) -> Tensor:
        """Same shape as ``x`` (see the subclass for the accepted shapes)."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if len(shape) not in self._input_ndims or shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__} '{self._scope}' (num_features="
                             f"{self.num_features}): input of shape {shape} does not fit; "
                             f"expected {self._input_ndims} axes with {self.num_features} "
                             f"channels on axis 1")
        factor = 0.0
        if self.training:
            self.num_batches_tracked = self.num_batches_tracked + 1
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None \
                else self.momentum
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, factor, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` per channel."""

    _input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images ``(N, C, H, W)`` per channel."""

    _input_ndims = (4,)
