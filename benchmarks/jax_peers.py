"""JAX candidates for the workloads, eager and under ``jax.jit``: where a user who wants
speed would otherwise go.

JAX is an optional peer (never installed by the Makefile): without it these candidates
show n/a. It runs in float64 here (``jax_enable_x64``) so the harness's check against
autograd_lite's outputs holds to the same tolerance as the other peers. Each builder
returns ``{JAX: eager, JAX_JIT: jitted}``; a jitted candidate is compiled by the
harness's warm-up call, so its median is the steady state a training loop sees.

Every builder takes ``make``, called with ``jax.numpy`` only when JAX is importable,
returning the workload's function written with it (the workloads write their math once
for every framework's NumPy).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.harness import JAX, JAX_JIT

try:
    jax: Any = importlib.import_module("jax")
    jnp: Any = importlib.import_module("jax.numpy")
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = jnp = None

Candidate = Callable[[], object]


def available() -> bool:
    """True when JAX is importable."""
    return jax is not None


Make = Callable[[Any], Callable]


def _pair(build: Callable[[Callable], Candidate]) -> dict[str, Candidate | None]:
    """``build(transform)`` eagerly (identity transform) and under ``jax.jit``."""
    if jax is None:
        return {JAX: None, JAX_JIT: None}
    return {JAX: build(lambda f: f), JAX_JIT: build(jax.jit)}


def _ready(value: Any) -> tuple:
    """Wait for JAX's asynchronous dispatch, so the timer sees finished work."""
    return tuple(np.asarray(v) for v in jax.block_until_ready(value))


def vjp_candidates(make: Make, x0: np.ndarray) -> dict[str, Candidate | None]:
    """``f(x)`` and its vector-Jacobian product with ones (W1)."""

    def build(transform: Callable) -> Candidate:
        f = make(jnp)

        def value_and_vjp(x: Any) -> tuple:
            y, pull = jax.vjp(f, x)
            return y, pull(jnp.ones_like(y))[0]

        run, x = transform(value_and_vjp), jnp.asarray(x0)
        return lambda: _ready(run(x))

    return _pair(build)


def loop_candidates(step: Callable, steps: int, x0: float) -> dict[str, Candidate | None]:
    """``steps`` applications of ``step`` as a ``fori_loop`` and its derivative (W4).

    Only jitted: a 100,000-op Python loop dispatched eagerly would take minutes, and
    traced op by op it would take minutes to compile; ``fori_loop`` is what a JAX user
    writes for it.
    """
    if jax is None:
        return {JAX: None, JAX_JIT: None}

    def chain(x: Any) -> Any:
        return jax.lax.fori_loop(0, steps, lambda _, v: step(v), x)

    run = jax.jit(jax.value_and_grad(chain))
    x = jnp.asarray(x0)
    return {JAX: None, JAX_JIT: lambda: _ready(run(x))}


def grads_candidates(make: Make, *args: np.ndarray) -> dict[str, Candidate | None]:
    """``f(*args)`` (scalar) and its gradient with respect to every argument (W5)."""

    def build(transform: Callable) -> Candidate:
        run = transform(jax.value_and_grad(make(jnp), argnums=tuple(range(len(args)))))
        xs = [jnp.asarray(a) for a in args]
        return lambda: _ready((lambda v, g: (v, *g))(*run(*xs)))

    return _pair(build)


def hvp_candidates(make: Make, w0: np.ndarray, v0: np.ndarray) -> dict[str, Candidate | None]:
    """Hessian-vector product of scalar ``loss`` at ``w0`` along ``v0``: forward over
    reverse, as JAX's documentation recommends (W6)."""

    def build(transform: Callable) -> Candidate:
        loss = make(jnp)
        run = transform(lambda w, v: jax.jvp(jax.grad(loss), (w,), (v,))[1])
        w, v = jnp.asarray(w0), jnp.asarray(v0)
        return lambda: _ready((run(w, v),))

    return _pair(build)


def sgd_candidates(make: Make, params: list[np.ndarray], lr: float
                   ) -> dict[str, Candidate | None]:
    """One iteration of ``loss_of(params)`` (scalar), its gradients and an SGD update,
    the parameters carried from call to call; returns the loss and the first parameter
    after the update (W2, W3)."""

    def build(transform: Callable) -> Candidate:
        loss_of = make(jnp)

        def step(ps: list) -> tuple:
            loss, grads = jax.value_and_grad(loss_of)(ps)
            return loss, [p - lr * g for p, g in zip(ps, grads)]

        run = transform(step)
        state = [[jnp.asarray(p) for p in params]]

        def call() -> tuple:
            loss, state[0] = run(state[0])
            return _ready((loss, state[0][0]))

        return call

    return _pair(build)
