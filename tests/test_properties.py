"""Property tests: random expression DAGs pass gradcheck; unbroadcasting is a scatter-sum.

A DAG is drawn as a small program: leaves x0.. of random shapes that all broadcast to
one base shape, then steps v0.. that each apply an op from ``OPS`` to earlier values.
Every op is smooth on the whole real line (log(x*x + 1), sqrt(exp(x)), division by
1 + y*y...), so gradcheck never sits on a kink or a singularity. The program is also
rendered as text and passed to ``note()``, so a shrunk failure reads as an expression.
Besides the hand-written ``OPS``, every suitable entry of the op table is drawn too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, broadcastable_shapes

import autograd_lite as ag
from autograd_lite.ops import TABLE
from autograd_lite.ops.table import Entry

Shape = tuple[int, ...]


@dataclass(frozen=True)
class OpSpec:
    """How to apply one op and how to print it. ``axis`` ops reduce or normalise one axis."""

    arity: int
    apply: Callable[..., ag.Tensor]
    text: str  # format string over the operand names (and {axis})
    axis: bool = False


OPS: dict[str, OpSpec] = {
    "add": OpSpec(2, lambda a, b: a + b, "{0} + {1}"),
    "sub": OpSpec(2, lambda a, b: a - b, "{0} - {1}"),
    "mul": OpSpec(2, lambda a, b: a * b, "{0} * {1}"),
    "div": OpSpec(2, lambda a, b: a / (b * b + 1.0), "{0} / ({1}*{1} + 1)"),
    "pow": OpSpec(2, lambda a, b: (a * a + 1.0) ** b.tanh(), "({0}*{0} + 1) ** tanh({1})"),
    "neg": OpSpec(1, lambda a: -a, "-{0}"),
    "square": OpSpec(1, lambda a: a**2, "{0} ** 2"),
    "tanh": OpSpec(1, lambda a: a.tanh(), "tanh({0})"),
    "sigmoid": OpSpec(1, lambda a: a.sigmoid(), "sigmoid({0})"),
    "log": OpSpec(1, lambda a: (a * a + 1.0).log(), "log({0}*{0} + 1)"),
    "sqrt_exp": OpSpec(1, lambda a: a.exp().sqrt(), "sqrt(exp({0}))"),
    "sum": OpSpec(1, lambda a, axis: a.sum(axis=axis, keepdims=True),
                  "{0}.sum(axis={axis}, keepdims=True)", axis=True),
    "mean": OpSpec(1, lambda a, axis: a.mean(axis=axis, keepdims=True),
                   "{0}.mean(axis={axis}, keepdims=True)", axis=True),
    "softmax": OpSpec(1, lambda a, axis: a.softmax(axis=axis), "softmax({0}, axis={axis})",
                      axis=True),
    "log_softmax": OpSpec(1, lambda a, axis: a.log_softmax(axis=axis),
                          "log_softmax({0}, axis={axis})", axis=True),
}


# Entries of the op table join OPS when they are elementwise (the result has the broadcast
# shape of the inputs) and every input's domain can be reached smoothly from any real
# value: a sample with one or two tensor arguments and no keywords says so. Kinks
# ("away", "distinct") and matrices ("spd") stay out.
_INTO_DOMAIN: dict[str, tuple[str, Callable[[ag.Tensor], ag.Tensor]]] = {
    "real": ("{}", lambda a: a),
    "small": ("1.5 * tanh({})", lambda a: 1.5 * a.tanh()),
    "unit": ("0.9 * tanh({})", lambda a: 0.9 * a.tanh()),
    "pos": ("({0}*{0} + 0.5)", lambda a: a * a + 0.5),
    "gt1": ("({0}*{0} + 1.1)", lambda a: a * a + 1.1),
}


def _table_spec(entry: Entry) -> OpSpec | None:
    plain = [s for s in entry.samples if not s.kwargs and 1 <= len(s.args) <= 2
             and all(isinstance(a, tuple) and all(isinstance(n, int) for n in a)
                     for a in s.args)]
    if not entry.differentiable or not plain:
        return None
    sample = plain[0]
    arity = len(sample.args)
    domains = [sample.domain] * arity if isinstance(sample.domain, str) else list(sample.domain)
    if any(d not in _INTO_DOMAIN for d in domains):
        return None
    # Elementwise: the same shape out as in (0-d too), and broadcasting against a row.
    for shapes in ([(2, 3)] * arity, [(2, 3), (3,)][:arity], [()] * arity):
        try:
            probe = entry.function(*(ag.tensor(np.full(sh, 0.7), requires_grad=True)
                                     for sh in shapes))
        except ValueError:  # shapes that do not align, or no axis: not elementwise
            return None
        # The last recorded op says it (squeeze keeps (2, 3) but is a shape op).
        if probe.shape != shapes[0] or probe.node is None or \
                probe.node.op.kind != "elementwise":
            return None
    texts = [_INTO_DOMAIN[d][0].replace("{}", f"{{{i}}}").replace("{0}", f"{{{i}}}")
             for i, d in enumerate(domains)]
    maps = [_INTO_DOMAIN[d][1] for d in domains]

    def apply(*xs: ag.Tensor) -> ag.Tensor:
        return entry.function(*(m(x) for m, x in zip(maps, xs)))

    if not _smooth_where_hypothesis_looks(apply, arity):
        return None
    return OpSpec(arity, apply, f"{_public(entry)}({', '.join(texts)})")


# Values hypothesis draws early and shrinks towards; with two operands every pair,
# equal ones included.
_FAVOURITES = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0])


def _smooth_where_hypothesis_looks(apply: Callable[..., ag.Tensor], arity: int) -> bool:
    """False for a kink, a jump, a singularity or a zero gradient (sign, floor, hypot at
    0, mod at equal operands) at those values: such an op is only checked in
    tests/test_op_table.py, on its own domain."""
    grid = np.meshgrid(*[_FAVOURITES] * arity)
    inputs = [ag.tensor(g.ravel(), requires_grad=True) for g in grid]
    out = apply(*inputs)
    (out * np.arange(1.0, out.size + 1)).sum().backward()  # weighted: softmax sums to 1
    grads = [t.grad.data for t in inputs if t.grad is not None]
    if not grads or not all(np.isfinite(g).all() for g in grads) or \
            not any(np.any(g != 0) for g in grads):
        return False
    try:
        return ag.gradcheck(apply, [g.ravel() for g in grid])
    except ag.GradcheckError:
        return False


def _public(entry: Entry) -> str:
    return f"{entry.namespace}.{entry.name}"


OPS.update({_public(e): spec for e in TABLE if (spec := _table_spec(e)) is not None})


@dataclass(frozen=True)
class Step:
    """``OPS[op]`` applied to earlier values ``args`` (indices into leaves + steps)."""

    op: str
    args: tuple[int, ...]
    axis: int | None = None


@dataclass(frozen=True)
class Program:
    leaves: tuple[np.ndarray, ...]
    steps: tuple[Step, ...]

    def names(self) -> list[str]:
        return [f"x{i}" for i in range(len(self.leaves))] + [f"v{i}" for i in
                                                               range(len(self.steps))]

    def describe(self) -> str:
        """The program as readable lines: leaf shapes, then one assignment per step."""
        names = self.names()
        lines = [f"{names[i]}: shape {leaf.shape} = {leaf.tolist()}"
                 for i, leaf in enumerate(self.leaves)]
        for k, step in enumerate(self.steps):
            spec = OPS[step.op]
            expr = spec.text.format(*(names[i] for i in step.args), axis=step.axis)
            lines.append(f"{names[len(self.leaves) + k]} = {expr}")
        return "\n".join(lines)

    def run(self, *leaves: ag.Tensor) -> list[ag.Tensor]:
        """Every value of the program: the leaves, then each step's result."""
        values = list(leaves)
        for step in self.steps:
            spec = OPS[step.op]
            operands = [values[i] for i in step.args]
            extra = (step.axis,) if spec.axis else ()
            values.append(spec.apply(*operands, *extra))
        return values

    def output(self, *leaves: ag.Tensor) -> ag.Tensor:
        return self.run(*leaves)[-1]


FLOATS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _draw_step(draw: st.DrawFn, shapes: list[Shape], name: str) -> Step:
    """``OPS[name]`` on earlier values; an axis op takes a first operand with an axis."""
    spec = OPS[name]
    candidates = [i for i, shape in enumerate(shapes) if shape or not spec.axis]
    assume(candidates)  # only 0-d values so far: an axis op has nothing to work on
    first = draw(st.sampled_from(candidates))
    args = (first, *(draw(st.integers(0, len(shapes) - 1)) for _ in range(spec.arity - 1)))
    ndim = len(shapes[first])
    axis = draw(st.integers(-ndim, ndim - 1)) if spec.axis else None
    return Step(name, args, axis)


@st.composite
def programs(draw: st.DrawFn, final_op: str, max_steps: int = 5) -> Program:
    """A random program whose last step applies ``final_op`` (so every op gets tested)."""
    # Sides of at least 2 in the base shape: then every leaf side is 1 or the base side,
    # so any two values of the program broadcast together.
    base = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    n_leaves = draw(st.integers(1, 3))
    leaf_shapes = [draw(broadcastable_shapes(base, min_dims=0, max_dims=len(base)))
                   for _ in range(n_leaves)]
    leaves = tuple(draw(arrays(np.float64, s, elements=FLOATS)) for s in leaf_shapes)
    shapes: list[Shape] = list(leaf_shapes)
    steps = []
    n_steps = draw(st.integers(1, max_steps))
    for k in range(n_steps):
        name = final_op if k == n_steps - 1 else draw(st.sampled_from(list(OPS)))
        step = _draw_step(draw, shapes, name)
        steps.append(step)
        shapes.append(np.broadcast_shapes(*(shapes[i] for i in step.args)))
    return Program(leaves, tuple(steps))


@pytest.mark.parametrize("final_op", OPS)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_random_expression_dags_pass_gradcheck(final_op: str, data: st.DataObject) -> None:
    program = data.draw(programs(final_op), "program")
    note(program.describe())
    with ag.no_grad():
        values = program.run(*(ag.tensor(leaf) for leaf in program.leaves))
    # Repeated squaring can leave float64's comfortable range; such programs say nothing.
    assume(all(np.all(np.abs(v.data) < 1e3) for v in values))
    assert ag.gradcheck(program.output, [ag.tensor(leaf) for leaf in program.leaves])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_unbroadcast_sums_the_upstream_gradient_back_to_each_shape(data: st.DataObject) -> None:
    other = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4), "other")
    shape = data.draw(broadcastable_shapes(other, min_dims=0, max_dims=4), "shape")
    out_shape = np.broadcast_shapes(shape, other)
    op = data.draw(st.sampled_from(["add", "mul"]), "op")
    tensor_first = data.draw(st.booleans(), "tensor_first")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), "seed"))
    constant = rng.standard_normal(other)
    upstream = rng.standard_normal(out_shape)

    x = ag.tensor(rng.standard_normal(shape), requires_grad=True)
    combine = (lambda a, b: a + b) if op == "add" else (lambda a, b: a * b)
    out = combine(x, constant) if tensor_first else combine(constant, x)
    assert out.shape == out_shape
    out.backward(upstream)

    # Each element of x receives the sum of the upstream entries it was broadcast to.
    weights = upstream if op == "add" else upstream * np.broadcast_to(constant, out_shape)
    owner = np.broadcast_to(np.arange(x.size).reshape(shape), out_shape)
    expected = np.bincount(owner.ravel(), weights=weights.ravel(), minlength=x.size)
    assert x.grad.shape == shape
    np.testing.assert_allclose(x.grad.data.sum(), weights.sum(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x.grad.data, expected.reshape(shape), rtol=1e-10, atol=1e-12)
