"""Weight initialization from a seeded ``np.random.Generator``: the same seed, the same model.

Every initializer has the signature ``init(shape, rng, dtype=np.float64) -> ndarray``
for a weight of shape ``(fan_out, fan_in, *receptive)`` (PyTorch's layout), with the
formulas of ``torch.nn.init``:

- Xavier/Glorot keeps the activations' variance for tanh-like units:
  uniform on ``[-b, b]`` with ``b = gain * sqrt(6 / (fan_in + fan_out))``, or normal
  with ``std = gain * sqrt(2 / (fan_in + fan_out))``.
- He/Kaiming (fan_in mode) compensates ReLU halving the variance: ``gain = sqrt(2)``,
  uniform with ``b = gain * sqrt(3 / fan_in)``, or normal with ``std = gain / sqrt(fan_in)``.
- ``zeros`` makes every hidden unit identical: kept to show the symmetry problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

RELU_GAIN = math.sqrt(2.0)


def fans(shape: tuple) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *receptive)``."""
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a weight of at least 2 axes "
                         f"(out, in), got shape {tuple(shape)}; initialize biases with zeros")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def xavier_uniform(shape: tuple, rng: np.random.Generator, dtype: Any = np.float64,
                   gain: float = 1.0) -> np.ndarray:
    """Glorot uniform: ``U(-b, b)``, ``b = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def xavier_normal(shape: tuple, rng: np.random.Generator, dtype: Any = np.float64,
                  gain: float = 1.0) -> np.ndarray:
    """Glorot normal: ``N(0, std**2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=shape).astype(dtype)


def kaiming_uniform(shape: tuple, rng: np.random.Generator, dtype: Any = np.float64,
                    gain: float = RELU_GAIN) -> np.ndarray:
    """He uniform (fan_in mode): ``U(-b, b)``, ``b = gain * sqrt(3 / fan_in)``."""
    fan_in, _ = fans(shape)
    bound = gain * math.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def kaiming_normal(shape: tuple, rng: np.random.Generator, dtype: Any = np.float64,
                   gain: float = RELU_GAIN) -> np.ndarray:
    """He normal (fan_in mode): ``N(0, std**2)``, ``std = gain / sqrt(fan_in)``."""
    fan_in, _ = fans(shape)
    return rng.normal(0.0, gain / math.sqrt(fan_in), size=shape).astype(dtype)


def zeros(shape: tuple, rng: np.random.Generator | None = None,
          dtype: Any = np.float64) -> np.ndarray:
    """All zeros (``rng`` unused): every unit of a layer starts, and stays, identical."""
    return np.zeros(shape, dtype=dtype)


he_uniform = kaiming_uniform
he_normal = kaiming_normal

# "xavier" is Glorot's uniform (his paper's choice), "he" He's normal (his paper's choice).
INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": kaiming_normal,
    "he_normal": kaiming_normal,
    "he_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "kaiming_uniform": kaiming_uniform,
    "zeros": zeros,
}


def get(name: str) -> Callable[..., np.ndarray]:
    """The initializer called ``name`` (see :data:`INITIALIZERS`)."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"init: unknown initializer {name!r}; choose one of "
                         f"{sorted(INITIALIZERS)}") from None
