"""The tape: grad mode, the Node record, the one recording path and the reverse walk.

The engine names no specific operation. An op is any object with ``name``,
``forward(*arrays, **params)`` and ``vjp(g, out, *args, **params)``; the engine
records one :class:`Node` per call and, at backward time, calls ``vjp`` with
arrays (or with Tensors under ``create_graph=True`` so the backward pass is itself
recorded). There is no global tape list: the order of the reverse walk comes from
each node's creation sequence number, so an abandoned graph is freed by reference
counting like any other Python object.
"""

from __future__ import annotations

import itertools
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from heapq import heappop, heappush
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from . import saved_arrays
from .hooks import registry

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor as TensorType

# ---------------------------------------------------------------------------------
# Modes (thread-local, like torch.no_grad)


class _State:
    """One thread's switches, read on every recorded op."""

    __slots__ = ("enabled", "anomaly", "scope")

    def __init__(self) -> None:
        self.enabled = True  # grad recording
        self.anomaly = False  # detect_anomaly(): remember call sites, check for NaN/inf
        self.scope: str | None = None  # dotted module path the current ops belong to


def _switch(name: str) -> property:
    """``mode.<name>``: this thread's switch, read and written through its _State."""
    getter = attrgetter(f"state.{name}")
    return property(getter, lambda self, value: setattr(self.state, name, value),
                    doc=f"This thread's {name} switch.")


class _Mode(threading.local):
    """Per-thread switches (see _State). ``apply`` reads ``state`` once and its slots
    after: an attribute of a threading.local costs ~8x a slot read, and an op reads three
    switches. The engine itself goes through ``state`` too (no property call)."""

    def __init__(self) -> None:
        self.state = _State()

    enabled = _switch("enabled")
    anomaly = _switch("anomaly")
    scope = _switch("scope")


mode = _Mode()


class TensorLike(Protocol):
    """What the engine needs of the tensor class it builds results with."""

    data: np.ndarray
    grad: Any
    requires_grad: bool
    node: Node | None
    name: str | None


# ag.compile's recorder while it traces a call (autograd_lite/compile/), else None: each
# hook below is one global read when nothing is being compiled.
tracer: Any = None

# The tensor class, bound once by set_tensor_type (the engine never imports tensor.py); a
# module global so the recording path reads it as cheaply as any other name.
Tensor: Any = None


def set_tensor_type(cls: type[TensorLike]) -> None:
    """Make ``cls`` the class the engine builds results with and recognises as recorded."""
    global Tensor
    Tensor = cls


_sequence = itertools.count()


def is_grad_enabled() -> bool:
    """True when operations are being recorded for backward (per thread)."""
    return mode.state.enabled


class _GradMode:
    """Context manager and decorator that sets grad recording for its body."""

    __slots__ = ("flag", "prev")

    def __init__(self, flag: bool) -> None:
        self.flag = flag
        self.prev: list[bool] = []

    def __enter__(self) -> None:
        self.prev.append(mode.state.enabled)
        mode.state.enabled = self.flag

    def __exit__(self, *exc: object) -> None:
        mode.state.enabled = self.prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.flag):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


def no_grad(func: Any = None) -> Any:
    """``with ag.no_grad():`` records nothing inside (thread-local); also a decorator,
    ``@ag.no_grad()`` or bare ``@ag.no_grad`` as in PyTorch."""
    return _GradMode(False) if func is None else _GradMode(False)(func)


def enable_grad(func: Any = None) -> Any:
    """``with ag.enable_grad():`` records again, even inside ``no_grad``; also a
    decorator, with or without parentheses."""
    return _GradMode(True) if func is None else _GradMode(True)(func)


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside, each op remembers the user's line that created it, and a forward or
    backward result holding NaN or inf raises ``FloatingPointError`` naming the op, its
    input shapes and that line. Outside, ops pay one flag read.
    """
    prev = mode.state.anomaly
    mode.state.anomaly = True
    try:
        yield
    finally:
        mode.state.anomaly = prev


class _Scope:
    """The context manager :func:`scope` returns: a class with slots, not a
    ``@contextmanager`` generator, because every ``nn.Module`` call enters one."""

    __slots__ = ("name", "prev")

    def __init__(self, name: str) -> None:
        self.name = name
        self.prev: str | None = None

    def __enter__(self) -> None:
        state = mode.state
        prev = self.prev = state.scope
        name = self.name
        state.scope = name if prev is None or name.startswith(prev + ".") else f"{prev}.{name}"

    def __exit__(self, *exc: object) -> None:
        mode.state.scope = self.prev


def scope(name: str) -> _Scope:
    """``with scope(name):`` labels every op recorded inside with ``name`` (nested scopes
    join with dots).

    ``nn.Module.__call__`` uses it so rendered graphs can cluster ops per module. A class
    rather than a ``@contextmanager`` generator: it is entered once per module call and
    per loss, and a generator's enter and exit cost several times more.
    """
    return _Scope(name)


# ---------------------------------------------------------------------------------
# The record


class Node:
    """One recorded operation: what backward needs to apply its VJP.

    ``inputs`` are the op's arguments as given (Tensors, or constants); ``saved`` the
    arrays the forward saw, captured when the op ran so later rebinding of a tensor's
    ``.data`` cannot change the gradient; ``out`` the forward result's array. After a
    backward without ``retain_graph`` the arrays are dropped (``saved is None``) and
    interior inputs are replaced by :class:`Freed` summaries, so the graph can still be
    drawn but intermediate tensors are no longer kept alive by it.
    """

    __slots__ = ("op", "inputs", "saved", "out", "params", "seq", "scope", "trace")

    def __init__(self, op: Any, inputs: tuple, saved: tuple, out: np.ndarray, params: Any) -> None:
        self.op = op
        self.inputs = inputs
        self.saved = saved
        self.out = out
        self.params = params
        self.seq = next(_sequence)
        self.scope = mode.state.scope
        self.trace = _call_site() if mode.state.anomaly else None

    @property
    def name(self) -> str:
        """The op's display name (``mul``, ``sum``, a Function's class name...)."""
        return self.op.name

    def __repr__(self) -> str:
        return f"<{self.op.name} node #{self.seq}>"


class _GuardedNode(Node):
    """A node that locked saved arrays: dropping it unlocked (no backward) releases them.

    ``guard``: what ``saved_arrays.protect`` returned (the locked array, or a tuple).
    """

    __slots__ = ("guard",)

    def __del__(self) -> None:
        if self.saved is not None:
            saved_arrays.release(self.guard, False)  # never wait: this thread may hold it


class Freed:
    """What a freed graph keeps of an interior tensor: enough to draw it.

    ``data`` is the array itself when it has at most :data:`FREED_KEEPS` elements (what a
    graph shows of small tensors); a larger one is a :class:`FreedLarge` (``data`` None,
    ``preview`` holding copies of its first and last three flat elements), so a drawing
    can still hint at the values while the large array itself is released. Small ones are
    made by :func:`_free` with three attribute writes and no ``__init__`` frame: one per
    interior input of every node a backward frees.
    """

    __slots__ = ("data", "name", "node")
    data: np.ndarray | None
    name: str | None
    node: Node | None

    preview: tuple | None = None
    requires_grad = True
    grad = None

    @property
    def shape(self) -> tuple:
        """The tensor's shape."""
        return self.data.shape  # type: ignore[union-attr]  # FreedLarge overrides it

    @property
    def dtype(self) -> np.dtype:
        """The tensor's dtype."""
        return self.data.dtype  # type: ignore[union-attr]  # FreedLarge overrides it


class FreedLarge(Freed):
    """A :class:`Freed` summary of a tensor too large to keep: shape, dtype, a preview."""

    __slots__ = ("_shape", "_dtype", "preview")

    def __init__(self, t: TensorType) -> None:
        data = t.data
        self._shape, self._dtype, self.name, self.node = data.shape, data.dtype, t.name, t.node
        ends = data.flat[_ENDS]  # one gather (a copy) instead of two slices copied
        self.data, self.preview = None, (ends[:3], ends[3:])

    @property
    def shape(self) -> tuple:
        """The tensor's shape."""
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        """The tensor's dtype."""
        return self._dtype


FREED_KEEPS = 64  # elements of an interior value a freed graph still holds for drawing
_ENDS = np.array([0, 1, 2, -3, -2, -1])  # the flat elements a FreedLarge preview keeps


def _call_site() -> str:
    """The first stack frame outside this package: where the user created the op."""
    import sys

    frame = sys._getframe(2)
    pkg = __name__.rsplit(".", 1)[0]
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == pkg:
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def check_finite(node_name: str, where: str | None, shapes: Sequence, arrays: Sequence,
                 phase: str) -> None:
    """detect_anomaly's check: raise FloatingPointError if any array holds NaN or inf."""
    for a in arrays:
        if a is not None and a.dtype.kind in "fc" and not np.isfinite(a).all():
            kind = "NaN" if np.isnan(a).any() else "inf"
            shape_text = ", ".join(str(tuple(s)) for s in shapes)
            raise FloatingPointError(
                f"{phase} of '{node_name}' produced {kind} (input shapes {shape_text}); "
                f"the op was created at {where or '<unknown>'}"
            )


# ---------------------------------------------------------------------------------
# Broadcasting undone in one place


def unbroadcast(g: Any, shape: tuple) -> Any:
    """Sum ``g`` (array or Tensor) down to ``shape``: the VJP of NumPy broadcasting.

    Sums away leading axes that broadcasting added and axes where ``shape`` has 1.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    axes, keepdims = summed_axes(gshape, shape)
    if keepdims:
        g = g.sum(axis=axes, keepdims=True)
        if len(gshape) != len(shape):
            g = g.reshape(shape)
    elif axes:
        g = g.sum(axis=axes)
    if g.shape != shape:
        raise ValueError(f"unbroadcast: gradient of shape {gshape} does not broadcast to {shape}")
    return g


def summed_axes(gshape: tuple, shape: tuple) -> tuple[tuple, bool]:
    """The axes :func:`unbroadcast` sums a gradient of ``gshape`` over to reach ``shape``,
    and whether it keeps them (then reshapes): leading axes broadcasting added, and axes
    where ``shape`` has 1. Only leading ones (a bias) are summed without keepdims: one
    reduction, no reshape. ``ag.compile`` writes the same reduction into its replay."""
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ValueError(f"unbroadcast: gradient of shape {gshape} cannot reduce to {shape}")
    kept: tuple = ()  # axes where shape has 1 (a loop: a generator here cost ~1 us per call)
    for i, n in enumerate(shape):
        if n == 1 and gshape[i + lead] != 1:
            kept += (i + lead,)
    return tuple(range(lead)) + kept, bool(kept)


# ---------------------------------------------------------------------------------
# The reverse walk


def graph_nodes(roots: Sequence) -> dict:
    """Every node reachable from ``roots``, mapped to the tensor it produced.

    Iterative (an explicit stack), so a 100,000-node chain is fine. Used by
    ``draw_graph`` and other tools that need the whole graph; backward itself only
    visits nodes on the gradient path.
    """
    found: dict = {}
    stack = [r for r in roots if r.node is not None]
    while stack:
        t = stack.pop()
        node = t.node
        if node in found:
            continue
        found[node] = t
        for inp in node.inputs:
            if getattr(inp, "node", None) is not None and inp.node not in found:
                stack.append(inp)
    return found


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"Trying to backward through the graph a second time: the arrays saved by "
        f"'{node.op.name}' were freed by the first backward. Call backward(retain_graph=True) "
        f"the first time if you need to backward twice."
    )


def _recorded_args(node: Node, out_t: TensorType) -> tuple:
    """The (out, *args) a VJP sees under create_graph: the Tensors themselves.

    They must still hold the arrays the forward saw: the VJP reads their current
    ``.data`` (PyTorch's version-counter error in the same situations).
    """
    for inp, arr in zip(node.inputs, node.saved):
        if isinstance(inp, Tensor) and inp.data is not arr:
            raise _rebound_error(node, "an input's")
    if out_t.data is not node.out:
        raise _rebound_error(node, "the output's")
    return (out_t, *node.inputs)


def _rebound_error(node: Node, whose: str) -> RuntimeError:
    return RuntimeError(
        f"a tensor needed for gradient computation by '{node.op.name}' was modified: "
        f"{whose} .data was replaced (assigned, or updated in place under no_grad) after the "
        f"op was recorded, so create_graph=True would differentiate other values than the "
        f"forward pass used. Recompute the forward pass after modifying tensors."
    )


def _vjp(node: Node, g: Any, out_t: TensorType, create_graph: bool) -> Sequence:
    """Call one node's VJP: on the saved arrays, or on the recorded Tensors under
    create_graph; ops with ``needs_mask`` also get ``needs`` (bool per input).

    Returns what the VJP returned, one gradient (or None) per input, shapes not undone.
    """
    op = node.op
    args = _recorded_args(node, out_t) if create_graph else (node.out, *node.saved)
    if op.needs_mask:
        needs = tuple(isinstance(i, Tensor) and i.requires_grad for i in node.inputs)
        return op.vjp(g, *args, needs=needs, **node.params)
    return op.vjp(g, *args, **node.params)


def _count_error(node: Node, grads: Sequence) -> RuntimeError:
    return RuntimeError(
        f"{node.op.name}.backward returned {len(grads)} gradients for "
        f"{len(node.saved)} inputs"
    )


def _reshaped(node: Node, gi: Any, shape: tuple, index: int) -> Any:
    """Sum a broadcast-shaped gradient back to its input's shape, or say which op erred."""
    try:
        return unbroadcast(gi, shape)
    except ValueError:
        raise ValueError(
            f"{node.op.name}.backward returned a gradient of shape {gi.shape} for input "
            f"{index} of shape {shape}"
        ) from None


def _seed(root: TensorType, grad: Any, create_graph: bool) -> Any:
    """The gradient that starts the walk: 1 for a scalar root, else the given one."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn "
            "(no input had requires_grad=True, or it was computed under no_grad)"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs; this "
                f"output has shape {root.shape}, so pass grad= of that shape"
            )
        g = np.ones(root.shape, dtype=root.dtype)
    else:
        if create_graph and isinstance(grad, Tensor):
            g = grad  # keep it recorded: jvp differentiates with respect to the seed
        else:
            g = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if g.shape != root.shape:
            raise RuntimeError(
                f"backward: grad has shape {g.shape} but the output has shape {root.shape}"
            )
        if g.dtype != root.dtype:
            g = g.astype(root.dtype)
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor(g)
    return g


class _Walk:
    """The reverse walk from ``roots``: one :meth:`step` per node, in decreasing creation
    sequence number.

    A node is always created after its inputs, so by the time it runs every consumer of
    its output has already contributed, and its incoming gradient is complete (diamonds,
    reuse). With ``targets`` None, :meth:`finish` accumulates gradients into the ``.grad``
    of leaves that require grad (and of tensors that called ``retain_grad``); otherwise it
    returns the gradients of ``targets`` (their ``.grad`` left alone). Nodes created
    before ``floor`` are neither entered nor freed (an inner transform's walk stops at
    the caller's graph).

    :func:`backward` and :func:`grad_of` run the steps in one loop with grad mode set
    once; :func:`backward_steps` yields between them and sets grad mode around each step
    only, so a paused generator leaves the thread as it found it.
    """

    __slots__ = ("grads", "pending", "keep", "leaves", "deposited", "anomaly", "hooks",
                 "create_graph", "retain_graph", "targets", "roots", "floor")

    def __init__(self, roots: Sequence, seeds: Sequence, retain_graph: bool,
                 create_graph: bool, targets: Sequence | None = None, floor: int = -1) -> None:
        self.grads: dict = {}
        self.pending: list = []  # max-heap on seq of tensors whose node still has to run
        for r, s in zip(roots, seeds):
            if id(r) not in self.grads and r.node is not None and r.node.seq >= floor:
                heappush(self.pending, (-r.node.seq, id(r), r))
            _accumulate(self.grads, id(r), s)
        self.keep = {id(t) for t in targets} if targets is not None else ()
        self.leaves: dict = {}
        self.deposited: set = set()  # memory owners given to a .grad: never hand one out twice
        self.anomaly = mode.state.anomaly
        self.hooks = registry  # empty unless a tensor registered a hook or retains its grad
        self.create_graph, self.retain_graph = create_graph, retain_graph
        self.targets, self.roots, self.floor = targets, roots, floor

    def step(self) -> tuple:
        """Apply the next node's VJP; returns ``(node, out_grad, input_grads, guarded)``.

        A node enters the heap when its output first receives a gradient, always from a
        consumer created later; so when it is popped (highest seq first) every
        contribution has arrived, and nodes off the gradient path never run. Input
        gradients come back with each input's shape and dtype: broadcasting is undone
        here, once for every op.
        """
        _, key, out_t = heappop(self.pending)
        node = out_t.node
        grads = self.grads
        g = grads.get(key) if key in self.keep else grads.pop(key)
        saved = node.saved
        if saved is None:
            raise _freed_error(node)
        create_graph = self.create_graph
        hooks = self.hooks
        if hooks and key in hooks:  # this non-leaf's gradient is complete
            tensor_hooks = hooks[key]
            g = tensor_hooks.run(g)
            if tensor_hooks.retain and self.targets is None:
                _deposit(out_t, g, create_graph, self.deposited)
        op = node.op
        guarded = (saved_arrays.check(op.name, node.guard)
                   if type(node) is _GuardedNode else None)
        params = node.params
        if create_graph or op.needs_mask:
            raw = _vjp(node, g, out_t, create_graph)
        elif params is _NO_PARAMS:  # `**` of the shared mappingproxy would copy it to a dict
            raw = op.vjp(g, node.out, *saved)
        else:  # _vjp's common case inline: no frame of its own
            raw = op.vjp(g, node.out, *saved, **params)
        if len(raw) != len(saved):
            raise _count_error(node, raw)
        # One pass per input: undo broadcasting, match the dtype, then route the gradient
        # (accumulate, or schedule the producing node, or remember the leaf).
        in_grads = []
        pending, floor, T = self.pending, self.floor, Tensor
        for inp, arr, gi in zip(node.inputs, saved, raw):
            if gi is None or not (isinstance(inp, T) and inp.requires_grad):
                in_grads.append(None)
                continue
            if not create_graph and type(gi) is not np.ndarray:
                gi = np.asarray(gi)
            if gi.shape != arr.shape:
                gi = _reshaped(node, gi, arr.shape, len(in_grads))
            if gi.dtype is not arr.dtype and gi.dtype != arr.dtype:
                gi = gi.astype(arr.dtype)
            in_grads.append(gi)
            k = id(inp)
            if k in grads:  # _accumulate inline: out of place, see there
                grads[k] = grads[k] + gi
                continue
            producer = inp.node
            if producer is None:
                self.leaves[k] = inp
            elif producer.seq < floor:
                continue
            else:
                heappush(pending, (-producer.seq, k, inp))
            grads[k] = gi
        if self.anomaly:
            check_finite(op.name, node.trace, [getattr(i, "shape", ()) for i in
                         node.inputs], [_array(x) for x in in_grads], "backward")
        if tracer is not None:
            tracer.vjp(self, key, out_t, g, in_grads)
        return node, g, in_grads, guarded

    def run(self) -> list | None:
        """Every step, freeing each node after it unless the graph is retained, then
        :meth:`finish`; grad mode is ``create_graph`` throughout."""
        prev = mode.state.enabled
        mode.state.enabled = self.create_graph
        try:
            pending, step, retain = self.pending, self.step, self.retain_graph
            while pending:
                node, _, _, guarded = step()
                if not retain:
                    _free(node, guarded)
            return self.finish()
        finally:
            mode.state.enabled = prev

    def finish(self) -> list | None:
        """The targets' gradients, or (targets None) the leaves' ``.grad`` filled."""
        if tracer is not None:
            tracer.finish(self)
        grads = self.grads
        if self.targets is not None:
            return [grads.get(id(t)) for t in self.targets]
        leaves, hooks = self.leaves, self.hooks
        for r in self.roots:  # a leaf root (x.backward() on a leaf) gets its seed
            if r.node is None and id(r) in grads:
                leaves[id(r)] = r
        with _GradMode(self.create_graph):  # under create_graph the sums are recorded too
            for key, leaf in leaves.items():
                g = grads[key]
                if hooks and key in hooks:
                    g = hooks[key].run(g)
                _deposit(leaf, g, self.create_graph, self.deposited)
        return None


def _array(x: Any) -> Any:
    """The ndarray of a gradient (a Tensor under create_graph), or None."""
    return x.data if isinstance(x, Tensor) else x


def _accumulate(grads: dict, key: int, g: Any) -> None:
    # Out of place: the first gradient stored may be an array another input also got
    # (add hands the same g to both), so adding into it would corrupt that one.
    prev = grads.get(key)
    grads[key] = g if prev is None else prev + g


def _deposit(t: TensorType, g: Any, create_graph: bool, deposited: set) -> None:
    """Accumulate a finished gradient into ``t.grad`` (as PyTorch does).

    A fresh gradient is stored without a copy (a large one costs as much as an op) unless
    it is read-only or its memory already backs another ``.grad`` (add hands one array to
    both inputs; reshape and concatenate hand out views of one): gradients never alias.
    """
    if create_graph:
        g = g if type(g) is Tensor else Tensor(g)
        if t.grad is not None:
            g = t.grad + g
        elif id(_owner(g.data)) in deposited:
            g = g * 1.0  # a recorded copy: one Tensor must not become two .grads
        deposited.add(id(_owner(g.data)))
        t.grad = g
    elif t.grad is None:
        if not g.flags.writeable or id(_owner(g)) in deposited:
            g = g.copy()
        deposited.add(id(_owner(g)))
        t.grad = Tensor._make(g, None)
    else:
        t.grad = Tensor._make(t.grad.data + g, None)


def _owner(a: np.ndarray) -> Any:
    """The array owning ``a``'s memory (``a`` itself unless it is a view)."""
    while type(a.base) is np.ndarray:
        a = a.base
    return a


def _free(node: Node, guarded: Any) -> None:
    """Drop the arrays a node saved (unlocking them), and its references to interior tensors.

    Interior inputs become :class:`Freed` summaries so a freed graph can still be drawn
    while the intermediate Tensor objects themselves are released; tensors that retain
    their gradient stay, so their ``.grad`` can be drawn. ``guarded``: the node's
    protected arrays, as the walk already listed them.
    """
    if guarded is not None:
        saved_arrays.release(guarded)
    node.saved = None
    node.out = None
    summaries = None
    for k, inp in enumerate(node.inputs):  # a loop, not a comprehension: no frame of its own
        if type(inp) is Tensor and inp.node is not None and not (registry and _retains(inp)):
            if summaries is None:
                summaries = list(node.inputs)
            data = inp.data
            if data.size <= FREED_KEEPS:  # Freed(inp) inline, see there
                summary = _new(Freed)
                summary.data, summary.name, summary.node = data, inp.name, inp.node
                summaries[k] = summary
            else:
                summaries[k] = FreedLarge(inp)
    if summaries is not None:
        node.inputs = tuple(summaries)


def _retains(t: TensorType) -> bool:
    """Whether ``t`` called ``retain_grad()`` (then a freed graph keeps the tensor)."""
    hooks = registry.get(id(t))
    return hooks is not None and hooks.retain


def backward(root: TensorType, grad: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad``; see ``Tensor.backward``."""
    retain = create_graph if retain_graph is None else retain_graph
    if tracer is not None:
        tracer.backward(root, grad, create_graph)
    _Walk([root], [_seed(root, grad, create_graph)], retain, create_graph).run()


def grad_of(outputs: Sequence, inputs: Sequence, grad_outputs: Sequence | None = None,
            retain_graph: bool | None = None, create_graph: bool = False,
            floor: int = -1) -> list:
    """Gradients of ``outputs`` w.r.t. ``inputs`` without touching any ``.grad``.

    Like ``torch.autograd.grad``: returns one gradient per input (None where an input
    does not influence the outputs). ``floor``: see :class:`_Walk`.
    """
    retain = create_graph if retain_graph is None else retain_graph
    grad_outputs = grad_outputs or [None] * len(outputs)
    seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    result = _Walk(outputs, seeds, retain, create_graph, targets=inputs, floor=floor).run()
    assert result is not None  # targets given: the walk returns their gradients
    return result


def sequence_mark() -> int:
    """A number above every node recorded so far and below every node recorded later
    (the ``floor`` of :func:`grad_of`)."""
    return next(_sequence)


# ---------------------------------------------------------------------------------
# The one recording path

class Op:
    """A differentiable primitive: ``forward`` on arrays and its ``vjp`` side by side.

    ``vjp(g, out, *args, **params)`` returns one gradient (or None) per argument. It is
    written with operations ndarrays and Tensors share, so the engine can call it with
    arrays (first order) or Tensors (``create_graph=True``). ``saves`` lists the
    positions of the arguments the VJP reads and ``needs_out`` whether it reads the
    result: those arrays are made read-only while the graph lives, so an in-place
    write fails loudly instead of corrupting gradients.
    """

    __slots__ = ("name", "forward", "vjp", "saves", "needs_out", "needs_mask", "kind", "rule",
                 "keeps")

    def __init__(self, name: str, forward: Callable, saves: tuple = (), needs_out: bool = False,
                 needs_mask: bool = False, kind: str = "other", rule: str = ""):
        self.name = name
        self.forward = forward
        self.vjp: Callable | None = None
        self.saves = saves
        self.needs_out = needs_out
        # Expensive VJPs (matmul) get needs=(bool per input) so they skip unneeded gradients.
        self.needs_mask = needs_mask
        # Display hints for graphs, so graph code names no op. kind: "elementwise" (inputs
        # broadcast to the output), "reduction" (params axes/keepdims), "contraction"
        # (inputs never "broadcast"), "shape", "index", "join", "other".
        self.kind = kind
        # The chain rule in one line, shown when stepping through backward:
        # "tanh: grad_in = grad_out * (1 - out**2)".
        self.rule = rule
        # keeps(params) -> more arrays the VJP reads (a Function's save_for_backward).
        self.keeps: Callable | None = None

    def defvjp(self, vjp: Callable) -> Callable:
        """Attach the vector-Jacobian product (decorator)."""
        self.vjp = vjp
        return vjp

    def __call__(self, *args: Any, **params: Any) -> Any:  # replaced by apply below
        return apply(self, *args, **params)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def primitive(name: str, saves: tuple = (), needs_out: bool = False,
              needs_mask: bool = False, kind: str = "other",
              rule: str = "") -> Callable[[Callable], Op]:
    """Decorator turning a NumPy forward function into an :class:`Op`."""
    return lambda forward: Op(name, forward, saves, needs_out, needs_mask, kind, rule)


_new = object.__new__
_NO_PARAMS = types.MappingProxyType({})  # shared by every op without params: 64 B/op less


def apply(op: Op, *args: Any, **params: Any) -> Any:
    """Run ``op`` forward on the arrays inside ``args`` and record it when needed.

    The hot path: no introspection, one Node only when grad mode is on and some
    argument requires grad.
    """
    T = Tensor
    record = False
    saved = []
    for a in args:
        if isinstance(a, T):
            saved.append(a.data)
            record = record or a.requires_grad
        else:
            saved.append(a)
    a = None  # the loop variable must not hold a constant array the saved-array guard counts
    out = op.forward(*saved, **params)
    if type(out) is not np.ndarray:  # NumPy returns scalars from 0-d arithmetic
        out = np.asarray(out)
    m = mode.state
    anomaly = m.anomaly
    if anomaly:
        check_finite(op.name, _call_site(), [np.shape(a) for a in saved], [out], "forward")
    t = _new(T)
    t.data = out
    t.grad = None
    t.name = None
    if record and m.enabled:
        t.requires_grad = True
        # Ops reading nothing later (add, sum, reshape...) skip the guard entirely.
        if op.saves or op.needs_out or op.keeps is not None:
            # What the VJP reads is read-only while the graph lives: in-place writes fail
            # loudly.
            guard = saved_arrays.protect(op, saved, out, params, args, T)
            if guard is None:  # nothing it reads is an array
                node = _new(Node)
            else:
                node = _new(_GuardedNode)
                node.guard = guard
        else:
            node = _new(Node)
        # Node.__init__ inline: no frame per op.
        node.op = op
        node.inputs = args
        node.saved = tuple(saved)
        node.out = out
        node.params = params or _NO_PARAMS
        node.seq = next(_sequence)
        node.scope = m.scope
        node.trace = _call_site() if anomaly else None
        t.node = node
    else:
        t.requires_grad = False
        t.node = None
    if tracer is not None:
        tracer.forward(op, args, params, out)
    return t


# ``op(x)`` is ``apply(op, x)`` with no frame in between: a plain function set as the
# class's __call__ binds the op as its first argument (a few percent of W1).
Op.__call__ = apply  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------
# Stepping through backward


class Step:
    """One applied VJP of a stepped backward pass (see ``Tensor.backward_steps``).

    ``op``: the op's name; ``node``: its record; ``grad_output``: the gradient that
    arrived at its output; ``grad_inputs``: what it sent to each input (None where an
    input needs no gradient).
    """

    __slots__ = ("op", "node", "grad_output", "grad_inputs")

    def __init__(self, node: Node, grad_output: Any, grad_inputs: tuple) -> None:
        self.op = node.op.name
        self.node = node
        self.grad_output = grad_output
        self.grad_inputs = grad_inputs

    def __repr__(self) -> str:
        shapes = [None if g is None else tuple(g.shape) for g in self.grad_inputs]
        return f"Step({self.op}, grad_output {tuple(self.grad_output.shape)} -> {shapes})"


def backward_steps(root: TensorType, grad: Any = None, retain_graph: bool | None = None,
                   create_graph: bool = False) -> Iterator[Step]:
    """Generator form of :func:`backward`: one :class:`Step` per applied VJP.

    The same walk as ``backward()``; grad mode is set around each step's work only, never
    across a ``yield``, and a node is freed after its step has been looked at.
    """
    retain = create_graph if retain_graph is None else retain_graph
    walk = _Walk([root], [_seed(root, grad, create_graph)], retain, create_graph)
    while walk.pending:
        with _GradMode(create_graph):
            node, g, in_grads, guarded = walk.step()
        yield Step(node, g, in_grads)
        if not retain:
            _free(node, guarded)
    walk.finish()
