"""Functional transforms on the reverse pass: grad, value_and_grad, jacobian, hessian,
hvp, jvp.

Given plain arrays they return plain arrays. Given Tensors that require grad (as when
one transform calls another) they record their backward pass (``create_graph``), so
they compose: ``grad(grad(f))`` is the second derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import enable_grad, grad_of
from .tensor import Tensor


def _argnums(argnums: int | Sequence[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), True
    return tuple(argnums), False


def _prepare(args: tuple, positions: tuple) -> tuple[list, list, bool]:
    """Arguments with the differentiated ones as Tensors requiring grad.

    Returns the arguments, the target Tensors, and whether the caller is itself being
    differentiated (some target already required grad), which calls for create_graph.
    """
    args = list(args)
    targets, nested = [], False
    for p in positions:
        if p >= len(args):
            raise IndexError(f"grad: argnums {p} but f got only {len(args)} arguments")
        a = args[p]
        if isinstance(a, Tensor) and a.requires_grad:
            nested = True
        else:
            data = a.data if isinstance(a, Tensor) else np.array(a, dtype=np.float64)
            if data.dtype.kind not in "fc":
                data = data.astype(np.float64)
            a = Tensor._make(data, None).requires_grad_()
        args[p] = a
        targets.append(a)
    return args, targets, nested


def _output(value: Any, nested: bool) -> Any:
    """A Tensor when nested (so the outer transform can differentiate it), else an array."""
    if value is None:
        return None
    if nested:
        return value if isinstance(value, Tensor) else Tensor(value)
    return value.data if isinstance(value, Tensor) else value


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> a function returning ``(f(*args), df/d args[argnums])`` for scalar ``f``.

    Gradients have the shapes of the differentiated arguments (a tuple of them when
    ``argnums`` is a tuple); an argument ``f`` does not depend on gets zeros.
    """
    positions, single = _argnums(argnums)

    def wrapped(*args: Any) -> tuple[Any, Any]:
        args, targets, nested = _prepare(args, positions)
        with enable_grad():
            value = f(*args)
            if not isinstance(value, Tensor) or value.size != 1:
                shape = getattr(value, "shape", type(value).__name__)
                raise TypeError(f"grad: f must return a single-element Tensor, got {shape}")
            if value.requires_grad:
                grads = grad_of([value], targets, create_graph=nested)
            else:
                grads = [None] * len(targets)
        grads = [
            _output(g if g is not None else np.zeros_like(t.data), nested)
            for g, t in zip(grads, targets)
        ]
        out_value = value if nested else value.data.reshape(()).item()
        return out_value, (grads[0] if single else tuple(grads))

    wrapped.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> a function computing df/dx of a scalar-valued ``f`` (as ``jax.grad``).

    ``x`` may be a number, an array or a Tensor; the result has x's shape. Compose
    for higher orders: ``grad(grad(f))``.
    """
    vg = value_and_grad(f, argnums)

    def wrapped(*args: Any) -> Any:
        return vg(*args)[1]

    wrapped.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapped


def jacobian(f: Callable, argnums: int = 0) -> Callable:
    """``f`` -> a function returning the Jacobian, of shape ``f(x).shape + x.shape``.

    One reverse pass per output element (retaining the graph between them).
    """

    def wrapped(*args: Any) -> Any:
        args, (x,), nested = _prepare(args, (argnums,))
        with enable_grad():
            y = f(*args)
            if not isinstance(y, Tensor):
                raise TypeError(f"jacobian: f must return a Tensor, got {type(y).__name__}")
            rows = []
            for k in range(y.size):
                seed = np.zeros(y.shape, dtype=y.dtype)
                seed.reshape(-1)[k] = 1
                (g,) = grad_of([y], [x], [seed], retain_graph=True, create_graph=nested) \
                    if y.requires_grad else (None,)
                rows.append(g if g is not None else np.zeros_like(x.data))
        if nested:
            from .ops import stack

            return stack([r if isinstance(r, Tensor) else Tensor(r) for r in rows]).reshape(
                *y.shape, *x.shape)
        return np.stack([np.asarray(r.data if isinstance(r, Tensor) else r) for r in rows]
                        ).reshape(*y.shape, *x.shape)

    wrapped.__name__ = f"jacobian({getattr(f, '__name__', 'f')})"
    return wrapped


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """``f`` -> a function returning the Hessian of scalar ``f``, shape ``x.shape * 2``."""
    return jacobian(grad(f, argnums), argnums)


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """Hessian of scalar ``f`` at ``x`` times ``v`` (shape of x), without forming it.

    Reverse over reverse: the gradient of ``<grad f(x), v>`` with respect to ``x``.
    """
    v_data = np.asarray(v.data if isinstance(v, Tensor) else v, dtype=np.float64)
    x_shape = np.shape(x.data if isinstance(x, Tensor) else x)
    if v_data.shape != x_shape:
        raise ValueError(f"hvp: v has shape {v_data.shape} but x has shape {x_shape}")

    def directional(x_: Tensor) -> Tensor:
        return (grad(f)(x_) * v_data.astype(x_.dtype)).sum()

    return grad(directional)(x)


def jvp(f: Callable, x: Any, v: Any) -> Any:
    """Jacobian of ``f`` at ``x`` times ``v`` (shape of x): the forward-mode product.

    Computed by reverse over reverse: ``u -> J^T u`` is linear in ``u``, so the
    gradient of ``<J^T u, v>`` with respect to ``u`` is ``J v``. Result: ``f(x).shape``.
    """
    args, (x_t,), nested = _prepare((x,), (0,))
    v_data = np.asarray(v.data if isinstance(v, Tensor) else v, dtype=x_t.dtype)
    if v_data.shape != x_t.shape:
        raise ValueError(f"jvp: v has shape {v_data.shape} but x has shape {x_t.shape}")
    with enable_grad():
        y = f(x_t)
        u = Tensor(np.zeros(y.shape, dtype=y.dtype), requires_grad=True)
        (jt_u,) = grad_of([y], [x_t], [u], create_graph=True)
        if jt_u is None:
            return _output(np.zeros(y.shape), nested)
        (jv,) = grad_of([(jt_u * v_data).sum()], [u], create_graph=nested)
    return _output(jv if jv is not None else np.zeros(y.shape), nested)
