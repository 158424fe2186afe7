"""Gradient clipping, as ``torch.nn.utils``: call after ``backward()``, before ``step()``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor


def _with_grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (a float), as PyTorch.

    The scale is ``min(1, max_norm / (norm + 1e-6))``; ``norm_type`` may be ``inf``.
    A NaN/inf norm raises ``RuntimeError`` when ``error_if_nonfinite``.
    """
    params = _with_grads(parameters)
    if not params:
        return 0.0
    norms = [np.linalg.norm(p.grad.data.ravel(), ord=norm_type) for p in params]
    total = float(max(norms) if norm_type == np.inf else
                  np.linalg.norm(np.asarray(norms), ord=norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; pass error_if_nonfinite=False to clip anyway")
    scale = min(1.0, max_norm / (total + 1e-6))
    for p in params:  # new arrays: a gradient array may be shared or read-only
        p.grad = Tensor(p.grad.data * np.asarray(scale, dtype=p.grad.dtype))
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    for p in _with_grads(parameters):
        p.grad = Tensor(np.clip(p.grad.data, -clip_value, clip_value))
