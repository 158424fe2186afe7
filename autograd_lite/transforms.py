"""Functional transforms: grad, value_and_grad, jacobian, hessian, hvp, jvp.

Each argument they differentiate may be an array, a number, a Tensor or a pytree
(nested tuples, lists, dicts) of them; its gradient comes back in the same structure
and, for floating leaves, the same dtype.

How nesting stays exact
-----------------------
Every call of a transform is a *level*. On entry it takes a sequence mark from the
engine (every node recorded afterwards has a larger sequence number) and turns each
leaf of each differentiated argument into a *fresh point*, the tensor this level
differentiates with respect to:

- A Tensor that requires grad while grad mode is on (the caller is being
  differentiated: it is an outer transform's point, a parameter, anything recorded)
  becomes the output of a recorded identity op on it. The fresh point is a new tensor,
  so this level's derivative is taken with respect to its own variable only: the same
  outer value reaching ``f`` another way (a closure, another argument) is a constant to
  it. Taking the outer tensor itself as the target would mix the two, which is
  perturbation confusion: ``grad(lambda y: x * y)(x)`` would give ``2x`` instead of
  ``x``. The identity edge still connects the fresh point to the outer value, so an
  outer level differentiates the result through it.
- Anything else (an array, a number, a Tensor that does not require grad, or any
  value under ``no_grad``) becomes a new leaf that requires grad. Arrays are copied, so
  the caller's array is never locked by the graph.

The backward pass runs with the mark as its floor: only nodes recorded during this call
can lead to the fresh points, so the walk never enters, and never frees, the caller's
graph. The level then decides whether its result belongs to an outer computation:
when grad mode is on at the call and ``f``'s output was computed from something outside
the level (a node recorded before the mark, or a leaf that requires grad and is not one
of the level's own), the backward pass is recorded (``create_graph``) and the results
are Tensors of the outer computation, differentiable with respect to closed-over
Tensors, the other arguments and, through the identity, the differentiated argument
itself. Otherwise (plain values in at the top level, or ``no_grad``) nothing is recorded
and the results are ndarrays (gradients) and Python floats (values).

A function that does not depend on its argument, or returns a Python constant, has a
zero gradient and a zero JVP. Every error names the transform the user called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import enable_grad, grad_of
from .level import Level, describe
from .pytree import flatten, leaf_paths, unflatten
from .tensor import Tensor

Argnums = int | Sequence[int]

def _positions(name: str, argnums: Argnums) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as a tuple of positions, and whether it was a single int."""
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return (int(argnums),), True
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in argnums):
        return tuple(int(a) for a in argnums), False
    raise TypeError(f"{name}: argnums must be an int or a non-empty tuple of ints, "
                    f"got {argnums!r}")


def _regroup(values: list, points: list[list], treedefs: list, single: bool) -> Any:
    """Per-leaf results (in fresh-point order) back into the arguments' structures: one
    tree for an int ``argnums``, a tuple of trees for a tuple."""
    trees, start = [], 0
    for fresh, treedef in zip(points, treedefs):
        trees.append(unflatten(treedef, values[start:start + len(fresh)]))
        start += len(fresh)
    return trees[0] if single else tuple(trees)


def _name_of(f: Callable) -> str:
    """``f``'s name for the wrapped function's ``__name__`` (``grad(loss)``)."""
    return getattr(f, "__name__", "f")


# ---- grad and value_and_grad -------------------------------------------------------------


def _value_and_grad(f: Callable, argnums: Argnums, has_aux: bool, name: str) -> Callable:
    """value_and_grad's body, with errors naming the public transform ``name``."""
    positions, single = _positions(name, argnums)

    def wrapped(*args: Any) -> tuple[Any, Any]:
        level = Level(name)
        with enable_grad():
            args, points, treedefs = level.arguments(f, args, positions)
            value, aux = level.split_aux(f(*args), has_aux)
            level.check_scalar(value)
            nested = level.nested([value])
            flat = [t for fresh in points for t in fresh]
            grads = level.gradients(value, flat, None, nested)
        if not nested:
            value = np.asarray(level.output(value, False)).reshape(()).item()
        return (value, aux), _regroup(grads, points, treedefs, single)

    wrapped.__name__ = f"{name}({_name_of(f)})"
    return wrapped


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f`` -> a function returning ``(f(*args), df/d args[argnums])`` for scalar ``f``.

    Each gradient has the structure, shapes and floating dtype of its argument (a tuple
    of them when ``argnums`` is a tuple). With ``has_aux``, ``f`` returns
    ``(value, aux)`` and the result is ``((value, aux), grad)``, as in JAX.
    """
    inner = _value_and_grad(f, argnums, has_aux, "value_and_grad")

    def wrapped(*args: Any) -> tuple[Any, Any]:
        (value, aux), grads = inner(*args)
        return ((value, aux) if has_aux else value), grads

    wrapped.__name__ = inner.__name__
    return wrapped


def _grad(f: Callable, argnums: Argnums, has_aux: bool, name: str) -> Callable:
    """grad's body, with errors naming the public transform ``name``."""
    inner = _value_and_grad(f, argnums, has_aux, name)

    def wrapped(*args: Any) -> Any:
        (_, aux), grads = inner(*args)
        return (grads, aux) if has_aux else grads

    wrapped.__name__ = inner.__name__
    return wrapped


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f`` -> a function computing df/d args[argnums] of a scalar-valued ``f`` (as
    ``jax.grad``); with ``has_aux`` it returns ``(grad, aux)``.

    Each argument may be a number, an array, a Tensor or a pytree of them; its gradient
    has the same structure, shapes and floating dtype. Compose for higher orders:
    ``grad(grad(f))``; called inside another transform the result is a recorded Tensor.
    """
    return _grad(f, argnums, has_aux, "grad")


# ---- jacobian and hessian ----------------------------------------------------------------


def _jacobian_block(level: Level, y: Any, targets: list[Tensor], nested: bool) -> list:
    """d y / d target for each target: shape ``y.shape + target.shape``, one reverse pass
    per element of ``y`` (retaining the graph between them)."""
    shape = level.shape_of(y)
    size = math.prod(shape)
    if not (isinstance(y, Tensor) and y.requires_grad) or size == 0:
        return [level.output(np.zeros((*shape, *t.shape), dtype=t.dtype), nested)
                for t in targets]
    rows: list[list] = [[] for _ in targets]
    for k in range(size):
        seed = np.zeros(shape, dtype=y.dtype)
        seed.reshape(-1)[k] = 1
        for row, g in zip(rows, level.gradients(y, targets, seed, nested, retain=True)):
            row.append(g)
    if nested:
        from .ops import stack

        return [stack(row).reshape((*shape, *t.shape)) for row, t in zip(rows, targets)]
    return [np.stack(row).reshape((*shape, *t.shape)) for row, t in zip(rows, targets)]


def _jacobian(f: Callable, argnums: Argnums, has_aux: bool, name: str) -> Callable:
    """jacobian's body, with errors naming the public transform ``name``."""
    positions, single = _positions(name, argnums)

    def wrapped(*args: Any) -> Any:
        level = Level(name)
        with enable_grad():
            args, points, treedefs = level.arguments(f, args, positions)
            out, aux = level.split_aux(f(*args), has_aux)
            out_leaves, out_def = flatten(out)
            nested = level.nested(out_leaves)
            flat = [t for fresh in points for t in fresh]
            blocks = [_jacobian_block(level, y, flat, nested) for y in out_leaves]
        jac = unflatten(out_def, [_regroup(b, points, treedefs, single) for b in blocks])
        return (jac, aux) if has_aux else jac

    wrapped.__name__ = f"{name}({_name_of(f)})"
    return wrapped


def jacobian(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f`` -> a function returning the Jacobian (reverse mode, as ``jax.jacrev``).

    For an output of shape ``S`` and a differentiated leaf of shape ``X`` the block has
    shape ``S + X``. Outputs and arguments may be pytrees: the result has the output's
    structure with, at each output leaf, the argument's structure (a tuple over
    ``argnums`` when it is a tuple). With ``has_aux``: ``(jacobian, aux)``.
    """
    return _jacobian(f, argnums, has_aux, "jacobian")


def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """``f`` -> a function returning the Hessian of scalar ``f``: shape ``X + X`` for an
    argument of shape ``X``; for a tuple ``argnums``, nested tuples ``H[i][j]`` of shape
    ``X_i + X_j`` (as ``jax.hessian``)."""
    return _jacobian(_grad(f, argnums, False, "hessian"), argnums, False, "hessian")


# ---- hvp and jvp -------------------------------------------------------------------------


def _primals(name: str, x: Any, argnums: Argnums | None) -> tuple[tuple, tuple[int, ...], bool]:
    """The argument tuple, positions and single-ness for hvp/jvp: ``x`` is the one
    argument when ``argnums`` is None, else the tuple of all arguments."""
    if argnums is None:
        return (x,), (0,), True
    if not isinstance(x, (tuple, list)):
        raise TypeError(f"{name}: with argnums, x must be the tuple of f's arguments, "
                        f"got {describe(x)}")
    positions, single = _positions(name, argnums)
    return tuple(x), positions, single


def _float_dtype(leaf: Any) -> np.dtype:
    """The dtype a leaf's fresh point gets: floating dtypes are kept, the rest are float64."""
    dtype = (leaf.data if isinstance(leaf, Tensor) else np.asarray(leaf)).dtype
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _directions(name: str, v: Any, args: tuple, positions: tuple[int, ...],
                single: bool) -> list:
    """The tangent ``v`` as one value per differentiated leaf, checked against the
    arguments' structure and shapes and cast to their dtypes. A Tensor tangent stays a
    Tensor, so the result is differentiable with respect to it."""
    per_arg = [v] if single else v
    if not single and not (isinstance(v, (tuple, list)) and len(v) == len(positions)):
        raise ValueError(f"{name}: v must be a tuple with one tangent per argnums entry "
                         f"({len(positions)}), got {describe(v)}")
    out = []
    for i, (tangent, p) in enumerate(zip(per_arg, positions)):
        leaves, _ = flatten(tangent)
        primals, _ = flatten(args[p])
        label = "v" if single else f"v[{i}]"
        if len(leaves) != len(primals):
            raise ValueError(f"{name}: {label} has {len(leaves)} leaves but the argument it "
                             f"goes with has {len(primals)}; give v the argument's structure")
        for k, (leaf, primal) in enumerate(zip(leaves, primals)):
            dtype, shape = _float_dtype(primal), np.shape(getattr(primal, "data", primal))
            # Not copied: the backward pass copies an array seed before anything saves it.
            d = leaf if isinstance(leaf, Tensor) else np.asarray(leaf, dtype=dtype)
            if d.shape != shape:
                raise ValueError(f"{name}: {label}{leaf_paths(tangent)[k]} has shape "
                                 f"{d.shape} but the argument has shape {shape}")
            out.append(d.astype(dtype) if d.dtype != dtype else d)
    return out


def hvp(f: Callable, x: Any, v: Any, argnums: Argnums | None = None) -> Any:
    """Hessian of scalar ``f`` at ``x`` times ``v`` (``v`` shaped like ``x``), without
    forming it: the gradient of ``<grad f(x), v>`` (reverse over reverse).

    With ``argnums`` None, ``x`` is ``f``'s one argument (any pytree) and the result has
    its structure. Otherwise ``x`` is the tuple of all arguments, ``v`` the tangent of
    ``x[argnums]`` (a tuple of tangents for a tuple ``argnums``), and so is the result.

    One level serves both passes: the gradient at the fresh points, recorded, then the
    backward pass from it seeded with ``v`` (the gradient of ``<grad f, v>``). Nothing
    but ``f`` runs between them, so an inner level with points of its own (as
    ``grad(grad ...)`` has) would only add identity nodes and walks, not exactness.
    """
    args, positions, single = _primals("hvp", x, argnums)
    directions = _directions("hvp", v, args, positions, single)
    level = Level("hvp")
    with enable_grad():
        args, points, treedefs = level.arguments(f, args, positions)
        value = f(*args)
        level.check_scalar(value)
        flat = [t for fresh in points for t in fresh]
        # Recorded: the second pass differentiates the gradient.
        grads = level.gradients(value, flat, None, True)
        # The gradient of <grad f, v> is the backward pass from the gradient's leaves
        # seeded with v: no inner product to record and walk. Its graph reaches outside
        # the level exactly where the leaves or a Tensor v do.
        nested = level.nested(grads + [d for d in directions if isinstance(d, Tensor)])
        hv = level.gradients_of(grads, flat, directions, nested)
    return _regroup(hv, points, treedefs, single)


def jvp(f: Callable, x: Any, v: Any, argnums: Argnums | None = None) -> Any:
    """Jacobian of ``f`` at ``x`` times ``v`` (``v`` shaped like ``x``): the forward-mode
    product, shaped like ``f(x)`` (a pytree output gives a pytree).

    Reverse over reverse: ``u -> J^T u`` is linear in ``u``, so the gradient of
    ``<J^T u, v>`` with respect to ``u`` is ``J v``. Differentiable in ``x`` and in
    ``v``. ``argnums`` as for :func:`hvp`.
    """
    args, positions, single = _primals("jvp", x, argnums)
    directions = _directions("jvp", v, args, positions, single)
    level = Level("jvp")
    with enable_grad():
        args, points, _ = level.arguments(f, args, positions)
        out_leaves, out_def = flatten(f(*args))
        shapes = [level.shape_of(y) for y in out_leaves]
        nested = level.nested(out_leaves + [d for d in directions if isinstance(d, Tensor)])
        live = [y for y in out_leaves if isinstance(y, Tensor) and y.requires_grad]
        dummies = [level.new_leaf(y.shape, y.dtype) for y in live]
        flat = [t for fresh in points for t in fresh]
        jt = grad_of(live, flat, dummies, create_graph=True, floor=level.mark) if live else []
        # The gradient of <J^T u, v> in u is the backward pass from J^T u seeded with v:
        # no inner product to record and walk (as in hvp).
        jv = level.gradients_of(jt, dummies, directions, nested)
    by_id = {id(y): g for y, g in zip(live, jv)}
    results = []
    for y, shape in zip(out_leaves, shapes):
        g = by_id.get(id(y))
        dtype = y.dtype if isinstance(y, Tensor) else np.float64
        results.append(level.output(g if g is not None else np.zeros(shape, dtype), nested))
    return unflatten(out_def, results)
