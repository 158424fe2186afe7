"""Compare analytic gradients with central differences: numeric_grad and gradcheck.

Both work in float64 whatever the inputs' dtype (float32 central differences give
false alarms) and perturb one element at a time, restoring it from a saved copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import enable_grad, grad_of, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element."""


def _as_list(inputs: Any) -> tuple[list, bool]:
    """``inputs`` as a list, and whether a single input was given."""
    if isinstance(inputs, (list, tuple)):
        return list(inputs), False
    return [inputs], True


def _values64(inputs: Sequence) -> list:
    """float64 copies of the floating inputs; other inputs (class labels...) as given."""
    out = []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else x
        if isinstance(arr, (np.ndarray, float, int, list)) and np.asarray(arr).dtype.kind in "fc":
            out.append(np.array(arr, dtype=np.float64))
        else:
            out.append(arr)
    return out


def _checked(values: Sequence) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, np.ndarray) and v.dtype == np.float64]


def _scalar(value: Any, upstream: np.ndarray | None) -> float:
    arr = value.data if isinstance(value, Tensor) else np.asarray(value)
    if upstream is not None:
        return float(np.sum(arr * upstream))
    if arr.size != 1:
        raise ValueError(f"numeric_grad: f must return a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))


def _numeric(f: Callable, values: list, index: int, eps: float,
             upstream: np.ndarray | None) -> np.ndarray:
    """Central differences of f w.r.t. values[index], one element at a time."""
    x = values[index]
    grad = np.zeros_like(x)
    args = [Tensor(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for v in values]
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    with no_grad():
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + eps
            args[index] = Tensor(x)
            up = _scalar(f(*args), upstream)
            flat[k] = saved - eps
            args[index] = Tensor(x)
            down = _scalar(f(*args), upstream)
            flat[k] = saved
            gflat[k] = (up - down) / (2 * eps)
    return grad


def numeric_grad(f: Callable, inputs: Any, eps: float = 1e-6) -> Any:
    """Central-difference gradient of scalar ``f(*inputs)`` w.r.t. each floating input.

    ``inputs``: a Tensor/array or a list of them (non-floating ones, e.g. labels,
    pass through unchecked, with ``None`` in their place in the result). Returns
    float64 arrays shaped like the inputs (one array when a single input was given).
    """
    items, single = _as_list(inputs)
    values = _values64(items)
    grads: list = [None] * len(values)
    for i in _checked(values):
        grads[i] = _numeric(f, values, i, eps, None)
    return grads[0] if single else grads


def _analytic(f: Callable, values: list, upstream_seed: int) -> tuple[list, np.ndarray | None]:
    leaves = [Tensor(v, requires_grad=True) if i in _checked(values) else v
              for i, v in enumerate(values)]
    with enable_grad():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    upstream = None
    if out.size != 1:  # a fixed random upstream gradient checks every output element
        upstream = np.random.default_rng(upstream_seed).standard_normal(out.shape)
    targets = [leaves[i] for i in _checked(values)]
    if not out.requires_grad:
        return [np.zeros_like(t.data) for t in targets], upstream
    grads = grad_of([out], targets, [upstream])
    return [np.zeros_like(t.data) if g is None else np.asarray(g) for t, g in
            zip(targets, grads)], upstream


def _input_label(items: Sequence, i: int) -> str:
    name = getattr(items[i], "name", None)
    return f"input {i}" + (f" ({name!r})" if name else "")


def gradcheck(f: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Check ``f``'s analytic gradients against central differences, in float64.

    ``f(*inputs)`` returns a Tensor; a non-scalar output is contracted with a fixed
    random upstream gradient, so every output element is checked. An element passes
    when ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns True, or raises
    :class:`GradcheckError` naming the input, the worst element's index, both values,
    their difference and the tolerance.
    """
    items, _ = _as_list(inputs)
    values = _values64(items)
    if not _checked(values):
        raise ValueError("gradcheck: no floating-point input to check")
    analytic, upstream = _analytic(f, values, upstream_seed=0)
    for pos, i in enumerate(_checked(values)):
        numeric = _numeric(f, [v.copy() if isinstance(v, np.ndarray) else v for v in values],
                           i, eps, upstream)
        a = analytic[pos]
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (np.nanmax(excess) > 0 or not np.isfinite(a).all()):
            flat = int(np.nanargmax(np.where(np.isfinite(a), excess, np.inf)))
            idx = np.unravel_index(flat, a.shape) if a.ndim else ()
            raise GradcheckError(
                f"gradcheck failed for {_input_label(items, i)} of shape {a.shape} at index "
                f"{tuple(int(k) for k in idx)}: analytic {a[idx]:.10g}, numeric "
                f"{numeric[idx]:.10g}, difference {abs(a[idx] - numeric[idx]):.3g} "
                f"(tolerance {atol + rtol * abs(numeric[idx]):.3g})"
            )
    return True
