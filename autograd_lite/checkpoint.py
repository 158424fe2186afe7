"""``checkpoint(f, *args)``: trade compute for memory (as ``jax.checkpoint`` and
``torch.utils.checkpoint``).

The call is recorded as one op. Its forward runs ``f`` under ``no_grad``, so none of
``f``'s intermediate values are kept: the node saves only the op's inputs. Its VJP runs
``f`` again with grad on, from fresh points standing for the inputs (as the transforms
make them, see ``transforms``), and backpropagates the incoming gradient through that
recomputed graph. Under ``create_graph`` the fresh points are identities of the recorded
inputs and the recomputation's backward is itself recorded, so second derivatives flow
through a checkpoint like through any op; the gradients are those of the plain run,
element for element, because the same operations run in the same order.

Gradients flow to the Tensors among ``args`` (which may be pytrees). ``f`` must not close
over other Tensors that require grad, since the op could not hand them a gradient; that
is detected when the gradient is computed and raises, rather than dropping it silently.
The recomputation must reproduce the forward: draws from the package's default
generator (``ag.manual_seed``, what dropout and ``randn`` use without an ``rng``) are
replayed, as ``torch.utils.checkpoint`` replays PyTorch's, by restoring the generator's
state of the forward for the recomputation and putting the caller's back afterwards.
Other sources of randomness (a Generator ``f`` holds itself) are not replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from .engine import Op, apply, enable_grad, mode, no_grad
from .level import Level
from .pytree import flatten, unflatten
from .random import default_generator
from .tensor import Tensor


def checkpoint(f: Callable, *args: Any) -> Tensor:
    """``f(*args)`` without keeping ``f``'s intermediate values; recomputed in backward.

    ``args``: Tensors, arrays, numbers, or pytrees of them; ``f`` returns one Tensor of
    any shape. The result is that Tensor, recorded as a single ``checkpoint`` op whose
    gradients (first and higher order) equal those of ``f(*args)`` run plainly.
    """
    leaves, treedef = flatten(args)
    tensors = tuple(isinstance(a, Tensor) for a in leaves)
    if mode.enabled and not any(t and a.requires_grad for a, t in zip(leaves, tensors)):
        # No argument needs a gradient, so the op would not be recorded and its VJP (which
        # detects closed-over Tensors) would never run: a closure over parameters (say,
        # checkpointing the first block of a model on input data) would silently get no
        # gradient. Run f plainly: that records nothing unless f closes over such Tensors.
        out = _call(f, treedef, leaves)
        if out.requires_grad:
            raise RuntimeError(_CLOSURE_MESSAGE)
        return out
    rng_state = default_generator().bit_generator.state
    return apply(_op(len(leaves)), *leaves, f=f, treedef=treedef, tensors=tensors,
                 rng_state=rng_state)


_CLOSURE_MESSAGE = (
    "checkpoint: f uses a Tensor that requires grad but is not among the args, so its "
    "gradient would be lost; pass it to checkpoint as an argument"
)


@cache
def _op(arity: int) -> Op:
    """The checkpoint op for ``arity`` inputs: all of them are saved (and so protected
    against in-place writes), because the recomputation reads every one."""
    op = Op("checkpoint", _forward, saves=tuple(range(arity)), needs_mask=True,
            rule="checkpoint: recompute f, then grad_in = VJP of f (grad_out)")
    op.defvjp(_vjp)
    return op


def _call(f: Callable, treedef: Any, leaves: list) -> Tensor:
    """``f`` on the leaves rebuilt into the original arguments; checks it gave a Tensor."""
    out = f(*unflatten(treedef, leaves))
    if not isinstance(out, Tensor):
        raise TypeError(f"checkpoint: f must return a Tensor, got {type(out).__name__}")
    return out


def _forward(*values: Any, f: Callable, treedef: Any, tensors: tuple, rng_state: dict) -> Any:
    with no_grad():
        leaves = [Tensor._make(v, None) if is_t else v for v, is_t in zip(values, tensors)]
        return _call(f, treedef, leaves).data


def _vjp(g: Any, out: Any, *inputs: Any, f: Callable, treedef: Any, tensors: tuple,
         rng_state: dict, needs: tuple | None = None) -> tuple:
    # The engine passes ``needs``; callers that check a VJP on its own (draw_graph's
    # check) may not, and then every Tensor input gets its gradient.
    needs = tensors if needs is None else needs
    # The engine hands Tensors (inputs and g) exactly when it records the backward pass.
    level = Level("checkpoint")
    with enable_grad():
        leaves, targets = [], []
        for value, is_t, need in zip(inputs, tensors, needs):
            if need:
                value = level.point(value, lambda: "an input")
                targets.append(value)
            elif is_t and not isinstance(value, Tensor):
                value = Tensor._make(value, None)
            leaves.append(value)
        generator = default_generator().bit_generator
        callers_state = generator.state
        generator.state = rng_state
        try:
            y = _call(f, treedef, leaves)
        finally:
            generator.state = callers_state
        if level.reaches_outside([y], stop_at_identities=True):
            raise RuntimeError(_CLOSURE_MESSAGE)
        grads = iter(level.gradients(y, targets, g, nested=isinstance(g, Tensor)))
    return tuple(next(grads) if need else None for need in needs)
