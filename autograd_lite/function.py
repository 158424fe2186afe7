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

from collections.abc import Callable
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
        """Keep ``arrays`` for backward. When the call is recorded, the engine protects
        them as it does built-in ops' saved arrays: read-only (their bases too) while the
        graph lives, checked at backward, writeable again once no graph needs them."""
        self.saved_tensors = arrays

    def _with_saved(self, saved: tuple) -> Context:
        """A copy of this context whose ``saved_tensors`` are ``saved``."""
        ctx = Context(self.needs_input_grad)
        ctx.__dict__.update(self.__dict__)
        ctx.saved_tensors = saved
        return ctx


def once_differentiable(backward: Callable) -> Callable:
    """Mark a Function's ``backward`` as working on ndarrays only: ``create_graph=True``
    through it then raises a RuntimeError saying so (as ``torch.autograd.function``'s)."""
    backward.once_differentiable = True
    return backward


class Function:
    """Subclass with static ``forward(ctx, *arrays)`` and ``backward(ctx, grad)``;
    call ``YourFunction.apply(*inputs)``.

    Under ``create_graph=True`` ``backward`` receives Tensors: ``grad`` and, in
    ``ctx.saved_tensors``, the input or output Tensor for each saved input or output
    array, so a backward written with operations Tensors support is differentiated again.
    """

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
            op.keeps = _saved_by_ctx
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
        if isinstance(g, Tensor):  # create_graph: hand backward the recorded Tensors
            ctx = ctx._with_saved(cls._recorded_saves(ctx, out, args))
        grads = cls.backward(ctx, g)
        return grads if isinstance(grads, tuple) else (grads,)

    @classmethod
    def _recorded_saves(cls, ctx: Context, out: Tensor, args: tuple) -> tuple:
        """Each saved array as the Tensor it is the data of (an input or the output)."""
        if getattr(cls.backward, "once_differentiable", False):
            raise RuntimeError(
                f"{cls.__name__}: its backward is marked once_differentiable, so "
                f"create_graph=True (double backward) through it is not supported"
            )
        recorded = []
        for a in ctx.saved_tensors:
            match = next((t for t in (out, *args)
                          if (t.data if isinstance(t, Tensor) else t) is a), None)
            if match is None and isinstance(a, np.ndarray):
                raise RuntimeError(
                    f"{cls.__name__}: create_graph=True needs every array passed to "
                    f"save_for_backward to be an input or the output of forward (how an "
                    f"intermediate array depends on the inputs is unknown); save the inputs "
                    f"and recompute it in backward, or mark backward once_differentiable"
                )
            recorded.append(a if match is None else match)
        return tuple(recorded)

    @classmethod
    def apply(cls, *inputs: Any) -> Tensor:
        """Run the op on ``inputs`` (Tensors or arrays) and record it for backward."""
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        return apply(cls._op(), *inputs, ctx=Context(needs))


def _saved_by_ctx(params: dict) -> tuple:
    """What a Function's forward passed to save_for_backward (the engine protects it)."""
    return params["ctx"].saved_tensors
