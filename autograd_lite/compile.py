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
import re
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import engine, pytree, random
from .tensor import Tensor, _float_dtype

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
- Outputs keep their structure: Tensors come back detached with the replayed values, an
  `item()` is recomputed, a parameter (or its `.data`, `.grad`) is read after the step.
- Frozen at trace time (the documented limit, as `torch.jit.trace`): Python control flow
  on data, NumPy on `.data`/`.grad.data` by hand, `p.grad = None` by hand before
  backward (use `zero_grad()`), masks built from `.data` (`x.data > 0`; the Tensor
  comparison `x > 0` replays, as do `argmax`, integer casts and `floor_divide`, and the
  masks inside `leaky_relu`, `elu`, `huber_loss`, `clip`), BatchNorm running statistics,
  a scheduler stepped inside `fn`.
- Refused with `RuntimeError("compile: ...")`: tensor hooks, `retain_grad()`,
  `backward(grad=...)`, `create_graph=True`, `backward_steps` and transforms inside
  `fn`, custom `Function`s, `checkpoint`, `detect_anomaly()`, draws from ag's random
  generator (`randn`, dropout), a Tensor made outside the ops the replay knows
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


class _Retrace(Exception):
    """Raised by a replay, before any side effect, when a captured tensor changed shape or
    dtype since it was traced."""


_LITERALS = (bool, int, str, type(None))
_NOT_WORD = re.compile(r"\W")


class _Instr:
    """One statement block of the replay: the names it defines and reads, and whether it
    acts on the outside world (then it is kept even when nothing reads its names)."""

    __slots__ = ("lines", "defs", "uses", "effect")

    def __init__(self, lines: list[str], defs: tuple, uses: set, effect: bool) -> None:
        self.lines, self.defs, self.uses, self.effect = lines, defs, uses, effect


class _Mirror:
    """The tracer's copy of one backward walk's bookkeeping, with replay names for arrays:
    the gradient accumulated so far per tensor id, and the leaves reached (in order)."""

    __slots__ = ("grads", "leaves")

    def __init__(self, grads: dict) -> None:
        self.grads: dict[int, str] = grads
        self.leaves: dict[int, Any] = {}


@functools.cache
def _inline_forms() -> tuple[dict, dict]:
    """Inline forms of the hottest ops' forward and VJP, so a replay line is the NumPy
    expression itself instead of a call through the op's generic function (each such call
    costs ~0.5-2 us on small arrays: W2's step is ~40 of them).

    Keyed by the very functions they mirror, so an op whose forward or VJP is rewritten no
    longer matches and falls back to the generic call; and each form is also checked
    bitwise against the generic result on the traced values before it is used. (No
    ``out=`` buffers: measured, NumPy's allocator already reuses the memory, e.g.
    ``np.maximum`` on (128, 256) float64 15.3 us fresh vs 15.4 us into a buffer, ``tanh``
    on (32, 16) 8.4 vs 8.3 us, so buffers would only add aliasing hazards.) A form is
    ``form(params, arrays) -> str | None`` for a forward, ``form(params, arrays, index) ->
    str | None`` for the gradient of input ``index``, with ``{a0}``, ``{a1}``, ``{g}``,
    ``{out}`` standing for the arguments, the incoming gradient and the output.
    """
    from .ops import arithmetic as ar
    from .ops import elementwise as el
    from .ops import reductions as rd
    from .ops import shape as sh

    def reduced(params: dict, arrays: list, count: bool) -> str:
        shape, axes = arrays[0].shape, params.get("axes", ())
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = f"({{g}} / {int(np.prod([shape[i] for i in axes]))})" if count else "{g}"
        return f"np.broadcast_to({g}.reshape({kept!r}), {shape!r})"

    def reduction(method: str) -> Callable:
        return lambda params, arrays: (f"{{a0}}.{method}(axis={params.get('axes', ())!r}, "
                                       f"keepdims={params.get('keepdims', False)!r})")

    forward = {
        ar.add_op.forward: lambda params, arrays: "{a0} + {a1}",
        ar.sub_op.forward: lambda params, arrays: "{a0} - {a1}",
        ar.mul_op.forward: lambda params, arrays: "{a0} * {a1}",
        ar.matmul_op.forward: lambda params, arrays: "{a0} @ {a1}",
        el.tanh_op.forward: lambda params, arrays: "np.tanh({a0})",
        el.relu_op.forward: lambda params, arrays: "np.maximum({a0}, 0)",
        sh.transpose_op.forward: lambda params, arrays:
            f"{{a0}}.transpose({params.get('axes')!r})",
        sh.reshape_op.forward: lambda params, arrays: f"{{a0}}.reshape({params['shape']!r})",
        rd.sum_op.forward: reduction("sum"),
        rd.mean_op.forward: reduction("mean"),
    }
    vjp = {
        ar.add_op.vjp: lambda params, arrays, i: "{g}",
        ar.sub_op.vjp: lambda params, arrays, i: "-{g}" if i else "{g}",
        ar.mul_op.vjp: lambda params, arrays, i: "{g} * {a1}" if i == 0 else "{g} * {a0}",
        ar.matmul_op.vjp: lambda params, arrays, i: (
            None if arrays[0].ndim != 2 or arrays[1].ndim != 2
            else "{g} @ {a1}.T" if i == 0 else "{a0}.T @ {g}"),
        el.tanh_op.vjp: lambda params, arrays, i: "{g} * (1 - {out} * {out})",
        el.relu_op.vjp: lambda params, arrays, i: "{g} * ({a0} > 0)",
        sh.transpose_op.vjp: lambda params, arrays, i: "{{g}}.transpose({!r})".format(
            None if params.get("axes") is None
            else tuple(int(k) for k in np.argsort(params["axes"]))),
        sh.reshape_op.vjp: lambda params, arrays, i: f"{{g}}.reshape({arrays[0].shape!r})",
        rd.sum_op.vjp: lambda params, arrays, i: reduced(params, arrays, False),
        rd.mean_op.vjp: lambda params, arrays, i: reduced(params, arrays, True),
    }
    return forward, vjp


def _same_bits(a: Any, b: Any) -> bool:
    """Whether two results are the same values bit for bit (shape and dtype too)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _refuse(what: str) -> RuntimeError:
    return RuntimeError(f"compile: {what}")


def _hook(method: Callable) -> Callable:
    """A tracer method the engine calls: the trace is of one thread's code only (the
    tracer is one global, read on the engine's hot path), so another thread is refused."""

    @functools.wraps(method)
    def from_the_tracing_thread(self: _Tracer, *args: Any) -> Any:
        if threading.get_ident() != self.thread:
            raise _refuse("another thread ran Tensor code while fn was being traced; trace "
                          "in one thread at a time")
        return method(self, *args)

    return from_the_tracing_thread


class _Tracer:
    """Records one eager call of ``fn`` (the engine calls its hooks) as replay statements."""

    def __init__(self, leaves: list) -> None:
        self.thread = threading.get_ident()
        self.instrs: list[_Instr] = []
        self.ns: dict[str, Any] = {"np": np, "_deposit": engine._deposit, "_Tensor": Tensor,
                                   "_Retrace": _Retrace, "_float_dtype": _float_dtype}
        self.consts: dict[int, str] = {}  # id(object) -> its name in ns
        self.arrays: dict[int, str] = {}  # id(ndarray) -> the replay local holding it
        self.keep: list = []  # every object whose id is a key above: ids stay unique
        self.count = itertools.count()
        self.built: set[int] = set()  # Tensors built by Tensor(...) from constants in fn
        self.opaque: set[int] = set()  # Tensors made in fn outside recorded ops
        self.watched: dict[int, tuple] = {}  # id(tensor) -> (tensor, replay name)
        self.items: dict[int, list] = {}  # id(number item() returned) -> [(name, number)]
        self.walks: dict[int, _Mirror] = {}
        self.pending_root: Any = None
        self.depositing: list = []  # leaves whose .grad the eager finish is about to set
        self.grad_made: dict[int, Tensor] = {}  # id(leaf) -> the .grad its last deposit made
        # ids of the tensors whose .grad a zero_grad(set_to_none=True) in fn has cleared and
        # no backward has set since: on replay too, their next deposit finds None
        self.cleared: set[int] = set()
        self.results: set[int] = set()  # ids of the arrays ops returned
        self.effects = False  # a statement with side effects was recorded already
        self.optimizers: list = []  # objects whose step() the replay calls
        self.uses: set[str] = set()  # names read by the statement being built
        self.slots = [leaf.data if isinstance(leaf, Tensor) else leaf for leaf in leaves
                      if isinstance(leaf, (Tensor, np.ndarray))]
        unpack = []
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor):
                unpack.append(f"t{i}")
                self._watch(leaf, f"t{i}")
                self._emit([f"x{i} = t{i}.data"], (f"x{i}",), {f"t{i}"})
                self._bind(leaf.data, f"x{i}")
            elif isinstance(leaf, np.ndarray):
                if leaf.dtype.kind == "O":
                    raise TypeError(f"compile: argument leaf {i} is an object array; pass "
                                    f"numeric arrays")
                unpack.append(f"x{i}")
                self._bind(leaf, f"x{i}")
            else:
                unpack.append("_")
        self.head = f"({', '.join(unpack)},) = inputs" if unpack else ""

    # ---- names ---------------------------------------------------------------------------
    def _name(self, prefix: str) -> str:
        return f"{prefix}{next(self.count)}"

    def _bind(self, arr: np.ndarray, name: str) -> None:
        self.arrays[id(arr)] = name
        self.keep.append(arr)

    def _watch(self, t: Tensor, name: str) -> None:
        if id(t) not in self.watched:
            self.watched[id(t)] = (t, name)

    def _const(self, obj: Any, hint: str) -> str:
        """The ns name of a constant (the same object always gets the same name)."""
        name = self.consts.get(id(obj))
        if name is None:
            name = f"_{_NOT_WORD.sub('_', hint)}{next(self.count)}"
            self.consts[id(obj)] = name
            self.ns[name] = obj
            self.keep.append(obj)
        return name

    def _inline(self, form: str | None, values: dict, expected: Any) -> bool:
        """Whether ``form`` evaluated on the traced ``values`` gives ``expected`` bitwise."""
        if form is None:
            return False
        try:
            got = eval(form.format(**{k: k for k in values}), self.ns, values)  # noqa: S307
        except Exception:  # a form that does not apply here: the generic call is used
            return False
        return _same_bits(got, expected)

    def _emit(self, lines: list[str], defs: tuple, uses: set, effect: bool = False,
              changes: bool = True) -> None:
        """Add a statement; ``changes``: an effect a retrace after it would repeat wrongly
        (clearing grads is not one: the retrace clears them again)."""
        self.instrs.append(_Instr(lines, defs, uses, effect))
        self.effects = self.effects or (effect and changes)

    def _use(self, name: str) -> str:
        self.uses.add(name)
        return name

    # ---- values --------------------------------------------------------------------------
    def _expr(self, value: Any) -> str:
        """Python source for a forward/VJP argument or param as the replay must see it."""
        if isinstance(value, Tensor):
            return self._use(self._tensor_value(value))
        if isinstance(value, np.ndarray):
            name = self.arrays.get(id(value))
            return self._use(name) if name else self._const(value, "const")
        if type(value) in _LITERALS or (type(value) is float and np.isfinite(value)):
            return repr(value)
        if type(value) in (tuple, list):
            inner = ", ".join(self._expr(v) for v in value)
            return f"({inner}{',' if len(value) == 1 else ''})" if type(value) is tuple \
                else f"[{inner}]"
        if isinstance(value, np.dtype):
            return self._const(value, value.name)
        if isinstance(value, (types.FunctionType, types.MethodType, types.LambdaType)):
            raise _refuse(f"an op takes the Python function {value.__name__!r} as a "
                          f"parameter (checkpoint?), whose backward cannot be replayed")
        return self._const(value, type(value).__name__)

    def _tensor_value(self, t: Tensor) -> str:
        """The replay name of ``t``'s array, emitting a read of ``.data`` if needed."""
        name = self.arrays.get(id(t.data))
        if name is not None:
            return name
        owner = self._grad_owner(t)
        if owner is not None:  # a .grad the replay set or cleared: read it where it is now
            return self._read(t.data, f"{owner}.grad.data", owner)
        if id(t) in self.opaque:
            raise _refuse(
                f"a Tensor of shape {t.shape} was computed in fn outside the ops ag.compile "
                f"replays (e.g. slogdet's sign), so its value would be frozen at trace time; "
                f"compute it after the compiled call")
        if id(t) in self.built:  # built from constants inside fn: a constant
            return self._const(t.data, "const")
        # A tensor that existed before the call (a parameter, a closed-over constant):
        # read its .data where fn read it, on every replay.
        holder = self._holder(t)
        return self._read(t.data, f"{holder}.data", holder)

    def _holder(self, t: Tensor) -> str:
        """The replay name of the Tensor object ``t`` itself (an argument, or captured)."""
        if id(t) not in self.watched:
            self._watch(t, self._const(t, "p"))
        return self.watched[id(t)][1]

    def _read(self, arr: np.ndarray, source: str, holder: str) -> str:
        name = self._name("c")
        lines = [f"{name} = {source}  # {arr.shape} {arr.dtype}"]
        if not self.effects:  # nothing changed yet: a changed shape can still retrace
            lines.append(f"if {name}.shape != {arr.shape!r} or {name}.dtype != "
                         f"{self._const(arr.dtype, arr.dtype.name)}: raise _Retrace")
        self._emit(lines, (name,), {holder})
        self._bind(arr, name)
        return name

    def _grad_owner(self, t: Tensor) -> str | None:
        for owner, name in self.watched.values():
            if owner.grad is t:
                return name
        return None

    # ---- engine hooks ----------------------------------------------------------------------
    @_hook
    def forward(self, op: Any, args: tuple, params: dict, out: np.ndarray) -> None:
        """``apply`` ran ``op`` forward on ``args`` (Tensors or constants) giving ``out``."""
        if engine.mode.anomaly:
            raise _refuse("detect_anomaly() inside fn is not supported")
        if op.keeps is not None:
            raise _refuse(f"custom Function {op.name!r}: its backward is Python code holding "
                          f"per-call state in ctx, which a replay cannot re-create")
        self.uses = set()
        for a in args:
            if type(a) is np.ndarray and id(a) not in self.arrays:
                self._frozen_input(op, a)
        exprs = [self._expr(a) for a in args]
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        form = _inline_forms()[0].get(op.forward)
        form = form and form(params, arrays)
        if self._inline(form, {f"a{i}": a for i, a in enumerate(arrays)}, out):
            value = form.format(**{f"a{i}": e for i, e in enumerate(exprs)})
        else:
            call = ", ".join([*exprs, *self._kwargs(params)])
            value = f"{self._const(op.forward, f'{op.name}_fwd')}({call})"
        self._result(value, op.name, out)

    def _result(self, value: str, label: str, out: np.ndarray) -> None:
        """Emit ``v<n> = value`` computing ``out`` (reading the names in ``self.uses``)."""
        name = self._name("v")
        self.results.add(id(out))
        if out.ndim == 0:  # apply turns NumPy's scalars into 0-d arrays
            value = f"np.asarray({value})"
        self._emit([f"{name} = {value}  # {label} {out.shape} {out.dtype}"], (name,),
                   self.uses)
        self._bind(out, name)

    @_hook
    def computed(self, fn: Callable, args: tuple, params: dict, t: Tensor) -> None:
        """A Tensor with no gradient was computed by ``fn`` (a comparison, argmax, an
        integer cast) from ``args``: the replay computes it again from its inputs."""
        self.uses = set()
        call = ", ".join([*(self._expr(a) for a in args), *self._kwargs(params)])
        label = getattr(fn, "__name__", "unrecorded")
        self._result(f"{self._const(fn, label)}({call})", label, t.data)
        self.opaque.discard(id(t))

    def _kwargs(self, params: Any) -> list[str]:
        return [f"{k}={self._expr(v)}" if k.isidentifier() else f"**{{{k!r}: {self._expr(v)}}}"
                for k, v in params.items()]

    @_hook
    def made(self, t: Tensor, data: Any, dtype: Any) -> None:
        """A Tensor was built in fn: by ``Tensor(data, dtype=...)``, or (data None) by the
        internal constructor."""
        self.keep.append(t)
        if self.depositing:  # backward's finish makes one .grad per leaf, in its order
            self.grad_made[id(self.depositing.pop(0))] = t
            return
        if id(t.data) in self.arrays:  # shares a traced array (detach)
            return
        if data is None:
            self.opaque.add(id(t))
            return
        source = self.arrays.get(id(data)) if isinstance(data, np.ndarray) else None
        if source is None:
            self.built.add(id(t))
            return
        name = self._name("v")  # Tensor(x) of an input: redo the conversion each replay
        self.uses = {source}
        self._emit([f"{name} = _float_dtype({source}, {self._expr(dtype)})  # Tensor()"],
                   (name,), self.uses)
        self._bind(t.data, name)

    @_hook
    def converted(self, source: Any, arr: np.ndarray) -> None:
        """An op's operand ``source`` became ``arr`` (a copy or a cast) before the op."""
        name = self.arrays.get(id(source)) if isinstance(source, np.ndarray) else None
        if name is None or arr is source:
            return
        if arr.dtype == source.dtype:  # a copy only for the graph's locks: the replay has none
            self._bind(arr, name)
            return
        copy = self._name("v")
        dtype = self._const(arr.dtype, arr.dtype.name)
        self._emit([f"{copy} = np.array({name}, dtype={dtype})  # operand"], (copy,), {name})
        self._bind(arr, copy)

    def _frozen_input(self, op: Any, arr: np.ndarray) -> None:
        """Refuse a constant that is a copy of an input made outside the recorded ops (its
        replay would keep the traced values): what ``np.asarray(x, dtype=...)`` does."""
        for slot in self.slots:
            if slot.shape == arr.shape and slot is not arr and slot.dtype.kind in "biufc" \
                    and np.array_equal(slot, arr):
                raise _refuse(
                    f"op {op.name!r} got an array of shape {arr.shape} {arr.dtype} equal to an "
                    f"input array of dtype {slot.dtype} but not that array (converted outside "
                    f"the recorded ops, e.g. by np.asarray(x, dtype=...)), so the replay "
                    f"would keep the traced values; pass the input in the dtype the model uses")

    @_hook
    def item(self, t: Tensor, value: Any) -> None:
        """``t.item()`` returned ``value``: recomputed in the replay if fn returns it."""
        source = self._tensor_value(t)
        name = self._name("n")
        self._emit([f"{name} = {source}.item()"], (name,), {source})
        self.items.setdefault(id(value), []).append((name, value))

    @_hook
    def host(self, fn: Callable, *args: Any) -> Any:
        """An optimizer's step or ``zero_grads`` called in fn: the replay calls it again
        (with the tracer off, so its NumPy is not traced), reading the state it finds."""
        owner = getattr(fn, "__self__", None)
        if owner is not None:
            self.optimizers.append(owner)
            for p in getattr(owner, "params", ()):
                self._holder(p)
                self._check_grad(p)
        if args and isinstance(args[0], list):  # zero_grads(params, set_to_none)
            for p in args[0]:
                self._holder(p)
                self.grad_made.pop(id(p), None)
                if args[1]:
                    self.cleared.add(id(p))
        call = ", ".join(self._const(a, "params") if isinstance(a, list) else self._expr(a)
                         for a in args)
        label = getattr(fn, "__qualname__", "host")
        self._emit([f"{self._const(fn, label)}({call})"], (), set(), effect=True,
                   changes=owner is not None)
        engine.tracer = None
        try:
            return fn(*args)
        finally:
            engine.tracer = self

    def _check_grad(self, p: Tensor) -> None:
        """Refuse a ``.grad`` the replay would not reproduce before an optimizer reads it:
        replaced or cleared by hand after backward (gradient clipping, ``p.grad = ...``)."""
        deposited = self.grad_made.get(id(p), p)  # p itself: nothing deposited in this trace
        grad = p.grad
        if deposited is p:
            made_here = grad is not None and (id(grad) in self.built or id(grad) in self.opaque
                                              or id(grad.data) in self.results)
        else:
            made_here = grad is not deposited
        if made_here:
            raise _refuse(f"the .grad of a parameter of shape {p.shape} was set in fn outside "
                          f"backward (gradient clipping, p.grad = ...) before the optimizer "
                          f"step; the replay would not redo it")

    @_hook
    def backward(self, root: Any, grad: Any, create_graph: bool) -> None:
        """``engine.backward(root, grad, ...)`` is about to walk."""
        if create_graph:
            raise _refuse("backward(create_graph=True) inside fn is not supported")
        if grad is not None:
            raise _refuse("backward(grad=...) inside fn is not supported; backward a scalar")
        self.pending_root = root

    def _mirror(self, walk: Any) -> _Mirror:
        mirror = self.walks.get(id(walk))
        if mirror is not None:
            return mirror
        root = self.pending_root
        if walk.targets is not None or root is None or walk.roots[0] is not root:
            raise _refuse("only Tensor.backward() is replayed; backward_steps, ag.grad and "
                          "the other transforms inside fn are not supported")
        self.pending_root = None
        seed = self._name("g")
        dtype = self._const(root.data.dtype, root.data.dtype.name)
        self._emit([f"{seed} = np.ones({root.shape!r}, dtype={dtype})  # backward seed"],
                   (seed,), set())
        self.keep.append(walk)  # its id keys self.walks
        mirror = self.walks[id(walk)] = _Mirror({id(root): seed})
        return mirror

    @_hook
    def vjp(self, walk: Any, key: int, out_t: Any, g: Any, in_grads: list) -> None:
        """The walk applied ``out_t``'s node: ``g`` arrived, ``in_grads`` went out."""
        mirror = self._mirror(walk)
        if walk.hooks and key in walk.hooks:
            raise _refuse("a tensor hook or retain_grad() in the backward of fn is not "
                          "supported")
        node = out_t.node
        op, params = node.op, node.params
        if op.needs_mask:
            params = {**params, "needs": tuple(isinstance(i, Tensor) and i.requires_grad
                                               for i in node.inputs)}
        # Applied again here to see the raw gradients, before the engine's unbroadcast.
        raw = op.vjp(g, node.out, *node.saved, **params)
        self.uses = set()
        g_name = self._use(mirror.grads.pop(key))
        out_name, exprs = self._expr(node.out), [self._expr(a) for a in node.saved]
        names = [self._name("g") if gi is not None else "_" for gi in in_grads]
        defs = [n for n in names if n != "_"]
        lines = self._inline_vjp(op, params, node, g, raw, in_grads, names,
                                 {"g": g_name, "out": out_name,
                                  **{f"a{i}": e for i, e in enumerate(exprs)}})
        if lines is None:
            call = ", ".join([g_name, out_name, *exprs, *self._kwargs(params)])
            lines = [f"{', '.join(names)}, = {self._const(op.vjp, op.name + '_vjp')}({call})"]
        for index, (inp, arr, gi, final) in enumerate(zip(node.inputs, node.saved, raw,
                                                          in_grads)):
            if final is None:
                continue
            name = names[index]
            if type(gi) is not np.ndarray:
                gi = np.asarray(gi)
                lines.append(f"{name} = np.asarray({name})")
            if gi.shape != arr.shape:
                lead = gi.ndim - arr.ndim
                axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(arr.shape)
                                                  if n == 1 and gi.shape[i + lead] != 1)
                if axes:
                    lines.append(f"{name} = {name}.sum(axis={axes!r}, keepdims=True)")
                if lead:
                    lines.append(f"{name} = {name}.reshape({arr.shape!r})")
            if final.dtype != gi.dtype:
                lines.append(f"{name} = {name}.astype({self._const(final.dtype, 'dtype')})")
            names[index] = self._accumulate(mirror, inp, name, lines, defs)
        lines[0] += f"  # {op.name}"
        self._emit(lines, tuple(defs), self.uses)

    def _inline_vjp(self, op: Any, params: dict, node: Any, g: Any, raw: Any, in_grads: list,
                    names: list, exprs: dict) -> list[str] | None:
        """One line per needed gradient in inline form, or None (then the generic call)."""
        form_of = _inline_forms()[1].get(op.vjp)
        if form_of is None:
            return None
        values = {"g": g, "out": node.out, **{f"a{i}": a for i, a in enumerate(node.saved)}}
        lines = []
        for index, final in enumerate(in_grads):
            if final is None:  # not needed: the inline form does not compute it at all
                continue
            form = form_of(params, list(node.saved), index)
            if not self._inline(form, values, raw[index]):
                return None
            lines.append(f"{names[index]} = {form.format(**exprs)}")
        return lines or None

    def _accumulate(self, mirror: _Mirror, inp: Any, name: str, lines: list, defs: list) -> str:
        """The engine's accumulation, in its order: first gradient stored, later ones added."""
        key = id(inp)
        prev = mirror.grads.get(key)
        if prev is None:
            if inp.node is None:
                mirror.leaves[key] = inp
            mirror.grads[key] = name
            return name
        total = self._name("g")
        lines.append(f"{total} = {self._use(prev)} + {name}")
        defs.append(total)
        mirror.grads[key] = total
        return total

    @_hook
    def finish(self, walk: Any) -> None:
        """The walk is about to deposit its leaves' gradients into ``.grad``."""
        mirror = self._mirror(walk)
        leaves = dict(mirror.leaves)
        for r in walk.roots:  # as the engine: a leaf root gets its seed
            if r.node is None and id(r) in mirror.grads:
                leaves[id(r)] = r
        for key, leaf in leaves.items():
            if walk.hooks and key in walk.hooks:
                raise _refuse("a tensor hook or retain_grad() on a leaf is not supported")
            if key in self.built or key in self.opaque:
                raise _refuse(f"backward reached a tensor of shape {leaf.shape} created inside "
                              f"fn with requires_grad=True; its .grad would be lost on replay")
        holders = {key: self._holder(leaf) for key, leaf in leaves.items()}
        uses = set(holders.values()) | {mirror.grads[key] for key in leaves}
        if all(key in self.cleared and leaf.grad is None for key, leaf in leaves.items()):
            lines = self._fresh_deposits(walk, mirror, holders)
        else:
            dep = self._name("deposited")
            lines = [f"{dep} = set()"] + [f"_deposit({holder}, {mirror.grads[key]}, False, {dep})"
                                         for key, holder in holders.items()]
        self.cleared -= set(leaves)
        self._emit(lines, (), uses, effect=True)
        self.depositing = list(leaves.values())
        del self.walks[id(walk)]

    @staticmethod
    def _fresh_deposits(walk: Any, mirror: _Mirror, holders: dict) -> list[str]:
        """``engine._deposit`` into ``.grad``s that are None, decided at trace time: which
        gradients it copies (read-only, or memory another ``.grad`` got) depends on the
        ops that made them, the same on every replay."""
        lines, owners = [], set()
        for key, holder in holders.items():
            g = walk.grads[key]
            copy = not g.flags.writeable or id(engine._owner(g)) in owners
            if not copy:
                owners.add(id(engine._owner(g)))
            value = f"{mirror.grads[key]}.copy()" if copy else mirror.grads[key]
            lines.append(f"{holder}.grad = _Tensor._make({value}, None)  # .grad")
        return lines

    # ---- the generated function ----------------------------------------------------------
    def outputs(self, result: Any) -> tuple[list[str], Any]:
        """Replay expressions for ``fn``'s result leaves, and its structure."""
        leaves, treedef = pytree.flatten(result)
        paths = pytree.leaf_paths(result)
        return [self._output(leaf, path) for leaf, path in zip(leaves, paths)], treedef

    def _output(self, leaf: Any, path: str) -> str:
        where = f"fn's result{path}"
        if isinstance(leaf, Tensor):
            if id(leaf) in self.watched:
                return self._use(self.watched[id(leaf)][1])
            owner = self._grad_owner(leaf)
            if owner is not None:
                return f"{self._use(owner)}.grad"
            return f"_Tensor._make({self._use(self._tensor_value(leaf))}, None)"
        if isinstance(leaf, np.ndarray):
            for t, name in self.watched.values():  # a parameter's .data after the step
                if t.data is leaf:
                    return f"{self._use(name)}.data"
                if t.grad is not None and t.grad.data is leaf:
                    return f"{self._use(name)}.grad.data"
            return self._expr(leaf)
        found = self.items.get(id(leaf))
        if found is not None:
            if len({name for name, _ in found}) > 1:
                raise _refuse(f"{where} is a number that several Tensor.item() calls returned "
                              f"(a cached small int); return the Tensors instead")
            return self._use(found[0][0])
        if isinstance(leaf, (float, complex, np.generic)):
            raise _refuse(f"{where} is a {type(leaf).__name__} ({leaf!r}) that no "
                          f"Tensor.item() returned, so it would be frozen at trace time; "
                          f"return the Tensor or its .item()")
        return self._expr(leaf)

    def source(self, returns: list[str], title: str) -> str:
        """The replay function's source, dead statements dropped."""
        live = set(self.uses)
        kept = []
        for instr in reversed(self.instrs):
            if instr.effect or any(d in live for d in instr.defs):
                kept.append(instr)
                live |= instr.uses
        body = [f"# {title}"]
        if self.head:
            body.append(self.head)
        for instr in reversed(kept):
            body += instr.lines
        body.append(f"return [{', '.join(returns)}]")
        return "def replay(inputs):\n" + "".join(f"    {line}\n" for line in body)


class _Plan:
    """One signature's replay: the generated function and what a checked call compares."""

    __slots__ = ("run_leaves", "source", "out_def", "tensors", "optimizers", "checked")

    def __init__(self, run_leaves: Callable, source: str, out_def: Any, tensors: list,
                 optimizers: list) -> None:
        self.run_leaves, self.source, self.out_def = run_leaves, source, out_def
        self.tensors, self.optimizers = tensors, optimizers
        self.checked = False  # whether a replay of it was compared with eager yet

    def run(self, leaves: list) -> Any:
        return pytree.unflatten(self.out_def, self.run_leaves(leaves))



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
            raise _refuse("a compiled function was called while another one is being traced")
        leaves, treedef = pytree.flatten(args)
        sig = _signature(leaves, treedef)
        plan = self._plans.get(sig)
        if plan is None:
            return self._trace(sig, leaves, args)
        try:
            if self.check is True or (self.check == "first" and not plan.checked):
                result = self._checked(plan, leaves, args)
                plan.checked = True
                return result
            return plan.run(leaves)
        except _Retrace:
            return self._trace(sig, leaves, args)

    def _trace(self, sig: tuple, leaves: list, args: tuple) -> Any:
        if engine.mode.anomaly:
            raise _refuse("cannot trace under detect_anomaly(); call fn eagerly there")
        tracer = _Tracer(leaves)
        drawn = random.default_generator().bit_generator.state
        engine.tracer = tracer
        try:
            result = self.fn(*args)
        finally:
            engine.tracer = None
        if random.default_generator().bit_generator.state != drawn:
            raise _refuse("fn drew from ag's random generator (randn, rand, dropout...): the "
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
        plan = _Plan(tracer.ns["replay"], source, out_def, tensors, optimizers)
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
