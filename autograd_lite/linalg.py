"""``ag.linalg``: NumPy's ``np.linalg`` names for the linear-algebra ops (norm, inv, det,
slogdet, solve), batched over leading axes and differentiable to any order."""

from __future__ import annotations

from .ops.linalg import det, inv, norm, slogdet, solve

__all__ = ["det", "inv", "norm", "slogdet", "solve"]
