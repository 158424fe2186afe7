"""``ag.compile``: trace a training step once, then replay it as flat generated NumPy.

    @ag.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step(x0, y0)                  # traced: runs eagerly while every op is recorded
    step(x1, y1)                  # replayed: one generated line per forward and VJP call
    print(step.source)            # the generated function, to read what replays

The first call with a given signature (argument structure, the shape and dtype of every
array or Tensor argument, the value of every other argument, grad mode) runs ``fn``
eagerly while a tracer records each primitive's forward call, each VJP the backward walk
applies (with the unbroadcast sums, casts and accumulations exactly as the engine did
them), the deposit into leaves' ``.grad`` and the optimizer's ``zero_grad``/``step``. From
that it writes one Python function (like torch.fx's codegen) calling the same NumPy
functions in the same order, so a replay is bitwise identical to eager, without Tensor,
Node, heap or dictionary per op. A new signature traces again.

The limit, as with ``torch.jit.trace``: only what goes through recorded ops is replayed.
Python control flow on data, ``.item()`` values used in ``if``, NumPy computed by hand
on ``.data`` (``p.data -= lr * p.grad.data``), masks built from ``.data`` (``x > 0`` on
the Tensor replays), running statistics updated in NumPy (``BatchNorm`` in training), a
scheduler stepped inside ``fn``: all are frozen at their traced values. What the tracer
can see it refuses with a ``RuntimeError`` naming ``compile`` instead of replaying
something wrong (hooks, ``create_graph``, transforms and custom ``Function``s inside
``fn``, random draws, a ``.grad`` changed by hand before the step...; the full list is
``API_DOC`` below). The first replay of each signature runs eager beside it and raises
on any difference (``check="first"``, the default); ``check=True`` does so on every
call, ``check=False`` never.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import linecache
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import engine, pytree, random
from ..tensor import Tensor
from .tracer import Retrace, Tracer, refuse

__all__ = ["compile", "Compiled"]

# The docs/API.md section (written by ``python -m autograd_lite.ops.codegen``).
API_DOC = """\
`ag.compile(fn, check="first")` (also `@ag.compile`, `@ag.compile(check=True)`) returns a
`Compiled` callable. The first call with a given signature (argument structure; shape and
dtype of every array or Tensor argument; value of every other, hashable, argument; grad
mode) runs `fn` eagerly while every forward call, VJP, `.grad` deposit and optimizer
`zero_grad()`/`step()` is recorded, and returns eager's result. It then generates one flat
Python function (`compiled.source`, or `compiled.code(*args)` per signature) calling the
same NumPy functions in the same order; later calls run it: bitwise identical to eager,
without Tensors or Nodes per op. `compiled.traces` counts traces.

- Inputs: arrays and Tensors in `args` (nested tuples/lists/dicts) are read each call;
  parameters and other tensors that existed before the call are read (`.data`) each call,
  and a changed shape or dtype retraces. `ag.tensor(x)` of an input inside `fn` is redone.
  A module's `train()`/`eval()` mode, a captured tensor's `requires_grad`, and a variable
  `fn`'s own code reads from its closure or globals (`lr = 0.05`) rebound since the trace
  also retrace. A captured array an op or `Tensor()` takes (BatchNorm's running
  statistics in eval, a preallocated batch buffer) is read each call.
- Outputs keep their structure: Tensors come back detached with the replayed values, an
  `item()` is recomputed, a parameter (or its `.data`, `.grad`) is read after the step.
- Frozen at trace time (the documented limit, as `torch.jit.trace`): Python control flow
  on data, numbers read inside helpers or containers (`cfg["lr"]`; pass them as arguments),
  objects swapped inside a container (a new optimizer in a dict), NumPy on an input array
  or on `.data`/`.grad.data` by hand (`y.astype(...)`, `y * 2`; do it on `ag.tensor(y)`),
  `p.grad = None` by hand before backward (use `zero_grad()`), masks
  built from `.data` (`x.data > 0`; the Tensor comparison `x > 0` replays, as do
  `argmax`, integer casts and `floor_divide`, and the masks inside `leaky_relu`, `elu`,
  `huber_loss`, `clip`), BatchNorm's running-statistics updates in training, a
  scheduler stepped inside `fn`.
- Refused with `RuntimeError("compile: ...")`: tensor hooks, `retain_grad()`,
  `backward(grad=...)`, `create_graph=True`, `backward_steps` and transforms inside
  `fn`, custom `Function`s, `checkpoint`, `detect_anomaly()`, draws from ag's random
  generator (`randn`, dropout) or from an `rng=` generator, a NumPy view of an input
  array (`x[:4]`) reaching an op, a Tensor made outside the ops the replay knows
  (slogdet's sign) feeding an op or the result, a float result no `item()` returned, a
  gradient into a tensor created in `fn`, a `.grad` changed by hand between backward and
  the optimizer step (clipping, `p.grad = ...`), an input converted by `np.asarray(x,
  dtype=...)` outside the ops, Tensor code of another thread during the trace, nested
  compiles.
- `check`: a checked replay first runs `fn` eagerly from the same state (parameters, their
  gradients, optimizer state are snapshot and restored), then replays, and raises
  `RuntimeError` naming the first result, parameter or gradient that is not bitwise equal.
  `"first"` (default) checks the first replay of each signature, so a value frozen at
  trace time shows on the next call whose data differ; `True` every replay; `False` none.
"""


class _Plan:
    """One signature's replay: the generated function and what a checked call compares."""

    __slots__ = ("run_leaves", "source", "out_def", "tensors", "optimizers", "guards",
                 "checked")

    def __init__(self, run_leaves: Callable, source: str, out_def: Any, tensors: list,
                 optimizers: list, guards: list) -> None:
        self.run_leaves, self.source, self.out_def = run_leaves, source, out_def
        self.tensors, self.optimizers, self.guards = tensors, optimizers, guards
        self.checked = False  # whether a replay of it was compared with eager yet

    def holds(self) -> bool:
        """Whether what fn branched on (train/eval, requires_grad, the variables its code
        reads from closure cells and globals) is as traced."""
        for obj, attr, value in self.guards:  # a loop, no generator: it runs every call
            now = getattr(obj, attr, _UNBOUND)
            if now is not value and not _unchanged(now, value):
                return False
        return True

    def run(self, leaves: list) -> Any:
        return pytree.unflatten(self.out_def, self.run_leaves(leaves))


_UNBOUND = object()  # an empty closure cell or a deleted global
_NUMBERS = (bool, int, float, complex, str, bytes, type(None))


def _unchanged(now: Any, then: Any) -> bool:
    """The same object, or an equal number or string (a rebound ``lr = 0.1`` is not)."""
    return now is then or (type(now) is type(then) and type(now) in _NUMBERS and now == then)


class _Global:
    """A global variable as an attribute, so it is guarded like the other flags."""

    __slots__ = ("namespace", "name")

    def __init__(self, namespace: dict, name: str) -> None:
        self.namespace, self.name = namespace, name

    @property
    def value(self) -> Any:
        return self.namespace.get(self.name, _UNBOUND)


def _variables(fn: Callable) -> list[tuple]:
    """Guards on the variables ``fn``'s own code reads from its closure and its globals: a
    number there is a constant of the replay, so rebinding one must retrace."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    guards = [(cell, "cell_contents", getattr(cell, "cell_contents", _UNBOUND))
              for cell in fn.__closure__ or ()]
    namespace = fn.__globals__
    for name in code.co_names:
        if name in namespace:
            variable = _Global(namespace, name)
            guards.append((variable, "value", variable.value))
    return guards


_traced = itertools.count()
# check=: every replay beside eager, the first replay of each signature (the default: a
# value frozen at trace time shows as soon as the data change), or never.
CHECKS = (True, "first", False)


class Compiled:
    """``fn`` traced once per signature and replayed as generated NumPy; see
    :func:`compile`. ``traces`` counts the traces so far; ``source`` is the latest
    generated function and ``code(*args)`` the one for those arguments' signature."""

    def __init__(self, fn: Callable, check: bool | str = "first") -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if check not in CHECKS:
            raise ValueError(f"compile: check must be True, False or 'first', got {check!r}")
        functools.update_wrapper(self, fn)
        self.fn, self.check = fn, check if check == "first" else bool(check)
        self.traces = 0
        self._plans: dict = {}
        self._last: _Plan | None = None

    @property
    def source(self) -> str:
        """The most recently generated replay function (Python source)."""
        if self._last is None:
            raise RuntimeError("compile: nothing traced yet; call the function first")
        return self._last.source

    def code(self, *args: Any) -> str:
        """The replay source for the signature of ``args`` (traced before)."""
        leaves, treedef = pytree.flatten(args)
        plan = self._plans.get(_signature(leaves, treedef))
        if plan is None:
            raise KeyError("compile: these arguments' signature has not been traced")
        return plan.source

    def __call__(self, *args: Any) -> Any:
        if engine.tracer is not None:
            raise refuse("a compiled function was called while another one is being traced")
        leaves, treedef = pytree.flatten(args)
        sig = _signature(leaves, treedef)
        plan = self._plans.get(sig)
        if plan is None or not plan.holds():  # a changed flag: that code path is traced anew
            return self._trace(sig, leaves, args)
        try:
            if self.check is True or (self.check == "first" and not plan.checked):
                result = self._checked(plan, leaves, args)
                plan.checked = True
                return result
            return plan.run(leaves)
        except Retrace:
            return self._trace(sig, leaves, args)

    def _trace(self, sig: tuple, leaves: list, args: tuple) -> Any:
        if engine.mode.anomaly:
            raise refuse("cannot trace under detect_anomaly(); call fn eagerly there")
        variables = _variables(self.fn)  # as fn finds them, before it runs
        tracer = Tracer(leaves)
        drawn = random.default_generator().bit_generator.state
        engine.tracer = tracer
        try:
            result = self.fn(*args)
        finally:
            engine.tracer = None
        if random.default_generator().bit_generator.state != drawn:
            raise refuse("fn drew from ag's random generator (randn, rand, dropout...): the "
                          "numbers would be frozen at trace time; draw them outside and pass "
                          "them as arguments")
        tracer.uses = set()
        returns, out_def = tracer.outputs(result)
        number = next(_traced)
        name = getattr(self.fn, "__qualname__", "fn")
        source = tracer.source(returns, f"ag.compile of {name}, trace {number}")
        filename = f"<ag.compile {name} #{number}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(builtins.compile(source, filename, "exec"), tracer.ns)
        # Captured tensors (named in ns; arguments are new objects each call) and the
        # optimizers stepped: what a checked call snapshots and compares.
        tensors = [t for t, holder in tracer.watched.values() if holder in tracer.ns]
        optimizers = list({id(o): o for o in tracer.optimizers}.values())
        plan = _Plan(tracer.ns["replay"], source, out_def, tensors, optimizers,
                     [*variables, *tracer.guards.values()])
        self._plans[sig] = self._last = plan
        self.traces += 1
        return result

    def _checked(self, plan: _Plan, leaves: list, args: tuple) -> Any:
        # This call's Tensor arguments too: backward may deposit into their .grad.
        tensors = plan.tensors + [leaf for leaf in leaves if isinstance(leaf, Tensor)]
        before = _snapshot(tensors, plan.optimizers)
        expected = self.fn(*args)
        eager = _snapshot(tensors, ())[0]
        _restore(tensors, plan.optimizers, before)
        got = plan.run(leaves)
        want_leaves, paths = pytree.flatten(expected)[0], pytree.leaf_paths(expected)
        got_leaves = pytree.flatten(got)[0]
        for path, want, have in zip(paths, want_leaves, got_leaves):
            _same(f"fn's result{path}", want, have)
        for i, (t, (data, grad)) in enumerate(zip(tensors, eager)):
            label = f"tensor {t.name or i} of shape {t.shape}"
            _same(f"{label} .data", data, t.data)
            _same(f"{label} .grad", grad, None if t.grad is None else t.grad.data)
        return got


def _snapshot(tensors: list, optimizers: Any) -> tuple:
    """Copies of what a call may change: the tensors' data and grads, optimizers' state."""
    arrays = [(t.data.copy(), None if t.grad is None else t.grad.data.copy()) for t in tensors]
    return arrays, [o.state_dict() for o in optimizers]


def _restore(tensors: list, optimizers: list, snapshot: tuple) -> None:
    arrays, states = snapshot
    for t, (data, grad) in zip(tensors, arrays):
        t.data = data.copy()
        t.grad = None if grad is None else Tensor._make(grad.copy(), None)
    for o, state in zip(optimizers, states):
        o.load_state_dict(state)


def _same(what: str, want: Any, have: Any) -> None:
    """Raise unless eager's ``want`` and the replay's ``have`` are bitwise equal."""
    if want is None or have is None:
        if want is not have:
            raise RuntimeError(f"compile check: {what} is {want!r} in eager but "
                               f"{have!r} in the replay")
        return
    a = np.asarray(want.data if isinstance(want, Tensor) else want)
    b = np.asarray(have.data if isinstance(have, Tensor) else have)
    if a.shape != b.shape or a.dtype != b.dtype:
        raise RuntimeError(f"compile check: {what} has shape {a.shape} {a.dtype} in "
                           f"eager but {b.shape} {b.dtype} in the replay")
    if a.tobytes() != b.tobytes():
        diff = np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0.0
        raise RuntimeError(f"compile check: {what} differs between eager and the "
                           f"replay (max abs difference {diff:.3g})")


def _signature(leaves: list, treedef: Any) -> tuple:
    """What decides whether a trace can be replayed: structure, shapes, dtypes, values."""
    parts: list = [treedef, engine.mode.enabled]
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            parts.append(("tensor", leaf.shape, leaf.dtype, leaf.requires_grad))
        elif isinstance(leaf, np.ndarray):
            parts.append(("array", leaf.shape, leaf.dtype))
        else:
            try:
                hash(leaf)
            except TypeError:
                raise TypeError(f"compile: argument leaf {i} is a {type(leaf).__name__}, which "
                                f"is not hashable; pass arrays, Tensors, tuples/lists/dicts "
                                f"of them, or hashable values") from None
            parts.append(("value", type(leaf), leaf))
    return tuple(parts)


def compile(fn: Callable | None = None, check: bool | str = "first") -> Any:
    """Trace ``fn`` (typically a training step: forward, ``backward()``, optimizer step) on
    its first call per signature and replay it afterwards as flat generated NumPy code,
    bitwise identical to eager. Use as ``ag.compile(fn)``, ``@ag.compile`` or
    ``@ag.compile(check=True)``. A checked call also runs eager from the same state and
    raises ``RuntimeError`` naming the first output, parameter or gradient that differs:
    ``check="first"`` (default) checks the first replay of each signature, so a value
    frozen at trace time (NumPy on ``.data`` by hand, a Python ``if`` on data) shows as
    soon as the data change; ``check=True`` checks every call; ``check=False`` none.

    Arguments may be arrays, Tensors (shape and dtype are part of the signature), nested
    tuples/lists/dicts of them, and hashable values (part of the signature). The result
    keeps its structure: Tensors come back as detached Tensors of the replayed values, an
    ``item()`` is recomputed, a parameter's ``.data`` is read after the step. See the
    module docstring for what is frozen at trace time and what is refused.
    """
    if fn is None:
        return lambda f: Compiled(f, check)
    return Compiled(fn, check)
