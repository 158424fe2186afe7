"""Image layers in PyTorch's NCHW layout: Conv2d, MaxPool2d, AvgPool2d, and the Flatten /
Unflatten reshapes between them and Linear layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import generator
from ..tensor import Tensor
from . import functional as F
from . import init as initializers
from ._windows import pair
from .layers import positive_int
from .module import Module, Parameter

# torch.nn.Conv2d's default: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), ...).
_TORCH_CONV_GAIN = math.sqrt(1.0 / 3.0)


class Conv2d(Module):
    """``(N, in_channels, H, W) -> (N, out_channels, OH, OW)``, ``F.conv2d``.

    ``weight (out_channels, in_channels, kh, kw)``, ``bias (out_channels,)``;
    ``kernel_size``, ``stride``, ``padding``: ints or pairs. ``init=None`` draws weight
    and bias as PyTorch does (uniform within ``1/sqrt(fan_in)``); a name from
    ``nn.init.INITIALIZERS`` draws the weight with it and zeros the bias. Draws come from
    ``rng`` or ``ag.manual_seed``'s generator.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, bias: bool = True, init: str | None = None,
                 rng: np.random.Generator | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d", 0)
        self.init = init
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        rng = generator(rng)
        if init is None:
            weight = initializers.kaiming_uniform(shape, rng, dtype, gain=_TORCH_CONV_GAIN)
            bound = 1.0 / math.sqrt(initializers.fans(shape)[0])
            bias_values = rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)
        else:
            weight = initializers.get(init)(shape, rng, dtype)
            bias_values = np.zeros(self.out_channels, dtype=dtype)
        self.weight = Parameter(weight)
        self.bias = Parameter(bias_values) if bias else None

    def forward(self, x: Any) -> Tensor:
        """``(N, in_channels, H, W) -> (N, out_channels, OH, OW)``."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(f"Conv2d '{self._scope}' (in_channels={self.in_channels}): "
                             f"input of shape {shape} must be (N, {self.in_channels}, H, W)")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class _Pool2d(Module):
    """Shared settings of the pooling layers (``stride`` None: the kernel size)."""

    _function: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", type(self).__name__)
        self.stride = self.kernel_size if stride is None else \
            pair(stride, "stride", type(self).__name__)
        self.padding = pair(padding, "padding", type(self).__name__, 0)

    def forward(self, x: Any) -> Tensor:
        """``(N, C, H, W) -> (N, C, OH, OW)``."""
        return type(self)._function(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum of each window; the gradient goes to the first maximum (PyTorch's rule)."""

    _function = F.max_pool2d


class AvgPool2d(_Pool2d):
    """Mean of each window (padded zeros included, PyTorch's default)."""

    _function = F.avg_pool2d


def _axis(dim: int, ndim: int, where: str) -> int:
    if not -ndim <= dim < ndim:
        raise ValueError(f"{where}: dim {dim} is out of range for an input of {ndim} axes")
    return dim % ndim


class Flatten(Module):
    """Join axes ``start_dim..end_dim`` into one: ``(N, C, H, W) -> (N, C*H*W)`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        """The input with axes ``start_dim..end_dim`` flattened."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        start = _axis(self.start_dim, x.ndim, "Flatten")
        end = _axis(self.end_dim, x.ndim, "Flatten")
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: ``(N, 64) -> (N, 1, 8, 8)``."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(int(n) for n in unflattened_size)

    def forward(self, x: Any) -> Tensor:
        """The input with axis ``dim`` reshaped to ``unflattened_size``."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        dim = _axis(self.dim, x.ndim, "Unflatten")
        if math.prod(self.unflattened_size) != x.shape[dim]:
            raise ValueError(f"Unflatten: axis {dim} of an input of shape {x.shape} cannot "
                             f"become {self.unflattened_size}")
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"{self.dim}, {self.unflattened_size}"
