"""Custom ops shared by the Function and graph tests: a right and a wrong cube."""

from __future__ import annotations

import autograd_lite as ag


class Cube(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * grad


class WrongCube(Cube):
    """Same forward, deliberately wrong backward: 2x² instead of 3x²."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x**2 * grad
