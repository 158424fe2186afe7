"""Draw the recorded graph of a tensor with Graphviz, and check each op's VJP on it.

``draw_graph(t)`` walks the tape behind ``t`` (``engine.graph_nodes``, iterative) and
returns a ``graphviz.Digraph``: one box per tensor, one ellipse per op, edges in the
direction data flows, ops recorded inside an ``nn.Module`` grouped in a labelled
cluster per module path. ``check=True`` compares every op's VJP with central
differences of its forward at the inputs it recorded (:func:`check_op`), so the
picture shows *which* op has a wrong gradient.

Graphs above ``max_nodes`` are shrunk in two stages:

1. module clusters are collapsed into one box each ("mlp.layers.0: 3 ops collapsed"),
   deepest module paths first, going up a level until the graph fits;
2. if it still does not fit (no modules, or too many of them), the first and the last
   parts of the tape are kept and everything between them is replaced by one note
   saying how much was left out: the inputs and the loss end stay readable.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import graphviz
import numpy as np

from . import engine
from .function import Context
from .tensor import Tensor

SMALL = 6  # tensors with at most this many elements show their value and grad
_SHOW_DATA_THRESHOLD = 64  # with show_data, larger arrays are summarised by NumPy
_FONT = "Helvetica"

_STYLE: dict[str, dict[str, str]] = {
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff2cc", "color": "#b09a3c"},
    "tensor": {"shape": "box", "style": "rounded", "color": "#666666"},
    "leaf": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dae8fc",
             "color": "#6c8ebf"},
    "const": {"shape": "box", "style": "rounded,dashed", "color": "#999999",
              "fontcolor": "#555555"},
    "output": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#d5e8d4",
               "color": "#82b366", "penwidth": "2"},
    "box": {"shape": "box3d", "style": "filled", "fillcolor": "#eeeeee"},
    "note": {"shape": "note", "style": "dashed"},
}
_BAD_STYLE = {"style": "filled,bold", "fillcolor": "#f8cecc", "color": "#d00000",
              "fontcolor": "#a00000", "penwidth": "2"}
_LEGEND = (("leaf (requires grad)", "leaf"), ("constant", "const"), ("tensor", "tensor"),
           ("op", "op"), ("output", "output"))


# ---------------------------------------------------------------------------------
# Checking one op's VJP against central differences


@dataclasses.dataclass(frozen=True)
class OpCheck:
    """What :func:`check_op` found for one recorded op.

    ``status``: ``"agrees"``, ``"disagrees"`` or ``"unchecked"`` (``detail`` says why);
    ``rel_error``: the worst ``|vjp - numeric| / max(|vjp|, |numeric|, atol)`` over the
    compared elements; ``input_index``: the input where it was worst.
    """

    status: str
    rel_error: float = 0.0
    input_index: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """False only when the VJP was compared and disagrees."""
        return self.status != "disagrees"

    def summary(self) -> str:
        """One line for a graph label: a check mark, or the error and where."""
        if self.status == "agrees":
            return "✓"
        if self.status == "unchecked":
            return f"not checked: {self.detail}"
        if self.detail:
            return f"✗ {self.detail}"
        return f"✗ rel err {self.rel_error:.2g} (input {self.input_index})"


def check_op(node: engine.Node, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
             max_elements: int = 256, seed: int = 0) -> OpCheck:
    """Compare ``node``'s VJP with central differences of its forward, in float64.

    The forward is re-run from ``node.op.forward``, the arrays the node recorded
    (``node.saved``, copied to float64) and ``node.params`` (a custom Function gets a
    fresh ``ctx`` per evaluation). The output (shape ``out``) is contracted with a
    fixed random upstream gradient of shape ``out``; the VJP's gradients are summed
    back to each input's shape as the engine does (``engine.unbroadcast``). Only
    floating inputs that require grad are perturbed, one element at a time (a fixed
    random sample of ``max_elements`` of larger inputs). An element passes when
    ``|vjp - numeric| <= atol + rtol * |numeric|``; at a kink (one-sided slopes differ)
    any value between the two slopes passes, so PyTorch's conventions (relu'(0) = 0)
    are not flagged. Elements where the forward is not finite nearby are skipped.
    Raises RuntimeError if backward already freed the node's arrays.
    """
    if node.saved is None:
        raise RuntimeError(_freed_message(node))
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
        elements = _sample(base[i].size, max_elements, seed)
        slopes = _differences(node, base, i, elements, out, upstream, eps)
        bad, rel = _compare(analytic[i].reshape(-1)[elements], slopes, atol, rtol)
        results.append((bad, rel, i))
    bad, rel, i = max(results)  # a failing input outranks a passing one, then the larger error
    return OpCheck("disagrees" if bad else "agrees", rel, i)


def _freed_message(node: engine.Node) -> str:
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


def _sample(size: int, limit: int, seed: int) -> np.ndarray:
    """Every flat index below ``size``, or a fixed random ``limit`` of them."""
    if size <= limit:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, limit, replace=False))


def _differences(node: engine.Node, base: list, i: int, elements: np.ndarray, out: np.ndarray,
                 upstream: np.ndarray, eps: float) -> np.ndarray:
    """Forward and backward one-sided slopes of ``sum(forward * upstream)``, shape (2, k).

    Output differences are taken before contracting with ``upstream``, so the many
    unaffected output elements cancel exactly instead of adding rounding error.
    """
    slopes = np.empty((2, elements.size))
    args = list(base)
    for j, k in enumerate(elements):
        sides = []
        for delta in (eps, -eps):
            x = base[i].copy()
            x.reshape(-1)[k] += delta
            args[i] = x
            sides.append(_evaluate(node, args)[0])
        with np.errstate(invalid="ignore", over="ignore"):
            slopes[0, j] = np.sum((sides[0] - out) * upstream) / eps
            slopes[1, j] = np.sum((out - sides[1]) * upstream) / eps
    return slopes


def _compare(analytic: np.ndarray, slopes: np.ndarray, atol: float,
             rtol: float) -> tuple[bool, float]:
    """Whether any element fails, and the worst relative error over the elements."""
    plus, minus = slopes
    with np.errstate(invalid="ignore"):
        central = (plus + minus) / 2
        err = np.where(np.isfinite(analytic), np.abs(analytic - central), np.inf)
        tol = atol + rtol * np.abs(central)
        kink = np.abs(plus - minus) > 0.1 * np.maximum(np.abs(plus), np.abs(minus)) + atol
        between = ((analytic >= np.minimum(plus, minus) - tol)
                   & (analytic <= np.maximum(plus, minus) + tol))
        err = np.where((kink & between) | ~np.isfinite(central), 0.0, err)
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(central)), atol)
        rel = np.where(np.isfinite(scale), err / scale, np.inf)
    return bool((err > tol).any()), float(rel.max(initial=0.0))


# ---------------------------------------------------------------------------------
# Labels


def _shape_text(shape: tuple) -> str:
    """``(3,4)``, ``(2,)``, ``()``: compact, as in "broadcast (3,1)→(3,4)"."""
    return "(" + ",".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _array_text(a: np.ndarray, show_data: bool) -> str:
    threshold = _SHOW_DATA_THRESHOLD if show_data else SMALL
    return np.array2string(np.asarray(a), precision=3, separator=", ", suppress_small=True,
                           threshold=threshold, edgeitems=3, max_line_width=48)


def _lines(*lines: str) -> str:
    """Label lines joined with DOT's centred line break (backslashes escaped)."""
    parts = [p.replace("\\", "\\\\") for line in lines for p in line.split("\n")]
    return "\\n".join(parts)


def _tensor_label(t: Any, fallback: str, show_data: bool) -> str:
    """Name, shape and dtype; value and grad when small or ``show_data``.

    ``t`` is a Tensor or an ``engine.Freed`` summary (no data left to show).
    """
    lines = [t.name or fallback, f"{_shape_text(t.shape)} {t.dtype}"]
    if t.data is not None and (show_data or t.data.size <= SMALL):
        lines.append("value " + _array_text(t.data, show_data))
    if t.grad is not None and (show_data or t.grad.size <= SMALL):
        lines.append("grad " + _array_text(t.grad.data, show_data))
    return _lines(*lines)


def _constant_label(value: Any, show_data: bool) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _lines(_value_text(value))
    if show_data or arr.size <= SMALL:
        return _lines(_array_text(arr, show_data), f"{_shape_text(arr.shape)} {arr.dtype}")
    return _lines("constant", f"{_shape_text(arr.shape)} {arr.dtype}")


def _value_text(v: Any) -> str:
    """A short display of an op parameter (slices as ``1:3``, arrays by dtype and shape)."""
    if isinstance(v, np.ndarray):
        return f"{v.dtype}{_shape_text(v.shape)}"
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_value_text(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts if v.step is not None else parts[:2])
    if v is Ellipsis:
        return "..."
    if isinstance(v, float):
        return f"{v:g}"
    text = repr(v)
    return text if len(text) <= 24 else text[:23] + "…"


@functools.lru_cache(maxsize=512)
def _defaults(forward: Callable) -> dict:
    """The keyword defaults of an op's forward, so labels show only what differs."""
    try:
        params = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: every param is shown
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _is_default(defaults: dict, key: str, value: Any) -> bool:
    if key not in defaults:
        return False
    default = defaults[key]
    # repr, not ==: an array parameter compared with == would be ambiguous.
    return type(value) is type(default) and repr(value) == repr(default)


def _op_label(node: engine.Node, in_shapes: list, out_shape: tuple) -> str:
    """``matmul``, ``sum(axis=1)``, ``add (broadcast (3,1)→(3,4))``, a Function's name."""
    params = node.params
    defaults = _defaults(node.op.forward)
    reduction = node.op.kind == "reduction"  # its "axes" reads as numpy's "axis"
    shown = []
    for key, value in params.items():
        if key == "ctx" or _is_default(defaults, key, value):
            continue
        if reduction and key == "axes":
            if in_shapes and in_shapes[0] is not None and \
                    tuple(value) == tuple(range(len(in_shapes[0]))):
                continue  # over every axis: plain "sum"
            shown.append(f"axis={value[0] if len(value) == 1 else _value_text(value)}")
        else:
            shown.append(f"{key}={_value_text(value)}")
    text = node.op.name + (f"({', '.join(shown)})" if shown else "")
    broadcast = _broadcast_text(node.op.kind, in_shapes, out_shape)
    return f"{text} ({broadcast})" if broadcast else text


def _broadcast_text(kind: str, in_shapes: list, out_shape: tuple) -> str:
    """``broadcast (3,1)→(3,4)`` when array inputs of an n-ary op were broadcast."""
    shapes = [s for s in in_shapes if s is not None]  # Python numbers broadcast trivially
    # A contraction's inputs may broadcast to its output's shape without the op itself
    # broadcasting (an outer product (3,1) @ (1,4)): never labelled "broadcast".
    if kind == "contraction" or len(in_shapes) < 2 or not shapes:
        return ""
    try:
        if np.broadcast_shapes(*shapes) != tuple(out_shape):
            return ""
    except ValueError:  # shapes that do not broadcast: a joining op such as concatenate
        return ""
    moved = dict.fromkeys(f"{_shape_text(s)}→{_shape_text(out_shape)}"
                          for s in shapes if tuple(s) != tuple(out_shape))
    return "broadcast " + ", ".join(moved) if moved else ""


def _input_shape(inp: Any) -> tuple | None:
    """The shape of a Tensor, Freed summary or array input; None for a Python number."""
    shape = getattr(inp, "shape", None)
    return None if shape is None else tuple(shape)


# ---------------------------------------------------------------------------------
# The drawable items, before Graphviz


@dataclasses.dataclass
class _Item:
    """One drawn node: ``kind`` picks its style, ``scope`` its cluster, ``order`` its
    place on the tape (for keeping the first and last parts of a large graph)."""

    key: str
    kind: str
    label: str
    scope: str | None
    order: float
    ops: int = 0  # recorded ops this item stands for
    bad: tuple = ()  # names of the ops in it whose VJP disagrees


class _Builder:
    """Turns the nodes behind one root into items and edges."""

    def __init__(self, root: Tensor, show_data: bool, checks: dict) -> None:
        self.root = root
        self.show_data = show_data
        self.checks = checks
        self.items: dict[str, _Item] = {}
        self.edges: list[tuple[str, str, str]] = []
        self.leaf_scopes: dict[str, set] = {}
        self.leaves: dict[str, Tensor] = {}
        self.leaf_keys: dict[int, str] = {}  # by id: Tensors compare elementwise
        # Nodes numbered along the tape from 0, not by their global seq, so the same
        # code draws the same DOT however many graphs the process recorded before.
        self.index: dict[engine.Node, int] = {}

    def build(self) -> tuple[list[_Item], list[tuple[str, str, str]]]:
        nodes = engine.graph_nodes([self.root])
        if not nodes:
            label = _tensor_label(self.root, "tensor", self.show_data)
            return [_Item("root", "output", label, None, 0.0)], []
        self.index = {node: i for i, node in enumerate(sorted(nodes, key=_seq))}
        for node, index in self.index.items():
            self._add_op(node, nodes[node], index)
        for key, scopes in self.leaf_scopes.items():
            self.items[key].scope = _param_scope(self.leaves[key].name, scopes)
        return list(self.items.values()), self.edges

    def _add_op(self, node: engine.Node, out: Any, index: int) -> None:
        op_key, out_key = f"op{index}", f"t{index}"
        in_shapes = [_input_shape(inp) for inp in node.inputs]
        label = _op_label(node, in_shapes, tuple(out.shape))
        check = self.checks.get(node)
        bad: tuple = ()
        if check is not None:
            label = _lines(label, check.summary()) if check.status != "agrees" else label + " ✓"
            bad = () if check.ok else (node.op.name,)
        self.items[op_key] = _Item(op_key, "op", label, node.scope, index, 1, bad)
        kind = "output" if out is self.root else "tensor"
        self.items[out_key] = _Item(out_key, kind, _tensor_label(out, f"t{index}", self.show_data),
                                    node.scope, index + 0.5)
        self.edges.append((op_key, out_key, ""))
        numbered = len(node.inputs) > 1  # which operand is which matters for sub, div, @
        for i, inp in enumerate(node.inputs):
            src = self._source(node, i, inp)
            self.edges.append((src, op_key, str(i) if numbered else ""))

    def _source(self, node: engine.Node, i: int, inp: Any) -> str:
        """The key of the item an input comes from, creating leaves and constants."""
        if getattr(inp, "node", None) is not None:
            return f"t{self.index[inp.node]}"
        if not isinstance(inp, Tensor):
            index = self.index[node]
            key = f"c{index}_{i}"
            label = _constant_label(inp, self.show_data)
            self.items[key] = _Item(key, "const", label, node.scope, index - 0.5)
            return key
        key = self.leaf_keys.get(id(inp))
        if key is None:
            # Numbered in order of use, not by id(), so the same code gives the same DOT.
            key = self.leaf_keys[id(inp)] = f"leaf{len(self.leaves)}"
            kind = "leaf" if inp.requires_grad else "const"
            fallback = f"{kind}{len(self.leaves)}"
            label = _tensor_label(inp, fallback, self.show_data)
            self.items[key] = _Item(key, kind, label, None, self.index[node] - 0.5)
            self.leaves[key] = inp
            self.leaf_scopes[key] = set()
        self.leaf_scopes[key].add(node.scope)
        return key


def _seq(node: engine.Node) -> int:
    return node.seq


def _param_scope(name: str | None, scopes: set) -> str | None:
    """The module cluster a leaf is drawn in: the one module that uses it, when its
    dotted name says it belongs there (``layers.0.weight`` in ``mlp.layers.0``).

    A data input used by one layer stays outside; so do a root module's own
    parameters (named ``weight``, with no path to match).
    """
    if len(scopes) != 1 or not name or "." not in name:
        return None
    (scope,) = scopes
    module = name.rpartition(".")[0]
    if scope is not None and (scope == module or scope.endswith("." + module)):
        return scope
    return None


# ---------------------------------------------------------------------------------
# Shrinking graphs larger than max_nodes


def _depth(scope: str | None) -> int:
    return 0 if scope is None else scope.count(".") + 1


def _parent(path: str) -> str | None:
    return path.rpartition(".")[0] or None


def _remap(edges: list, mapping: dict) -> list:
    """Edges with merged endpoints redirected, self-loops and repeats dropped."""
    out, seen = [], set()
    for src, dst, label in edges:
        s, d = mapping.get(src, src), mapping.get(dst, dst)
        if (s, d) == (src, dst):
            out.append((s, d, label))
        elif s != d and (s, d) not in seen:
            seen.add((s, d))
            out.append((s, d, ""))
    return out


def _collapse(items: list[_Item], edges: list, level: int) -> tuple[list[_Item], list]:
    """Merge every module cluster at ``level`` (dots + 1) and below into one box.

    The output stays a node of its own, moved out of the collapsed cluster.
    """
    boxes: dict[str, _Item] = {}
    mapping: dict[str, str] = {}
    kept: list[_Item] = []
    for it in items:
        if _depth(it.scope) < level:
            kept.append(it)
            continue
        prefix = ".".join(it.scope.split(".")[:level])
        if it.kind == "output":
            kept.append(dataclasses.replace(it, scope=_parent(prefix)))
            continue
        key = f"box_{prefix}"  # no ":" (graphviz reads it as a port in edges)
        box = boxes.setdefault(key, _Item(key, "box", prefix, _parent(prefix), it.order))
        box.order = min(box.order, it.order)
        box.ops += it.ops
        box.bad += it.bad
        mapping[it.key] = key
    for box in boxes.values():
        box.label = _lines(f"{box.label}: {box.ops} ops collapsed", *_bad_line(box.bad))
    return kept + list(boxes.values()), _remap(edges, mapping)


def _bad_line(bad: tuple) -> tuple[str, ...]:
    if not bad:
        return ()
    names = ", ".join(dict.fromkeys(bad))
    return (f"✗ {len(bad)} op(s) with a wrong VJP: {names}",)


def _elide(items: list[_Item], edges: list, max_nodes: int) -> tuple[list[_Item], list]:
    """Keep the first and last parts of the tape; one note stands for the middle."""
    ordered = sorted(items, key=lambda it: it.order)
    head = (max_nodes - 1) // 2
    tail = max_nodes - 1 - head
    dropped = ordered[head:len(ordered) - tail]
    ops = sum(it.ops for it in dropped)
    bad = tuple(name for it in dropped for name in it.bad)
    label = _lines(f"… {len(dropped)} nodes ({ops} ops) not drawn",
                   f"(graph of {len(items)} nodes > max_nodes={max_nodes})", *_bad_line(bad))
    note = _Item("elided", "note", label, None, dropped[0].order, ops, bad)
    mapping = {it.key: note.key for it in dropped}
    return ordered[:head] + [note] + ordered[len(ordered) - tail:], _remap(edges, mapping)


def _shrink(items: list[_Item], edges: list, max_nodes: int) -> tuple[list[_Item], list]:
    """Collapse module clusters, deepest first, then elide, until ``max_nodes`` fit."""
    for level in range(max((_depth(it.scope) for it in items), default=0), 0, -1):
        if len(items) <= max_nodes:
            return items, edges
        items, edges = _collapse(items, edges, level)
    if len(items) <= max_nodes:
        return items, edges
    return _elide(items, edges, max_nodes)


# ---------------------------------------------------------------------------------
# Emitting DOT


def _node_attrs(it: _Item) -> dict[str, str]:
    attrs = dict(_STYLE[it.kind])
    css = it.kind
    if it.bad:
        attrs.update(_BAD_STYLE)
        css += " check-bad"
    elif it.kind == "op" and it.label.endswith(" ✓"):
        css += " check-ok"
    attrs["class"] = css
    return attrs


def _emit_scope(g: graphviz.Digraph, path: str | None, members: dict, children: dict) -> None:
    """Draw the items of ``path`` into ``g`` and nest a cluster per child module.

    A module with no ops of its own and a single child (``mlp`` around
    ``mlp.layers``) adds a frame with nothing in it, so only the child is drawn.
    """
    for it in members.get(path, ()):
        g.node(it.key, it.label, **_node_attrs(it))
    for child in children.get(path, ()):
        while not members.get(child) and len(children.get(child, ())) == 1:
            child = children[child][0]
        with g.subgraph(name=f"cluster_{child}") as c:
            c.attr(label=child, style="rounded", color="#9e9e9e", fontcolor="#555555",
                   labeljust="l", fontsize="10")
            _emit_scope(c, child, members, children)


def _scope_tree(items: list[_Item]) -> tuple[dict, dict]:
    """Items by scope, and each scope's child scopes (ancestors included)."""
    members: dict = {}
    children: dict = {}
    for it in items:
        members.setdefault(it.scope, []).append(it)
        path = it.scope
        while path is not None:
            parent = _parent(path)
            siblings = children.setdefault(parent, [])
            if path in siblings:
                break
            siblings.append(path)
            path = parent
    return members, children


def _legend(checked: bool) -> str:
    """An HTML-like table naming each style."""
    rows = []
    for text, kind in _LEGEND:
        style = _STYLE[kind]
        fill = style.get("fillcolor", "white")
        dashed = ' style="dashed"' if "dashed" in style["style"] else ""
        rows.append(f'<tr><td bgcolor="{fill}" color="{style["color"]}"{dashed}>{text}</td></tr>')
    if checked:
        rows.append('<tr><td>✓ VJP agrees with central differences</td></tr>')
        rows.append(f'<tr><td bgcolor="{_BAD_STYLE["fillcolor"]}" color="#d00000">'
                    f'✗ VJP disagrees (relative error)</td></tr>')
    return ('<<table border="0" cellborder="1" cellspacing="2" cellpadding="3">'
            + "".join(rows) + "</table>>")


def _emit(items: list[_Item], edges: list, rankdir: str, legend: bool,
          checked: bool) -> graphviz.Digraph:
    g = graphviz.Digraph(
        "autograd_lite",
        graph_attr={"rankdir": rankdir, "fontname": _FONT, "fontsize": "10"},
        node_attr={"fontname": _FONT, "fontsize": "10"},
        edge_attr={"fontname": _FONT, "fontsize": "8", "color": "#555555"},
    )
    members, children = _scope_tree(items)
    _emit_scope(g, None, members, children)
    for src, dst, label in edges:
        dashed = "elided" in (src, dst)
        attrs = {"label": label} if label else {}
        g.edge(src, dst, **attrs, **({"style": "dashed"} if dashed else {}))
    if legend:
        g.node("legend", _legend(checked), shape="plaintext", **{"class": "legend"})
    return g


# ---------------------------------------------------------------------------------
# The entry point


def draw_graph(t: Tensor, show_data: bool = False, rankdir: str = "LR", check: bool = False,
               max_nodes: int = 500, legend: bool = True) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of everything ``t`` (any shape) was computed from.

    One box per tensor (name, or its dotted parameter name, else a short id; shape;
    dtype; value and, after backward, a leaf's grad when it has at most ``SMALL``
    elements or ``show_data``), one ellipse per op (``matmul``, ``sum(axis=1)``,
    ``add (broadcast (3,1)→(3,4))``), edges in the direction data flows (numbered by
    operand position for ops with several inputs). Leaves requiring grad, constants
    and the output are styled distinctly; ``legend`` adds a key. Ops recorded inside
    an ``nn.Module`` are grouped in a cluster per module path (``mlp.layers.0``).
    Works on freed graphs too (after backward), from what the tape keeps.

    ``check=True`` runs :func:`check_op` on every op: disagreeing ops are drawn red
    with their relative error, agreeing ones get a check mark. It needs the graph
    alive (draw before backward, or backward with ``retain_graph=True``): otherwise
    RuntimeError. Above ``max_nodes`` drawn nodes (>= 3), module clusters collapse
    into boxes, then the middle of the tape is left out (see the module docstring).
    ``rankdir``: ``"LR"``, ``"TB"``, ``"RL"`` or ``"BT"``. Jupyter renders the result
    inline; ``.pipe(format="svg")`` and ``.render(...)`` work as in graphviz.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(t).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if max_nodes < 3:
        raise ValueError(f"draw_graph: max_nodes must be at least 3 (the first part, a note, "
                         f"the output), got {max_nodes}")
    checks = _check_all(t) if check else {}
    items, edges = _Builder(t, show_data, checks).build()
    items, edges = _shrink(items, edges, max_nodes)
    return _emit(items, edges, rankdir, legend, check)


def _check_all(t: Tensor) -> dict:
    """:func:`check_op` on every node behind ``t``, after making sure none was freed."""
    nodes = sorted(engine.graph_nodes([t]), key=_seq)
    for node in nodes:
        if node.saved is None:
            raise RuntimeError(_freed_message(node))
    return {node: check_op(node) for node in nodes}
