"""Compare analytic gradients with central differences: the one numeric checker.

Every check in the project goes through two functions here:

- :func:`slopes`: the forward and backward one-sided difference quotients of
  ``sum(f(x) * upstream)`` for chosen elements of ``x`` (their mean is the central
  difference), computed in float64, one element at a time, on a copy of ``x``;
- :func:`compare`: the one pass criterion. An element passes when
  ``|analytic - central| <= atol + rtol * |central|``; at a kink (the one-sided slopes
  differ by more than 10% + atol) any value between the two slopes passes, so PyTorch's
  conventions (``relu'(0) = 0``) are not flagged; where the forward is not finite nearby
  the element is skipped. The relative error reported is
  ``|analytic - central| / max(|analytic|, |central|, atol)``.

Their users: :func:`gradcheck` and :func:`numeric_grad` (a function of Tensors),
:func:`check_op` (one recorded op, for ``draw_graph(check=True)``) and
``autograd-lite train``'s pre-flight check (a model's parameters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import engine
from .engine import enable_grad, grad_of, no_grad
from .function import Context
from .tensor import Tensor

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-3


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element."""


# ---------------------------------------------------------------------------------
# The core: differences and the pass criterion


def slopes(f: Callable[[np.ndarray], Any], x: np.ndarray, elements: np.ndarray | None = None,
           upstream: np.ndarray | None = None, eps: float = EPS) -> np.ndarray:
    """One-sided slopes of ``sum(f(x) * upstream)`` at the flat ``elements`` of ``x``.

    ``f`` maps a float64 array shaped like ``x`` to an array (or a one-element
    output when ``upstream`` is None). Returns shape ``(2, k)``: forward slopes, then
    backward slopes; their mean is the central difference. ``x`` itself is not
    modified. Output differences are taken before contracting with ``upstream``, so
    the many output elements a perturbation leaves alone cancel exactly instead of
    adding rounding error.
    """
    # C order: reshape(-1) must be a view to write through, and flat indices C-ordered.
    x = np.array(x, dtype=np.float64, order="C")
    elements = np.arange(x.size) if elements is None else elements
    base = _output(f, x, upstream)
    weights = 1.0 if upstream is None else upstream
    result = np.empty((2, len(elements)))
    flat = x.reshape(-1)
    for j, k in enumerate(elements):
        saved = flat[k]
        flat[k] = saved + eps
        up = _output(f, x, upstream)
        flat[k] = saved - eps
        down = _output(f, x, upstream)
        flat[k] = saved
        with np.errstate(invalid="ignore", over="ignore"):
            result[0, j] = np.sum((up - base) * weights) / eps
            result[1, j] = np.sum((base - down) * weights) / eps
    return result


def _output(f: Callable[[np.ndarray], Any], x: np.ndarray, upstream: np.ndarray | None) -> Any:
    """``f(x)`` as an array (a copy of ``x`` is passed: ``f`` may keep it)."""
    value = f(x.copy())
    arr = np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)
    if upstream is None and arr.size != 1:
        raise ValueError(f"numeric gradient: f must return a scalar, got shape {arr.shape}")
    return arr if upstream is not None else arr.reshape(())


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found: per element, ``failed`` and ``rel`` (relative error)."""

    failed: np.ndarray
    rel: np.ndarray
    central: np.ndarray

    @property
    def ok(self) -> bool:
        """True when every element passes."""
        return not self.failed.any()

    @property
    def worst(self) -> int:
        """Position of the worst element: a failing one first, then the largest error."""
        return int(np.lexsort((self.rel, self.failed))[-1])


def compare(analytic: np.ndarray, slope: np.ndarray, atol: float = ATOL,
            rtol: float = RTOL) -> Comparison:
    """The pass criterion (see the module docstring) for flat ``analytic`` values and
    the ``(2, k)`` slopes from :func:`slopes`."""
    analytic = np.asarray(analytic, dtype=np.float64).reshape(-1)
    plus, minus = slope
    with np.errstate(invalid="ignore", over="ignore"):
        central = (plus + minus) / 2
        err = np.where(np.isfinite(analytic), np.abs(analytic - central), np.inf)
        tol = atol + rtol * np.abs(central)
        kink = np.abs(plus - minus) > 0.1 * np.maximum(np.abs(plus), np.abs(minus)) + atol
        between = ((analytic >= np.minimum(plus, minus) - tol)
                   & (analytic <= np.maximum(plus, minus) + tol))
        err = np.where((kink & between) | ~np.isfinite(central), 0.0, err)
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(central)), atol)
        rel = np.where(np.isfinite(scale), err / scale, np.inf)
    return Comparison(err > tol, rel, central)


def sample(size: int, limit: int, seed: int) -> np.ndarray:
    """Every flat index below ``size``, or a fixed random ``limit`` of them (sorted)."""
    if size <= limit:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, limit, replace=False))


# ---------------------------------------------------------------------------------
# gradcheck and numeric_grad: a function of Tensors


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


def _slopes_of(f: Callable, values: list, index: int, eps: float,
               upstream: np.ndarray | None) -> np.ndarray:
    """:func:`slopes` of ``f(*values)`` with respect to ``values[index]``, under no_grad."""
    args = [Tensor(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for v in values]

    def at(x: np.ndarray) -> Any:
        args[index] = Tensor(x)
        return f(*args)

    with no_grad():
        return slopes(at, values[index], upstream=upstream, eps=eps)


def numeric_grad(f: Callable, inputs: Any, eps: float = EPS) -> Any:
    """Central-difference gradient of scalar ``f(*inputs)`` w.r.t. each floating input.

    ``inputs``: a Tensor/array or a list of them (non-floating ones, e.g. labels,
    pass through unchecked, with ``None`` in their place in the result). Returns
    float64 arrays shaped like the inputs (one array when a single input was given).
    """
    items, single = _as_list(inputs)
    values = _values64(items)
    grads: list = [None] * len(values)
    for i in _checked(values):
        grads[i] = _slopes_of(f, values, i, eps, None).mean(axis=0).reshape(values[i].shape)
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


def gradcheck(f: Callable, inputs: Any, eps: float = EPS, atol: float = ATOL,
              rtol: float = RTOL) -> bool:
    """Check ``f``'s analytic gradients against central differences, in float64.

    ``f(*inputs)`` returns a Tensor; a non-scalar output is contracted with a fixed
    random upstream gradient, so every output element is checked. The pass criterion is
    :func:`compare`'s. Returns True, or raises :class:`GradcheckError` naming the input,
    the worst element's index, both values, their difference and the tolerance.
    """
    items, _ = _as_list(inputs)
    values = _values64(items)
    if not _checked(values):
        raise ValueError("gradcheck: no floating-point input to check")
    analytic, upstream = _analytic(f, values, upstream_seed=0)
    for pos, i in enumerate(_checked(values)):
        a = analytic[pos]
        result = compare(a, _slopes_of(f, values, i, eps, upstream), atol, rtol)
        if not result.ok:
            worst = result.worst
            idx = np.unravel_index(worst, a.shape) if a.ndim else ()
            numeric = result.central[worst]
            raise GradcheckError(
                f"gradcheck failed for {_input_label(items, i)} of shape {a.shape} at index "
                f"{tuple(int(k) for k in idx)}: analytic {a[idx]:.10g}, numeric "
                f"{numeric:.10g}, difference {abs(a[idx] - numeric):.3g} "
                f"(tolerance {atol + rtol * abs(numeric):.3g})"
            )
    return True


# ---------------------------------------------------------------------------------
# check_op: one recorded op, at the inputs it recorded


@dataclasses.dataclass(frozen=True)
class OpCheck:
    """What :func:`check_op` found for one recorded op.

    ``status``: ``"agrees"``, ``"disagrees"`` or ``"unchecked"`` (``detail`` says why);
    ``rel_error``: the worst relative error (see :func:`compare`) over the compared
    elements; ``input_index``: the input where it was worst.
    """

    status: str
    rel_error: float = 0.0
    input_index: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """False only when the VJP was compared and disagrees."""
        return self.status != "disagrees"


def check_op(node: engine.Node, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
             max_elements: int = 256, seed: int = 0) -> OpCheck:
    """Compare ``node``'s VJP with central differences of its forward, in float64.

    The forward is re-run from ``node.op.forward``, the arrays the node recorded
    (``node.saved``, copied to float64) and ``node.params`` (a custom Function gets a
    fresh ``ctx`` per evaluation). The output is contracted with a fixed random
    upstream gradient; the VJP's gradients are summed back to each input's shape as the
    engine does (``engine.unbroadcast``). Only floating inputs that require grad are
    perturbed, one element at a time (a fixed random sample of ``max_elements`` of
    larger inputs); the pass criterion is :func:`compare`'s.
    Raises RuntimeError if backward already freed the node's arrays.
    """
    if node.saved is None:
        raise RuntimeError(freed_message(node))
    base = [_float64(arr) for arr in node.saved]
    checked = _checked_inputs(node)
    if not checked:
        return OpCheck("unchecked", detail="no floating input requires grad")
    out, params = _evaluate(node, base)
    if out.dtype != np.float64:
        return OpCheck("unchecked", detail=f"forward gives {out.dtype} at float64 inputs")
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    try:
        analytic = _vjp64(node, upstream, out, base, params, checked)
    except ValueError as exc:  # the VJP returned the wrong number or shape of gradients
        return OpCheck("disagrees", float("inf"), None, str(exc))
    results = []
    for i in checked:
        elements = sample(base[i].size, max_elements, seed)

        def forward_at(x: np.ndarray, i: int = i) -> np.ndarray:
            return _evaluate(node, [*base[:i], x, *base[i + 1:]])[0]

        found = compare(analytic[i].reshape(-1)[elements],
                        slopes(forward_at, base[i], elements, upstream, eps), atol, rtol)
        results.append((not found.ok, float(found.rel.max(initial=0.0)), i))
    bad, rel, i = max(results)  # a failing input outranks a passing one, then the larger error
    return OpCheck("disagrees" if bad else "agrees", rel, i)


def freed_message(node: engine.Node) -> str:
    """Why an op whose arrays backward freed cannot be checked, and what to do."""
    return (
        f"draw_graph(check=True) needs the graph alive, but backward already freed the "
        f"arrays '{node.op.name}' saved: call draw_graph(..., check=True) before backward, "
        f"or run backward(retain_graph=True)"
    )


def _float64(arr: Any) -> Any:
    """A float64 copy of a floating array; integer/bool arrays and Python constants as is."""
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
        return np.array(arr, dtype=np.float64)
    return arr


def _checked_inputs(node: engine.Node) -> list[int]:
    """Positions of the inputs whose gradient the engine would use."""
    return [i for i, (inp, arr) in enumerate(zip(node.inputs, node.saved))
            if isinstance(inp, Tensor) and inp.requires_grad
            and isinstance(arr, np.ndarray) and arr.dtype.kind == "f"]


def _evaluate(node: engine.Node, args: list) -> tuple[np.ndarray, dict]:
    """The op's forward on ``args``, and the params it ran with (its VJP needs the same)."""
    params = node.params
    ctx = params.get("ctx")
    if isinstance(ctx, Context):
        # A ctx holds what one forward saved for its backward: each evaluation needs its own.
        params = {**params, "ctx": type(ctx)(ctx.needs_input_grad)}
    return np.asarray(node.op.forward(*args, **params)), params


def _vjp64(node: engine.Node, upstream: np.ndarray, out: np.ndarray, base: list, params: dict,
           checked: list[int]) -> dict[int, np.ndarray]:
    """The VJP's gradient for each checked input, summed back to the input's shape."""
    name = node.op.name
    grads = node.op.vjp(upstream, out, *base, **params)
    if len(grads) != len(base):
        raise ValueError(f"'{name}' backward returned {len(grads)} gradients for "
                         f"{len(base)} inputs")
    result = {}
    for i in checked:
        shape = base[i].shape
        gi = np.zeros(shape) if grads[i] is None else np.asarray(grads[i], dtype=np.float64)
        try:
            result[i] = engine.unbroadcast(gi, shape)
        except ValueError:
            raise ValueError(f"'{name}' backward returned a gradient of shape {gi.shape} for "
                             f"input {i} of shape {shape}") from None
    return result
