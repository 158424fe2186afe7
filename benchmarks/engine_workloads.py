"""Engine workloads for ``make bench`` (issue 2): per-op overhead, a long tape, broadcasting
and second order.

- W1: 200 elementwise ops on a 4-vector, forward + backward, microseconds per op.
- W4: 100,000 chained ``x = x*0.9999 + 0.0001`` on one float64, forward + backward,
  plus traced memory per op and what stays allocated once the output is dropped.
- W5: ``(x - mean)/sqrt(var + eps)*g + b`` on (256, 512), sum of squares, backward.
- W6: Hessian-vector product of a 2-16-16-1 tanh MLP's MSE loss w.r.t. its first weights.

Every candidate is a zero-argument callable doing the whole forward + backward and
returning its value and gradients as arrays, so the harness can check once, before
timing, that all candidates computed the same thing. All setup happens here.
"""

from __future__ import annotations

import gc
import importlib
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import autograd_lite as ag
from benchmarks import jax_peers
from benchmarks.harness import ENGINE, HIPS, NUMPY, TORCH, Workload

SEED = 0
Candidate = Callable[[], object]


def _optional(module: str) -> ModuleType | None:
    """``module`` imported, or None when it is not installed (its candidates show n/a)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


torch = _optional("torch")
hips = _optional("autograd")
anp = _optional("autograd.numpy")


def _when(module: ModuleType | None, build: Callable[[], Candidate]) -> Candidate | None:
    """``build()`` if ``module`` is importable, else None."""
    return build() if module is not None else None


# ---- W1: op overhead -------------------------------------------------------------------

W1_CYCLES = 50  # each cycle is 4 ops: mul, add, tanh, exp
W1_OPS = 4 * W1_CYCLES


def _w1_chain(x: Any, tanh: Callable, exp: Callable) -> Any:
    """The W1 expression for every framework; values stay in (0.3, 2.8)."""
    for _ in range(W1_CYCLES):
        x = exp(tanh(x * 0.5 + 0.1))
    return x


def _w1_numpy(x0: np.ndarray) -> Candidate:
    """Forward saving tanh and exp results, then the hand-derived backward chain."""

    def run() -> tuple:
        saved = []
        x = x0
        for _ in range(W1_CYCLES):
            t = np.tanh(x * 0.5 + 0.1)
            x = np.exp(t)
            saved.append((t, x))
        g = np.ones_like(x)
        for t, e in reversed(saved):
            g = g * e * (1 - t * t) * 0.5  # exp, tanh, add (identity), mul by 0.5
        return x, g

    return run


def _w1_engine(x0: np.ndarray) -> Candidate:
    x = ag.tensor(x0, requires_grad=True)
    seed = np.ones_like(x0)

    def run() -> tuple:
        x.grad = None
        y = _w1_chain(x, ag.Tensor.tanh, ag.Tensor.exp)
        y.backward(seed)
        return y.data, x.grad.data

    return run


def _w1_torch(x0: np.ndarray) -> Candidate:
    x = torch.tensor(x0, requires_grad=True)
    seed = torch.ones_like(x)

    def run() -> tuple:
        x.grad = None
        y = _w1_chain(x, torch.tanh, torch.exp)
        y.backward(seed)
        return y.detach().numpy(), x.grad.numpy()

    return run


def _w1_hips(x0: np.ndarray) -> Candidate:
    seed = np.ones_like(x0)
    forward = hips.make_vjp(lambda x: _w1_chain(x, anp.tanh, anp.exp))

    def run() -> tuple:
        vjp, y = forward(x0)
        return y, vjp(seed)

    return run


def w1() -> Workload:
    """200 elementwise ops (mul, add, tanh, exp) on a 4-vector, forward + backward."""
    x0 = np.random.default_rng(SEED).uniform(-1, 1, 4)
    return Workload(
        id="W1",
        title="op overhead: 200 elementwise ops on a 4-vector, fwd + bwd",
        unit="us/op",
        per=W1_OPS,
        candidates={
            ENGINE: _w1_engine(x0),
            NUMPY: _w1_numpy(x0),
            TORCH: _when(torch, lambda: _w1_torch(x0)),
            HIPS: _when(hips, lambda: _w1_hips(x0)),
            **jax_peers.vjp_candidates(
                lambda xnp: lambda x: _w1_chain(x, xnp.tanh, xnp.exp), x0),
        },
    )


# ---- W4: long tape ---------------------------------------------------------------------

W4_STEPS = 100_000
W4_OPS = 2 * W4_STEPS  # one mul and one add per statement
W4_START = 0.5


def _w4_chain(x: Any) -> Any:
    """The W4 statement 100,000 times; x converges towards 1."""
    for _ in range(W4_STEPS):
        x = x * 0.9999 + 0.0001
    return x


def _w4_numpy() -> tuple:
    """The chain forward, then its derivative 0.9999**N accumulated by hand, step by step."""
    x = _w4_chain(np.float64(W4_START))
    g = np.float64(1.0)
    for _ in range(W4_STEPS):
        g = g * 0.9999
    return x, g


def _w4_engine() -> tuple:
    x = ag.tensor(W4_START, requires_grad=True)
    y = _w4_chain(x)
    y.backward()
    return y.data, x.grad.data


def _w4_torch() -> tuple:
    x = torch.tensor(W4_START, dtype=torch.float64, requires_grad=True)
    y = _w4_chain(x)
    y.backward()
    return y.detach().numpy(), x.grad.numpy()


def _w4_hips() -> tuple:
    vjp, y = hips.make_vjp(_w4_chain)(W4_START)
    return y, vjp(1.0)


def _traced_bytes(forward: Callable[[], Any], backward: Callable[[Any], None]) -> dict[str, int]:
    """Traced memory of one forward + backward with gc off (reference counting only).

    Returns the peak over forward and backward, what is still allocated after the output
    is deleted and after a full ``gc.collect()`` (all relative to the start), and how
    many unreachable objects that collection found: 0 means reference counting alone
    freed the graph, and what ``gc.collect()`` then releases is only CPython's free
    lists (recycled tuples, dicts, floats) that tracemalloc still counts as allocated.
    """
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = forward()
        backward(y)
        peak = tracemalloc.get_traced_memory()[1] - base
        del y
        after_del = tracemalloc.get_traced_memory()[0] - base
        cycles = gc.collect()
        after_gc = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        gc.enable()
    return {"peak": peak, "after_del": after_del, "after_gc": after_gc, "cycles": cycles}


def _w4_engine_memory() -> dict[str, int]:
    x = ag.tensor(W4_START, requires_grad=True)
    return _traced_bytes(lambda: _w4_chain(x), lambda y: y.backward())


def _w4_hips_memory() -> dict[str, int]:
    # make_vjp runs the forward and keeps the graph inside the returned vjp closure.
    return _traced_bytes(lambda: hips.make_vjp(_w4_chain)(W4_START),
                         lambda pair: pair[0](1.0))


def _w4_metrics() -> dict[str, str]:
    """Traced memory per recorded op for the Python engines (PyTorch allocates in C++)."""
    measured = {ENGINE: _w4_engine_memory()}
    if hips is not None:
        measured[HIPS] = _w4_hips_memory()
    return {
        f"{name} traced memory": (
            f"peak {m['peak'] / W4_OPS:,.0f} B per recorded op "
            f"({m['peak'] / W4_STEPS:,.0f} B per statement); "
            f"left after `del` of the output {m['after_del']:,} B, after gc.collect() "
            f"{m['after_gc']:,} B ({m['cycles']:,} unreachable objects found)"
        )
        for name, m in measured.items()
    }


def w4() -> Workload:
    """100,000 chained ``x*0.9999 + 0.0001`` on one float64, forward + backward."""
    return Workload(
        id="W4",
        title="long tape: 100,000 x = x*0.9999 + 0.0001 (200,000 ops), fwd + bwd",
        unit="s",
        min_samples=3,
        candidates={
            ENGINE: _w4_engine,
            NUMPY: _w4_numpy,
            TORCH: _when(torch, lambda: _w4_torch),
            HIPS: _when(hips, lambda: _w4_hips),
            **jax_peers.loop_candidates(lambda x: x * 0.9999 + 0.0001, W4_STEPS, W4_START),
        },
        metrics=_w4_metrics,
        note="traced memory is measured in a separate pass with gc disabled; tracemalloc "
             "cannot see PyTorch's C++ allocations, so PyTorch has no memory figure. JAX: "
             "jit of a fori_loop only (eager dispatch or tracing 200,000 ops takes minutes).",
    )


# ---- W5: broadcast-heavy ---------------------------------------------------------------

W5_EPS = 1e-5


def _w5_expression(x: Any, g: Any, b: Any, mean: Callable, var: Callable, sqrt: Callable) -> Any:
    """The normalization of W5 and its sum of squares, for every framework."""
    y = (x - mean(x)) / sqrt(var(x) + W5_EPS) * g + b
    return (y * y).sum()


def _w5_numpy(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> Candidate:
    """Forward, then the hand-derived backward of normalization over axis 0."""
    n = x.shape[0]

    def run() -> tuple:
        xc = x - x.mean(axis=0)
        inv = 1.0 / np.sqrt((xc * xc).mean(axis=0) + W5_EPS)
        xhat = xc * inv
        y = xhat * g + b
        loss = (y * y).sum()  # not np.vdot: BLAS threads would make it load-sensitive
        dy = 2.0 * y
        db = dy.sum(axis=0)
        dg = (dy * xhat).sum(axis=0)
        dxhat = dy * g
        # d/dx of normalization: mean and variance both depend on x.
        dx = (inv / n) * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
        return loss, dx, dg, db

    return run


def _w5_engine(x0: np.ndarray, g0: np.ndarray, b0: np.ndarray) -> Candidate:
    x, g, b = (ag.tensor(a, requires_grad=True) for a in (x0, g0, b0))

    def run() -> tuple:
        for t in (x, g, b):
            t.grad = None
        loss = _w5_expression(x, g, b, lambda t: t.mean(axis=0), lambda t: t.var(axis=0),
                              ag.Tensor.sqrt)
        loss.backward()
        return loss.data, x.grad.data, g.grad.data, b.grad.data

    return run


def _w5_torch(x0: np.ndarray, g0: np.ndarray, b0: np.ndarray) -> Candidate:
    x, g, b = (torch.tensor(a, requires_grad=True) for a in (x0, g0, b0))

    def run() -> tuple:
        for t in (x, g, b):
            t.grad = None
        loss = _w5_expression(x, g, b, lambda t: t.mean(dim=0),
                              lambda t: t.var(dim=0, correction=0), torch.sqrt)
        loss.backward()
        return loss.detach().numpy(), x.grad.numpy(), g.grad.numpy(), b.grad.numpy()

    return run


def _w5_hips(x0: np.ndarray, g0: np.ndarray, b0: np.ndarray) -> Candidate:
    def f(x: Any, g: Any, b: Any) -> Any:
        return _w5_expression(x, g, b, lambda t: anp.mean(t, axis=0),
                              lambda t: anp.var(t, axis=0), anp.sqrt)

    value_and_grads = hips.value_and_grad(f, argnum=(0, 1, 2))

    def run() -> tuple:
        loss, grads = value_and_grads(x0, g0, b0)
        return (loss, *grads)

    return run


def w5() -> Workload:
    """``(x - mean)/sqrt(var + eps)*g + b`` on (256, 512), sum of squares, backward."""
    rng = np.random.default_rng(SEED)
    x, g, b = rng.standard_normal((256, 512)), rng.standard_normal(512), rng.standard_normal(512)
    return Workload(
        id="W5",
        title="broadcast-heavy: (x-mean)/sqrt(var+eps)*g+b on (256,512), sum sq, fwd + bwd",
        unit="ms",
        candidates={
            ENGINE: _w5_engine(x, g, b),
            NUMPY: _w5_numpy(x, g, b),
            TORCH: _when(torch, lambda: _w5_torch(x, g, b)),
            HIPS: _when(hips, lambda: _w5_hips(x, g, b)),
            **jax_peers.grads_candidates(
                lambda xnp: lambda x, g, b: _w5_expression(
                    x, g, b, lambda t: xnp.mean(t, axis=0), lambda t: xnp.var(t, axis=0),
                    xnp.sqrt), x, g, b),
        },
    )


# ---- W6: second order ------------------------------------------------------------------

W6_SIZES = (2, 16, 16, 1)
W6_BATCH = 32


def _w6_loss(w1: Any, params: tuple, X: Any, Y: Any, tanh: Callable) -> Any:
    """MSE of the 2-16-16-1 tanh MLP ``tanh(tanh(X@W1+b1)@W2+b2)@W3+b3`` against Y."""
    b1, w2, b2, w3, b3 = params
    out = tanh(tanh(X @ w1 + b1) @ w2 + b2) @ w3 + b3
    r = out - Y
    return (r * r).mean()


def _w6_numpy(w1: np.ndarray, params: tuple, X: np.ndarray, Y: np.ndarray,
              v: np.ndarray) -> Candidate:
    """Pearlmutter's R-operator by hand: the forward-mode derivative (direction v on W1)
    of the hand-written backward pass, i.e. H v without forming H."""
    b1, w2, b2, w3, b3 = params
    n = Y.size

    def run() -> np.ndarray:
        h1 = np.tanh(X @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        d1, d2 = 1 - h1 * h1, 1 - h2 * h2  # tanh' at each layer
        dh2 = (2.0 / n) * (h2 @ w3 + b3 - Y) @ w3.T
        dh1 = (dh2 * d2) @ w2.T
        # R{.}: directional derivatives along v, pushed forward then backward.
        r_h1 = d1 * (X @ v)
        r_h2 = d2 * (r_h1 @ w2)
        r_dh2 = (2.0 / n) * (r_h2 @ w3) @ w3.T
        r_dz2 = r_dh2 * d2 - 2 * dh2 * h2 * r_h2
        r_dz1 = (r_dz2 @ w2.T) * d1 - 2 * dh1 * h1 * r_h1
        return X.T @ r_dz1

    return run


def _w6_engine(w1: np.ndarray, params: tuple, X: np.ndarray, Y: np.ndarray,
               v: np.ndarray) -> Candidate:
    consts = tuple(ag.tensor(p) for p in params)

    def loss(w: ag.Tensor) -> ag.Tensor:
        return _w6_loss(w, consts, X, Y, ag.Tensor.tanh)

    return lambda: ag.hvp(loss, w1, v)


def _w6_torch(w1: np.ndarray, params: tuple, X: np.ndarray, Y: np.ndarray,
              v: np.ndarray) -> Candidate:
    w = torch.tensor(w1, requires_grad=True)
    consts = tuple(torch.from_numpy(p) for p in params)
    X_t, Y_t, v_t = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(v)

    def run() -> np.ndarray:
        (g,) = torch.autograd.grad(_w6_loss(w, consts, X_t, Y_t, torch.tanh), w,
                                   create_graph=True)
        (hv,) = torch.autograd.grad((g * v_t).sum(), w)
        return hv.numpy()

    return run


def _w6_hips(w1: np.ndarray, params: tuple, X: np.ndarray, Y: np.ndarray,
             v: np.ndarray) -> Candidate:
    hvp = hips.hessian_vector_product(lambda w: _w6_loss(w, params, X, Y, anp.tanh))
    return lambda: hvp(w1, v)


def w6() -> Workload:
    """H v of a 2-16-16-1 tanh MLP's MSE loss w.r.t. its first weights (batch 32)."""
    rng = np.random.default_rng(SEED)
    sizes = W6_SIZES
    weights = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(sizes, sizes[1:])]
    biases = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    w1, params = weights[0], (biases[0], weights[1], biases[1], weights[2], biases[2])
    X = rng.standard_normal((W6_BATCH, sizes[0]))
    Y = np.sin(X.sum(axis=1, keepdims=True))
    v = rng.standard_normal(w1.shape)
    args = (w1, params, X, Y, v)
    return Workload(
        id="W6",
        title="second order: Hessian-vector product, 2-16-16-1 tanh MLP MSE w.r.t. W1 "
              "(batch 32)",
        unit="ms",
        candidates={
            ENGINE: _w6_engine(*args),
            NUMPY: _w6_numpy(*args),
            TORCH: _when(torch, lambda: _w6_torch(*args)),
            HIPS: _when(hips, lambda: _w6_hips(*args)),
            **jax_peers.hvp_candidates(
                lambda xnp: lambda w: _w6_loss(w, params, X, Y, xnp.tanh), w1, v),
        },
    )


WORKLOADS = [w1(), w4(), w5(), w6()]
