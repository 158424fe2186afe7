"""Second derivatives of the binary and unary ops against PyTorch's double backward.

For random inputs x (and weights w, directions v) both libraries compute
``d/dx [ sum_i v_i · d/dx_i sum(w · f(x)) ]``: a Hessian-vector product that goes
through every VJP twice, so a VJP that cuts a dependence (a constant ``log a`` in pow's,
issue 10 defect 1) shows up as a mismatch here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite import engine

POSITIVE = (0.5, 2.0)  # log, sqrt, pow bases, div denominators: smooth and away from 0
ANY = (-2.0, 2.0)

# name: (autograd_lite function, torch function, domain of each input)
BINARY: dict[str, tuple[Callable, Callable, tuple]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (ANY, ANY)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (ANY, ANY)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (ANY, ANY)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (ANY, POSITIVE)),
    "pow": (lambda a, b: a**b, lambda a, b: a**b, (POSITIVE, ANY)),
    "maximum": (ag.maximum, torch.maximum, (ANY, ANY)),
    "minimum": (ag.minimum, torch.minimum, (ANY, ANY)),
    "matmul": (lambda a, b: a @ b.T, lambda a, b: a @ b.T, (ANY, ANY)),
    "broadcast_mul": (lambda a, b: a * b[0], lambda a, b: a * b[0], (ANY, ANY)),
}
UNARY: dict[str, tuple[Callable, Callable, tuple]] = {
    "exp": (ag.Tensor.exp, torch.exp, (ANY,)),
    "log": (ag.Tensor.log, torch.log, (POSITIVE,)),
    "sqrt": (ag.Tensor.sqrt, torch.sqrt, (POSITIVE,)),
    "tanh": (ag.Tensor.tanh, torch.tanh, (ANY,)),
    "sigmoid": (ag.Tensor.sigmoid, torch.sigmoid, (ANY,)),
    "abs": (ag.Tensor.abs, torch.abs, (ANY,)),
    "relu": (ag.Tensor.relu, torch.relu, (ANY,)),
    "neg": (lambda a: -a, lambda a: -a, (ANY,)),
    "square_pow": (lambda a: a**2, lambda a: a**2, (ANY,)),
    "cube_pow": (lambda a: a**3.0, lambda a: a**3.0, (ANY,)),
    "scalar_base_pow": (lambda a: 2.0**a, lambda a: 2.0**a, (ANY,)),
    "sum": (lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), (ANY,)),
    "mean": (lambda a: a.mean(axis=0), lambda a: a.mean(dim=0), (ANY,)),
    "var": (lambda a: a.var(axis=1), lambda a: a.var(dim=1, unbiased=False), (ANY,)),
    "max": (lambda a: a.max(axis=1), lambda a: a.amax(dim=1), (ANY,)),
    "softmax": (lambda a: a.softmax(axis=-1), lambda a: a.softmax(dim=-1), (ANY,)),
    "log_softmax": (lambda a: a.log_softmax(axis=-1), lambda a: a.log_softmax(dim=-1), (ANY,)),
}
OPS = {**BINARY, **UNARY}
SHAPE = (2, 3)


def _ours(f: Callable, xs: list, w: np.ndarray, vs: list) -> list:
    inputs = [ag.tensor(x, requires_grad=True) for x in xs]
    first = engine.grad_of([(f(*inputs) * w).sum()], inputs, create_graph=True)
    total = sum((g * v).sum() for g, v in zip(first, vs) if g is not None)
    if not isinstance(total, ag.Tensor) or not total.requires_grad:
        return [np.zeros(SHAPE) for _ in xs]
    second = engine.grad_of([total], inputs)
    return [np.zeros(SHAPE) if g is None else np.asarray(g) for g in second]


def _torch(f: Callable, xs: list, w: np.ndarray, vs: list) -> list:
    inputs = [torch.tensor(x, requires_grad=True) for x in xs]
    out = (f(*inputs) * torch.tensor(w)).sum()
    first = torch.autograd.grad(out, inputs, create_graph=True, allow_unused=True)
    total = sum((g * torch.tensor(v)).sum() for g, v in zip(first, vs) if g is not None)
    if not isinstance(total, torch.Tensor) or not total.requires_grad:
        return [np.zeros(SHAPE) for _ in xs]
    second = torch.autograd.grad(total, inputs, allow_unused=True)
    return [np.zeros(SHAPE) if g is None else g.numpy(force=True) for g in second]


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_second_order_matches_torch_double_backward(name: str, seed: int) -> None:
    ours_f, torch_f, domains = OPS[name]
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(lo, hi, SHAPE) for lo, hi in domains]
    out_shape = np.shape(torch_f(*[torch.tensor(x) for x in xs]))
    w = rng.standard_normal(out_shape)
    vs = [rng.standard_normal(SHAPE) for _ in xs]
    for ours, theirs in zip(_ours(ours_f, xs, w, vs), _torch(torch_f, xs, w, vs)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=name)
