"""Levels: what one call of a transform (or a checkpoint's recomputation) owns.

A :class:`Level` takes a sequence mark, makes the fresh points its derivative is taken
with respect to, decides whether its results belong to an outer computation, and runs
the backward pass confined to its own nodes. The reasoning is in ``transforms``' module
docstring ("How nesting stays exact").
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Op, apply, grad_of, is_grad_enabled, sequence_mark
from .pytree import flatten, leaf_paths, unflatten
from .tensor import Tensor

# The fresh point of a recorded argument: a new tensor equal to it, its gradient passed
# straight through.
IDENTITY = Op("identity", lambda a: a.view(), kind="elementwise",
              rule="identity: grad_in = grad_out")
IDENTITY.defvjp(lambda g, out, a: (g,))

_NUMBER_TYPES = (np.ndarray, np.generic, int, float, complex)


def _arg_label(f: Callable, position: int, path: str) -> str:
    """``argument 1 ('params')['w']``: how errors name a differentiated leaf."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):  # builtins and some callables have no signature
        params = []
    named = (position < len(params) and params[position].kind in
             (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    return f"argument {position}" + (f" ({params[position].name!r})" if named else "") + path


class Level:
    """One call of a transform: its sequence mark, its fresh points and its output rules.

    ``name`` is the public transform the user called, so every error says it.
    """

    __slots__ = ("name", "record", "mark", "leaf_ids", "point_ids", "keep")

    def __init__(self, name: str) -> None:
        self.name = name
        self.record = is_grad_enabled()
        self.mark = sequence_mark()
        self.leaf_ids: set[int] = set()  # fresh points that are leaves
        self.point_ids: set[int] = set()  # every fresh point, identities included
        self.keep: list[Tensor] = []  # holds the fresh points, so their ids stay unique

    def point(self, value: Any, where: Callable[[], str]) -> Tensor:
        """The fresh point standing for ``value`` (see ``transforms``' module docstring).

        ``where()`` describes the argument for an error message.
        """
        if isinstance(value, Tensor):
            if value.requires_grad and self.record:
                t = apply(IDENTITY, value)
                self._own(t, leaf=False)
                return t
            data = value.data
        elif isinstance(value, _NUMBER_TYPES) and np.asarray(value).dtype.kind in "biufc":
            data = np.array(value)
        else:
            raise TypeError(
                f"{self.name}: {where()} is {describe(value)}; only arrays, numbers and "
                f"Tensors (or tuples, lists and dicts of them) can be differentiated"
            )
        if data.dtype.kind not in "fc":
            data = data.astype(np.float64)
        t = Tensor._make(data, None)
        t.requires_grad = True
        self._own(t, leaf=True)
        return t

    def _own(self, t: Tensor, leaf: bool) -> None:
        if leaf:
            self.leaf_ids.add(id(t))
        self.point_ids.add(id(t))
        self.keep.append(t)

    def new_leaf(self, shape: tuple, dtype: Any) -> Tensor:
        """A zero leaf requiring grad that belongs to this level (jvp's dummy cotangent)."""
        t = Tensor._make(np.zeros(shape, dtype=dtype), None)
        t.requires_grad = True
        self._own(t, leaf=True)
        return t

    def arguments(self, f: Callable, args: tuple, positions: tuple[int, ...]
                  ) -> tuple[list, list[list[Tensor]], list]:
        """``args`` with each differentiated one replaced by its tree of fresh points.

        Returns the new arguments, the fresh points of each differentiated argument
        (in leaf order) and each argument's tree structure.
        """
        args = list(args)
        points, treedefs = [], []
        for p in positions:
            if not -len(args) <= p < len(args):
                raise IndexError(f"{self.name}: argnums asks for argument {p} but f got "
                                 f"{len(args)} positional argument(s)")
            p %= len(args)
            leaves, treedef = flatten(args[p])
            fresh = [self.point(leaf, lambda p=p, k=k, arg=args[p]:
                                _arg_label(f, p, leaf_paths(arg)[k]))
                     for k, leaf in enumerate(leaves)]
            args[p] = unflatten(treedef, fresh)
            points.append(fresh)
            treedefs.append(treedef)
        return args, points, treedefs

    def reaches_outside(self, roots: Sequence, stop_at_identities: bool = False) -> bool:
        """True when ``roots`` were computed from something outside this level: a node
        recorded before its mark, or a leaf requiring grad that is not its own.

        With ``stop_at_identities`` the walk also stops at the identity points, so it
        asks whether anything *other than* the differentiated arguments is outer.
        """
        stop = self.point_ids if stop_at_identities else self.leaf_ids
        mark = self.mark
        stack = [r for r in roots if isinstance(r, Tensor) and r.requires_grad]
        seen = {id(r) for r in stack}
        while stack:
            t = stack.pop()
            if id(t) in stop:
                continue
            node = t.node
            if node is None or node.seq < mark:
                return True
            for i in node.inputs:
                # Freed summaries (interior tensors of a freed graph) cannot be
                # differentiated through any more, so they are no dependence.
                if isinstance(i, Tensor) and i.requires_grad and id(i) not in seen:
                    seen.add(id(i))
                    stack.append(i)
        return False

    def nested(self, roots: Sequence) -> bool:
        """Whether to record the backward pass: grad mode was on at the call and the
        roots depend on something outside the level.

        A differentiated argument that is itself recorded (an identity point exists)
        settles it without walking the graph: recording then costs little even when
        ``f`` ignores that argument, and the walk is the expensive part.
        """
        if not self.record:
            return False
        return len(self.point_ids) > len(self.leaf_ids) or self.reaches_outside(roots)

    def output(self, value: Any, nested: bool) -> Any:
        """A Tensor of the outer computation when nested, else the plain ndarray."""
        if nested:
            return value if isinstance(value, Tensor) else Tensor._make(np.asarray(value), None)
        # np.asarray: sums of 0-d arrays are NumPy scalars; results are always arrays.
        return np.asarray(value.data if isinstance(value, Tensor) else value)

    def gradients(self, root: Any, targets: list[Tensor], seed: Any, nested: bool,
                  retain: bool = False) -> list:
        """d root / d target for each target (zeros where root does not depend on it),
        seeded with ``seed`` (None: 1 for a scalar root), shaped like the targets."""
        return self.gradients_of([root], targets, [seed], nested, retain)

    def gradients_of(self, roots: Sequence, targets: list[Tensor], seeds: Sequence,
                     nested: bool, retain: bool = False) -> list:
        """d (sum_i <roots[i], seeds[i]>) / d target for each target, in one backward
        pass: zeros where no root depends on it, a seed None is 1 for a scalar root, a
        root that does not require grad adds nothing. Shaped like the targets."""
        live = [i for i, r in enumerate(roots) if isinstance(r, Tensor) and r.requires_grad]
        if live:
            grads = grad_of([roots[i] for i in live], targets, [seeds[i] for i in live],
                            retain_graph=retain or nested, create_graph=nested, floor=self.mark)
        else:
            grads = [None] * len(targets)
        return [self.output(g if g is not None else np.zeros_like(t.data), nested)
                for g, t in zip(grads, targets)]

    def split_aux(self, out: Any, has_aux: bool) -> tuple[Any, Any]:
        """``(value, aux)`` of ``f``'s result (aux None without ``has_aux``)."""
        if not has_aux:
            return out, None
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{self.name}: has_aux=True needs f to return a pair (value, aux), "
                            f"got {describe(out)}")
        return out[0], out[1]

    def check_scalar(self, value: Any) -> None:
        """Raise unless ``f``'s output ``value`` is a scalar (one element, any shape)."""
        shape = self.shape_of(value)
        if math.prod(shape) != 1:
            raise TypeError(f"{self.name}: f must return a scalar (a single-element Tensor or "
                            f"a number), got shape {shape}; use jacobian for other outputs")

    def shape_of(self, y: Any) -> tuple:
        """The shape of an output of ``f``, which must be a Tensor, an array or a number."""
        if isinstance(y, Tensor):
            return y.shape
        if isinstance(y, _NUMBER_TYPES):
            return np.shape(y)
        raise TypeError(f"{self.name}: f must return Tensors, arrays or numbers, "
                        f"got {describe(y)}")


def describe(value: Any) -> str:
    """A short description of a value for error messages."""
    shape = getattr(value, "shape", None)
    return f"a {type(value).__name__}" + ("" if shape is None else f" of shape {shape}")
