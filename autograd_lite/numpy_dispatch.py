"""NumPy functions on Tensors (``__array_ufunc__``, ``__array_function__``), from the op table.

``np.exp(t)``, ``ndarray * t``, ``np.sum(t, axis=0)``, ``np.concatenate([t, a])`` call the
function of the entry whose ``numpy=`` names them, with the same arguments, and return a
recorded Tensor. A NumPy function the table does not cover raises ``TypeError`` naming it:
converting to an array silently would cut the graph and give wrong gradients. Queries
that read no values into a result (``np.shape``, ``np.ndim``...) run on the arrays.

A ufunc given ndarray ``out=`` computes on the raw values without recording, so
``w.data -= lr * w.grad`` and ``np.add(a, t, out=a)`` work as PyTorch's
``p.data += -lr * p.grad`` does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor import Tensor  # tensor.py imports this module after defining Tensor

# Functions whose result is metadata or a Python bool, never an array of values that
# would need a gradient: they run on the Tensors' arrays.
_QUERIES = frozenset({np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj,
                      np.isrealobj, np.allclose, np.array_equal, np.array_equiv,
                      np.may_share_memory, np.shares_memory})


@functools.cache
def _covered() -> tuple[dict[np.ufunc, Callable[..., Any]], dict[Any, Callable[..., Any]]]:
    """``(ufunc -> function, NumPy function -> function)`` from the table's ``numpy=``."""
    from .ops import TABLE  # the op modules import tensor.py, which imports this module

    ufuncs: dict[np.ufunc, Callable[..., Any]] = {}
    functions: dict[Any, Callable[..., Any]] = {}
    for entry in TABLE:
        for f in entry.numpy:
            (ufuncs if isinstance(f, np.ufunc) else functions)[f] = entry.function
    return ufuncs, functions


def covered_names() -> list[str]:
    """``np.<name>`` of every NumPy function or ufunc that Tensors dispatch."""
    ufuncs, functions = _covered()
    return sorted(public_name(f) for f in (*ufuncs, *functions))


def public_name(func: Any) -> str:
    """``np.sum``, ``np.linalg.norm``: how a user spells a NumPy function."""
    if isinstance(func, np.ufunc) and getattr(np, func.__name__, None) is not func:
        # Another library's ufunc (scipy.special.expit): ufuncs carry no module, and
        # calling it np.expit would send the user looking in the wrong place.
        return func.__name__
    module = getattr(func, "__module__", None) or "numpy"
    sub = module[len("numpy"):] if module.startswith("numpy") and "._" not in module else ""
    return f"np{sub}.{func.__name__}"


def _refused(name: str) -> TypeError:
    return TypeError(
        f"{name} has no gradient rule in autograd_lite, so it cannot take a Tensor (a silent "
        f"conversion would cut the graph). Call it on t.data for raw values without "
        f"gradient, or use a function of docs/API.md"
    )


def _raw(x: Any) -> Any:
    """``x`` with every Tensor (also inside lists, tuples and dicts) replaced by its array."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_raw(v) for v in x)
    if isinstance(x, dict):
        return {k: _raw(v) for k, v in x.items()}
    return x


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_ufunc__``: the table's function, or raw values into ``out=``."""
    name = public_name(ufunc) + ("" if method == "__call__" else f".{method}")
    if kwargs.get("out") is not None:
        if any(isinstance(o, Tensor) for o in kwargs["out"]):
            raise TypeError(f"{name}: out= cannot be a Tensor (a Tensor is never written in "
                            f"place); pass its .data under ag.no_grad() to update raw values")
        if any(isinstance(o, np.ndarray) and not o.flags.writeable for o in kwargs["out"]):
            raise ValueError(
                f"{name}: the out= array is read-only; if it is a tensor's .data, a live graph "
                f"saved it for backward (a result not yet backpropagated, or kept with "
                f"retain_graph=True): call its backward, drop it, or build it under "
                f"ag.no_grad()"
            )
        return getattr(ufunc, method)(*_raw(inputs), **_raw(kwargs))
    fn = _covered()[0].get(ufunc) if method == "__call__" else None
    if fn is None:
        raise _refused(name)
    if kwargs:
        raise TypeError(f"{name}: keyword {', '.join(f'{k}=' for k in kwargs)} is not "
                        f"supported on Tensors")
    return fn(*inputs)


def array_function(func: Any, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: the table's function, or a query on the arrays."""
    fn = _covered()[1].get(func)
    if fn is not None:
        return fn(*args, **kwargs)
    if func in _QUERIES:
        return func(*_raw(args), **_raw(kwargs))
    raise _refused(public_name(func))
