"""User-defined operations with their own VJP, as ``torch.autograd.Function``.

    class Cube(ag.Function):
        @staticmethod
        def forward(ctx, x):             # ndarrays in, ndarray out
            ctx.save_for_backward(x)
            return x ** 3
        @staticmethod
        def backward(ctx, grad):         # one gradient per forward input
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad
    y = Cube.apply(t)

A Function is recorded like any built-in op, under its class name, so it shows in
graphs, error messages, ``gradcheck`` and ``draw_graph(check=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import Op, apply
from .tensor import Tensor


class Context:
    """Per-call scratch space shared by a Function's forward and backward."""

    __slots__ = ("saved_tensors", "needs_input_grad", "__dict__")

    def __init__(self, needs_input_grad: tuple) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep ``arrays`` for backward; they are read-only while the graph lives."""
        for a in arrays:
            if isinstance(a, np.ndarray) and a.flags.writeable:
                a.flags.writeable = False
        self.saved_tensors = arrays


class Function:
    """Subclass with static ``forward(ctx, *arrays)`` and ``backward(ctx, grad)``;
    call ``YourFunction.apply(*inputs)``."""

    @staticmethod
    def forward(ctx: Context, *args: Any) -> np.ndarray:
        """Compute the result from ndarrays (subclasses override)."""
        raise NotImplementedError("Function subclasses must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Any:
        """Return one gradient (or None) per forward input (subclasses override)."""
        raise NotImplementedError("Function subclasses must define a static backward(ctx, grad)")

    @classmethod
    def _op(cls) -> Op:
        op = cls.__dict__.get("_recorded_op")
        if op is None:
            op = Op(cls.__name__, cls._run_forward)
            op.defvjp(cls._run_backward)
            cls._recorded_op = op
        return op

    @classmethod
    def _run_forward(cls, *arrays: Any, ctx: Context) -> np.ndarray:
        out = cls.forward(ctx, *arrays)
        if isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return an ndarray, not a Tensor")
        return np.asarray(out)

    @classmethod
    def _run_backward(cls, g: Any, out: Any, *args: Any, ctx: Context) -> tuple:
        if isinstance(g, Tensor):
            raise RuntimeError(
                f"{cls.__name__}: create_graph=True (double backward) through a custom "
                f"Function is not supported; its backward works on ndarrays"
            )
        for a in ctx.saved_tensors:
            if isinstance(a, np.ndarray) and a.flags.writeable:
                raise RuntimeError(f"{cls.__name__}: an array saved for backward was made "
                                   f"writeable and may have been modified in place")
        grads = cls.backward(ctx, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(args):
            raise ValueError(f"{cls.__name__}.backward returned {len(grads)} gradients for "
                             f"{len(args)} inputs")
        return grads

    @classmethod
    def apply(cls, *inputs: Any) -> Tensor:
        """Run the op on ``inputs`` (Tensors or arrays) and record it for backward."""
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        return apply(cls._op(), *inputs, ctx=Context(needs))
