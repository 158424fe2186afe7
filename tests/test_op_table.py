"""Tests generated from the op table: every sample of every entry, in float64.

- forward values against PyTorch where the entry names a reference;
- first-order gradients against central differences;
- second-order: the gradient of <grad f, v> against central differences of grad f, so
  a VJP that cuts a dependence (wraps a differentiable quantity as a constant) fails;
- gradients against PyTorch's autograd.
Non-scalar outputs are contracted with a fixed random upstream gradient; a function
returning a list or tuple of Tensors (``split``) has each part contracted and summed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite.engine import enable_grad, grad_of
from autograd_lite.ops import TABLE
from autograd_lite.ops.table import Entry, Lit, Sample

Shape = tuple[int, ...]


def _spd(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    a = rng.standard_normal(shape)
    n = shape[-1]
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def _with_zeros(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    a = np.asarray(rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape))
    a.reshape(-1)[::3] = 0.0
    return a


DOMAINS: dict[str, Callable[[np.random.Generator, Shape], np.ndarray]] = {
    "real": lambda rng, s: rng.standard_normal(s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "away": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 2.0, s),
    "unit": lambda rng, s: rng.uniform(-0.9, 0.9, s),
    "gt1": lambda rng, s: rng.uniform(1.1, 3.0, s),
    "small": lambda rng, s: rng.uniform(-1.5, 1.5, s),
    "distinct": lambda rng, s: (rng.permutation(int(np.prod(s))) * 0.25
                                - int(np.prod(s)) * 0.1).reshape(s),
    "spd": _spd,
    # softplus on both sides of its threshold (20)
    "wide": lambda rng, s: rng.uniform(-30.0, 30.0, s),
    # every third element exactly 0: slices of a (3, 4) prod hold none, one or two zeros
    "zeros": _with_zeros,
}


def _is_shape(a: Any) -> bool:
    return isinstance(a, tuple) and all(isinstance(n, int) for n in a)


def _build(sample: Sample, seed: int) -> list:
    """The sample's positional arguments: float64 arrays (shapes drawn from the
    sample's domains), lists of them, and literals as given."""
    rng = np.random.default_rng(seed)
    domains = sample.domain
    count = 0
    args: list = []

    def draw(shape: Shape) -> np.ndarray:
        nonlocal count
        name = domains if isinstance(domains, str) else domains[count]
        count += 1
        # asarray: some generators return a NumPy scalar for the 0-d shape ()
        return np.asarray(DOMAINS[name](rng, shape), dtype=np.float64)

    for a in sample.args:
        if isinstance(a, Lit):
            args.append(a)
        elif isinstance(a, list):
            args.append([draw(s) for s in a])
        elif _is_shape(a):
            args.append(draw(a))
        else:
            raise TypeError(f"sample argument {a!r}: a shape, a list of shapes or Lit(value)")
    return args


def _flat_arrays(args: list) -> list[np.ndarray]:
    flat: list[np.ndarray] = []
    for a in args:
        if isinstance(a, list):
            flat.extend(a)
        elif isinstance(a, np.ndarray):
            flat.append(a)
    return flat


def _rebuild(args: list, tensors: list) -> list:
    """``args`` with each array replaced, in order, by the next of ``tensors``."""
    it = iter(tensors)
    out: list = []
    for a in args:
        if isinstance(a, Lit):
            out.append(a.value)
        elif isinstance(a, list):
            out.append([next(it) for _ in a])
        else:
            out.append(next(it))
    return out


def _cases(pred: Callable[[Entry], bool]) -> list:
    params = []
    for entry in TABLE:
        if not pred(entry):
            continue
        for k, sample in enumerate(entry.samples):
            params.append(pytest.param(entry, sample, id=f"{entry.namespace}.{entry.name}-{k}"))
    return params


def _parts(out: Any) -> list:
    """The output Tensors of a call: one, or the items of a returned list or tuple."""
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _upstream(parts: list, seed: int) -> list[np.ndarray]:
    """A fixed random upstream gradient per output part."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(p.shape)) for p in parts]


def _scalarize(f: Callable, args: list, kwargs: dict, seed: int) -> Callable:
    """``x -> sum(f(x) * u)`` for a fixed random ``u`` of the output's shape (summed
    over the parts of a tuple result)."""
    state: dict = {}

    def fn(*tensors: Any) -> Any:
        parts = _parts(f(*_rebuild(args, list(tensors)), **kwargs))
        if "u" not in state:
            state["u"] = _upstream(parts, seed + 1)
        total = ag.tensor(0.0)
        for out, u in zip(parts, state["u"]):
            total = total + (out * u).sum()
        return total

    return fn


DIFFERENTIABLE = _cases(lambda e: e.differentiable)
SECOND = _cases(lambda e: e.differentiable and e.second_order)
TORCH = _cases(lambda e: e.torch is not None)


def test_every_differentiable_entry_has_samples() -> None:
    missing = [e.name for e in TABLE if e.differentiable and not e.samples]
    assert not missing, f"entries without test samples: {missing}"


@pytest.mark.parametrize(("entry", "sample"), DIFFERENTIABLE)
def test_first_order_against_central_differences(entry: Entry, sample: Sample) -> None:
    args = _build(sample, seed=1)
    f = _scalarize(entry.function, args, sample.kwargs, seed=1)
    assert ag.gradcheck(f, _flat_arrays(args), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(("entry", "sample"), SECOND)
def test_second_order_against_central_differences(entry: Entry, sample: Sample) -> None:
    args = _build(sample, seed=2)
    f = _scalarize(entry.function, args, sample.kwargs, seed=2)
    vs = [np.random.default_rng(9 + i).standard_normal(a.shape)
          for i, a in enumerate(_flat_arrays(args))]

    def grad_dot_v(*tensors: Any) -> Any:
        with enable_grad():
            leaves = [t if t.requires_grad else t.detach().requires_grad_() for t in tensors]
            grads = grad_of([f(*leaves)], leaves, create_graph=True)
        total = ag.tensor(0.0)
        for g, v in zip(grads, vs):
            if g is not None:
                total = total + (g * v).sum()
        return total

    assert ag.gradcheck(grad_dot_v, _flat_arrays(args), eps=1e-5, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("entry", "sample"), TORCH)
def test_against_pytorch(entry: Entry, sample: Sample) -> None:
    args = _build(sample, seed=3)
    arrays = _flat_arrays(args)
    tensors = [ag.tensor(a, requires_grad=entry.differentiable) for a in arrays]
    outs = _parts(entry.function(*_rebuild(args, tensors), **sample.kwargs))
    t_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=entry.differentiable)
                for a in arrays]
    t_outs = _parts(entry.torch(torch, *_rebuild(args, t_leaves), **sample.kwargs))
    assert len(outs) == len(t_outs)
    for out, t_out in zip(outs, t_outs):
        np.testing.assert_allclose(np.asarray(out.data, dtype=np.float64),
                                   t_out.detach().numpy().astype(np.float64),
                                   rtol=1e-10, atol=1e-12)
    if not entry.differentiable:
        return
    us = _upstream(outs, 4)
    sum((out * u).sum() for out, u in zip(outs, us)).backward()
    sum((t_out * torch.tensor(u)).sum() for t_out, u in zip(t_outs, us)).backward()
    for t, tl in zip(tensors, t_leaves):
        expected = np.zeros(t.shape) if tl.grad is None else tl.grad.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad.data
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
