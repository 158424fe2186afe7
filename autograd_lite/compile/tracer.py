"""The tracer of ``ag.compile``: records one eager call of ``fn`` through the engine's hooks
and writes the replay function's source."""

from __future__ import annotations

import functools
import itertools
import operator
import re
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import engine, pytree
from ..tensor import Tensor, _float_dtype
from .forms import inline_forms


class Retrace(Exception):
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


def _same_bits(a: Any, b: Any) -> bool:
    """Whether two results are the same values bit for bit (shape and dtype too)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def refuse(what: str) -> RuntimeError:
    return RuntimeError(f"compile: {what}")


def _hook(method: Callable) -> Callable:
    """A tracer method the engine calls: the trace is of one thread's code only (the
    tracer is one global, read on the engine's hot path), so another thread is refused."""

    @functools.wraps(method)
    def from_the_tracing_thread(self: Tracer, *args: Any) -> Any:
        if threading.get_ident() != self.thread:
            raise refuse("another thread ran Tensor code while fn was being traced; trace "
                          "in one thread at a time")
        return method(self, *args)

    return from_the_tracing_thread


class Tracer:
    """Records one eager call of ``fn`` (the engine calls its hooks) as replay statements."""

    def __init__(self, leaves: list) -> None:
        self.thread = threading.get_ident()
        self.instrs: list[_Instr] = []
        self.ns: dict[str, Any] = {"np": np, "_deposit": engine._deposit, "_Tensor": Tensor,
                                   "_iadd": operator.iadd,
                                   "Retrace": Retrace, "_float_dtype": _float_dtype}
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
        # (id, attribute) -> (object, attribute, its value at trace time), which a replay
        # requires: a Module's training flag, a captured tensor's requires_grad steer fn
        self.guards: dict[tuple, tuple] = {}
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
            raise refuse(f"an op takes the Python function {value.__name__!r} as a "
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
            raise refuse(
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
            self.guard(t, "requires_grad")
        return self.watched[id(t)][1]

    def _read(self, arr: np.ndarray, source: str, holder: str) -> str:
        name = self._name("c")
        lines = [f"{name} = {source}  # {arr.shape} {arr.dtype}"]
        if not self.effects:  # nothing changed yet: a changed shape can still retrace
            lines.append(f"if {name}.shape != {arr.shape!r} or {name}.dtype != "
                         f"{self._const(arr.dtype, arr.dtype.name)}: raise Retrace")
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
            raise refuse("detect_anomaly() inside fn is not supported")
        if op.keeps is not None:
            raise refuse(f"custom Function {op.name!r}: its backward is Python code holding "
                          f"per-call state in ctx, which a replay cannot re-create")
        self.uses = set()
        for a in args:
            if type(a) is np.ndarray and id(a) not in self.arrays:
                self._frozen_input(f"op {op.name!r}", a)
        exprs = [self._expr(a) for a in args]
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        form = inline_forms()[0].get(op.forward)
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
    def guard(self, obj: Any, attr: str) -> None:
        """``obj.attr`` (a flag Python code in fn branches on) must keep its traced value."""
        if (id(obj), attr) not in self.guards:
            self.keep.append(obj)
            self.guards[id(obj), attr] = (obj, attr, getattr(obj, attr))

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
        if not isinstance(data, np.ndarray):  # a list or a number: a constant
            self.built.add(id(t))
            return
        source = self.arrays.get(id(data))
        if source is None:  # a captured array (BatchNorm's running statistics): read live
            self._view_of_input(f"Tensor() of shape {t.shape}", data)
            self.built.add(id(t))
            source = self._const(data, "const")
        name = self._name("v")  # Tensor(x) of an array: redo the conversion each replay
        self.uses = {source}
        self._emit([f"{name} = _float_dtype({source}, {self._expr(dtype)})  # Tensor()"],
                   (name,), self.uses)
        self._bind(t.data, name)

    @_hook
    def converted(self, source: Any, arr: np.ndarray) -> None:
        """An op's operand ``source`` became ``arr`` (a copy or a cast) before the op."""
        if not isinstance(source, np.ndarray) or arr is source:
            return
        name = self.arrays.get(id(source))
        if name is None:  # a captured array (a preallocated buffer): read it live, as eager
            self._view_of_input("an op", source)
            if self._equal_input(source) is not None:
                return  # a copy of an input: the op (naming itself) refuses it
            name = self._const(source, "const")
        if arr.dtype == source.dtype:  # a copy only for the graph's locks: the replay has none
            self._bind(arr, name)
            return
        copy = self._name("v")
        dtype = self._const(arr.dtype, arr.dtype.name)
        self._emit([f"{copy} = np.array({name}, dtype={dtype})  # operand"], (copy,), {name})
        self._bind(arr, copy)

    def _frozen_input(self, where: str, arr: np.ndarray) -> None:
        """Refuse a constant that is a copy or a view of an input made outside the recorded
        ops (its replay would keep the traced values): what ``np.asarray(x, dtype=...)`` or
        ``x[:4]`` on an array argument does."""
        self._view_of_input(where, arr)
        slot = self._equal_input(arr)
        if slot is not None:
            raise refuse(
                f"{where} got an array of shape {arr.shape} {arr.dtype} equal to an "
                f"input array of dtype {slot.dtype} but not that array (converted outside "
                f"the recorded ops, e.g. by np.asarray(x, dtype=...)), so the replay "
                f"would keep the traced values; pass the input in the dtype the model uses")

    def _equal_input(self, arr: np.ndarray) -> np.ndarray | None:
        """The input array ``arr`` equals without being it (a copy made in fn), or None."""
        for slot in self.slots:
            if slot.shape == arr.shape and slot is not arr and slot.dtype.kind in "biufc" \
                    and np.array_equal(slot, arr):
                return slot
        return None

    def _view_of_input(self, where: str, arr: np.ndarray) -> None:
        """Refuse an array sharing memory with an input but not that array (a NumPy slice
        or reshape of it taken in fn): the replay would keep the traced values."""
        for slot in self.slots:
            if slot is not arr and np.may_share_memory(slot, arr):
                raise refuse(
                    f"{where} got an array of shape {arr.shape} that is a view of an input "
                    f"array of shape {slot.shape} (sliced or reshaped in NumPy, e.g. x[:4] on "
                    f"an array argument), so the replay would keep the traced values; slice "
                    f"a Tensor instead (ag.tensor(x)[:4]) or pass the pieces as arguments")

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
            raise refuse(f"the .grad of a parameter of shape {p.shape} was set in fn outside "
                          f"backward (gradient clipping, p.grad = ...) before the optimizer "
                          f"step; the replay would not redo it")

    @_hook
    def backward(self, root: Any, grad: Any, create_graph: bool) -> None:
        """``engine.backward(root, grad, ...)`` is about to walk."""
        if create_graph:
            raise refuse("backward(create_graph=True) inside fn is not supported")
        if grad is not None:
            raise refuse("backward(grad=...) inside fn is not supported; backward a scalar")
        self.pending_root = root

    def _mirror(self, walk: Any) -> _Mirror:
        mirror = self.walks.get(id(walk))
        if mirror is not None:
            return mirror
        root = self.pending_root
        if walk.targets is not None or root is None or walk.roots[0] is not root:
            raise refuse("only Tensor.backward() is replayed; backward_steps, ag.grad and "
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
            raise refuse("a tensor hook or retain_grad() in the backward of fn is not "
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
            if gi.shape != arr.shape:  # engine.unbroadcast's reduction, written out
                axes, keepdims = engine.summed_axes(gi.shape, arr.shape)
                if keepdims:
                    lines.append(f"{name} = {name}.sum(axis={axes!r}, keepdims=True)")
                    if gi.ndim != arr.ndim:
                        lines.append(f"{name} = {name}.reshape({arr.shape!r})")
                elif axes:
                    lines.append(f"{name} = {name}.sum(axis={axes!r})")
            if final.dtype != gi.dtype:
                lines.append(f"{name} = {name}.astype({self._const(final.dtype, 'dtype')})")
            names[index] = self._accumulate(mirror, inp, name, lines, defs)
        lines[0] += f"  # {op.name}"
        self._emit(lines, tuple(defs), self.uses)

    def _inline_vjp(self, op: Any, params: dict, node: Any, g: Any, raw: Any, in_grads: list,
                    names: list, exprs: dict) -> list[str] | None:
        """One line per needed gradient in inline form, or None (then the generic call)."""
        form_of = inline_forms()[1].get(op.vjp)
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
                raise refuse("a tensor hook or retain_grad() on a leaf is not supported")
            if key in self.built or key in self.opaque:
                raise refuse(f"backward reached a tensor of shape {leaf.shape} created inside "
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
            made = f"_Tensor._make({self._use(self._tensor_value(leaf))}, None)"
            # a new leaf fn made requiring grad (w.detach().requires_grad_()) stays one
            return f"{made}.requires_grad_()" if leaf.requires_grad and leaf.node is None \
                else made
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
                raise refuse(f"{where} is a number that several Tensor.item() calls returned "
                              f"(a cached small int); return the Tensors instead")
            return self._use(found[0][0])
        if isinstance(leaf, (float, complex, np.generic)):
            raise refuse(f"{where} is a {type(leaf).__name__} ({leaf!r}) that no "
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
