"""From the tape to drawable items: building them, shrinking large graphs, wrapping long ones.

Graphs above ``max_nodes`` are shrunk in two stages:

1. module (and loss) clusters are collapsed into one box each
   ("mlp.layers.0: 3 ops collapsed"), deepest paths first, going up a level until the
   graph fits;
2. if it still does not fit (no modules, or too many of them), the first and the last
   parts of the tape are kept and everything between them is replaced by one note
   saying how much was left out: the inputs and the loss end stay readable.

Long graphs (a deep MLP, a chain of thousands of ops) are wrapped like text: the items
are cut into bands of consecutive ranks, drawn one under the other (see :func:`bands`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .. import engine
from ..gradcheck import OpCheck
from ..tensor import Tensor
from .labels import bad_lines, check_text, constant_label, lines, op_label, plural, tensor_label

# Wrapping: the drawing aims at this width/height ratio, never cutting bands shorter
# than WRAP_MIN_RANKS ranks; gaps in points as Graphviz draws them by default. The size
# estimate leaves out Graphviz's cluster margins, so wrapped MLPs come out ~1.4-1.6
# times wider than aimed at; 1.8 keeps the tests' 60-layer MLP (one linear node per
# layer) under 3 (2.6; 3.2 at 2.0). Known limit: a cluster enclosing every band (mlp.layers)
# can make Graphviz undo the wrap altogether at some depths.
ASPECT = 1.8
WRAP_MIN_RANKS = 8
WRAP_BEYOND = 2400.0  # points along the ranks (a wide screen or two): shorter is not wrapped
# Nor is a graph of fewer ranks: a network of a few layers and its loss reads best in one
# row (cutting it would send edges of its clusters back and forth between rows).
WRAP_FROM_RANKS = 40
RANK_GAP, NODE_GAP, BAND_GAP = 36.0, 18.0, 36.0


@dataclasses.dataclass
class Item:
    """One drawn node: ``kind`` picks its style, ``scope`` its cluster, ``order`` its
    place on the tape (for keeping the first and last parts of a large graph)."""

    key: str
    kind: str
    label: str
    scope: str | None
    order: float
    ops: int = 0  # recorded ops this item stands for
    bad: tuple = ()  # names of the ops in it whose VJP disagrees
    members: tuple = ()  # keys of the items a box or note stands for


Edge = tuple[str, str, str]  # (source key, destination key, label)


class Builder:
    """Turns the nodes behind one root into items and edges.

    After :meth:`build`, ``op_keys`` maps each recorded node to its op item's key and
    ``tensor_key`` gives the item of any input (the step-through highlights them).
    """

    def __init__(self, root: Tensor, show_data: bool, checks: dict[engine.Node, OpCheck]) -> None:
        self.root = root
        self.show_data = show_data
        self.checks = checks
        self.items: dict[str, Item] = {}
        self.edges: list[Edge] = []
        self.leaf_scopes: dict[str, set] = {}
        self.leaves: dict[str, Tensor] = {}
        self.leaf_keys: dict[int, str] = {}  # by id: Tensors compare elementwise
        # Nodes numbered along the tape from 0, not by their global seq, so the same
        # code draws the same DOT however many graphs the process recorded before.
        self.index: dict[engine.Node, int] = {}

    def build(self) -> tuple[list[Item], list[Edge]]:
        """The items and edges of the whole graph behind the root."""
        nodes = engine.graph_nodes([self.root])
        if not nodes:
            label = tensor_label(self.root, "tensor", self.show_data)
            return [Item("root", "output", label, None, 0.0)], []
        self.index = {node: i for i, node in enumerate(sorted(nodes, key=_seq))}
        for node, index in self.index.items():
            self._add_op(node, nodes[node], index)
        for key, scopes in self.leaf_scopes.items():
            self.items[key].scope = _param_scope(self.leaves[key].name, scopes)
        return list(self.items.values()), self.edges

    def op_key(self, node: engine.Node) -> str:
        """The key of the op item drawn for ``node``."""
        return f"op{self.index[node]}"

    def input_key(self, node: engine.Node, i: int) -> str:
        """The key of the item ``node``'s input ``i`` comes from."""
        inp = node.inputs[i]
        if getattr(inp, "node", None) is not None:
            return f"t{self.index[inp.node]}"
        if isinstance(inp, Tensor):
            return self.leaf_keys[id(inp)]
        return f"c{self.index[node]}_{i}"

    def _add_op(self, node: engine.Node, out: Any, index: int) -> None:
        op_key, out_key = f"op{index}", f"t{index}"
        in_shapes = [_input_shape(inp) for inp in node.inputs]
        label = op_label(node, in_shapes, tuple(out.shape))
        check = self.checks.get(node)
        bad: tuple = ()
        if check is not None:
            label = lines(label, check_text(check)) if check.status != "agrees" else label + " ✓"
            bad = () if check.ok else (node.op.name,)
        self.items[op_key] = Item(op_key, "op", label, node.scope, index, 1, bad)
        kind = "output" if out is self.root else "tensor"
        self.items[out_key] = Item(out_key, kind, tensor_label(out, f"t{index}", self.show_data),
                                   node.scope, index + 0.5)
        self.edges.append((op_key, out_key, ""))
        numbered = len(node.inputs) > 1  # which operand is which matters for sub, div, @
        for i, inp in enumerate(node.inputs):
            src = self._source(node, i, inp)
            self.edges.append((src, op_key, str(i) if numbered else ""))

    def _source(self, node: engine.Node, i: int, inp: Any) -> str:
        """The key of the item an input comes from, creating leaves and constants."""
        if getattr(inp, "node", None) is not None:
            return self.input_key(node, i)
        if not isinstance(inp, Tensor):
            key = self.input_key(node, i)
            label = constant_label(inp, self.show_data)
            self.items[key] = Item(key, "const", label, node.scope, self.index[node] - 0.5)
            return key
        key = self.leaf_keys.get(id(inp))
        if key is None:
            # Numbered in order of use, not by id(), so the same code gives the same DOT.
            key = self.leaf_keys[id(inp)] = f"leaf{len(self.leaves)}"
            kind = "leaf" if inp.requires_grad else "const"
            label = tensor_label(inp, f"{kind}{len(self.leaves)}", self.show_data)
            self.items[key] = Item(key, kind, label, None, self.index[node] - 0.5)
            self.leaves[key] = inp
            self.leaf_scopes[key] = set()
        self.leaf_scopes[key].add(node.scope)
        return key


def _seq(node: engine.Node) -> int:
    return node.seq


def _input_shape(inp: Any) -> tuple | None:
    """The shape of a Tensor, Freed summary or array input; None for a Python number."""
    shape = getattr(inp, "shape", None)
    return None if shape is None else tuple(shape)


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


def depth(scope: str | None) -> int:
    """How deep a scope path is: None 0, ``mlp`` 1, ``mlp.layers`` 2."""
    return 0 if scope is None else scope.count(".") + 1


def parent(path: str) -> str | None:
    """``mlp.layers`` for ``mlp.layers.0``; None at the top."""
    return path.rpartition(".")[0] or None


def _remap(edges: list[Edge], mapping: dict) -> list[Edge]:
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


def _collapse(items: list[Item], edges: list[Edge], level: int) -> tuple[list[Item], list[Edge]]:
    """Merge every cluster at ``level`` (dots + 1) and below into one box.

    The output stays a node of its own, moved out of the collapsed cluster.
    """
    boxes: dict[str, Item] = {}
    mapping: dict[str, str] = {}
    kept: list[Item] = []
    for it in items:
        if depth(it.scope) < level:
            kept.append(it)
            continue
        prefix = ".".join(it.scope.split(".")[:level])
        if it.kind == "output":
            kept.append(dataclasses.replace(it, scope=parent(prefix)))
            continue
        key = f"box_{prefix}"  # no ":" (graphviz reads it as a port in edges)
        box = boxes.setdefault(key, Item(key, "box", prefix, parent(prefix), it.order))
        box.order = min(box.order, it.order)
        box.ops += it.ops
        box.bad += it.bad
        box.members += (it.key, *it.members)
        mapping[it.key] = key
    for box in boxes.values():
        box.label = lines(f"{box.label}: {plural(box.ops, 'op')} collapsed", *bad_lines(box.bad))
    return kept + list(boxes.values()), _remap(edges, mapping)


def _elide(items: list[Item], edges: list[Edge], max_nodes: int) -> tuple[list[Item], list[Edge]]:
    """Keep the first and last parts of the tape; one note stands for the middle."""
    ordered = sorted(items, key=lambda it: it.order)
    head = (max_nodes - 1) // 2
    tail = max_nodes - 1 - head
    dropped = ordered[head:len(ordered) - tail]
    ops = sum(it.ops for it in dropped)
    bad = tuple(name for it in dropped for name in it.bad)
    label = lines(f"… {plural(len(dropped), 'node')} ({plural(ops, 'op')}) not drawn",
                  f"(graph of {len(items)} nodes > max_nodes={max_nodes})", *bad_lines(bad))
    members = tuple(k for it in dropped for k in (it.key, *it.members))
    note = Item("elided", "note", label, None, dropped[0].order, ops, bad, members)
    mapping = {it.key: note.key for it in dropped}
    return ordered[:head] + [note] + ordered[len(ordered) - tail:], _remap(edges, mapping)


def shrink(items: list[Item], edges: list[Edge], max_nodes: int) -> tuple[list[Item], list[Edge]]:
    """Collapse clusters, deepest first, then elide, until ``max_nodes`` items fit."""
    for level in range(max((depth(it.scope) for it in items), default=0), 0, -1):
        if len(items) <= max_nodes:
            return items, edges
        items, edges = _collapse(items, edges, level)
    if len(items) <= max_nodes:
        return items, edges
    return _elide(items, edges, max_nodes)


def drawn_as(items: list[Item]) -> dict[str, str]:
    """For every original key, the key of the item that shows it (itself, a box, a note)."""
    where = {}
    for it in items:
        where[it.key] = it.key
        for member in it.members:
            where[member] = it.key
    return where


# ---------------------------------------------------------------------------------
# Wrapping long graphs


def ranks(items: list[Item], edges: list[Edge]) -> dict[str, int]:
    """The rank (longest path from a source) of each item; a source (an input, a
    constant) sits just before its first consumer, not at rank 0, so a weight used deep
    in the graph is drawn next to its use. Iterative (Kahn's algorithm)."""
    succ: dict[str, list[str]] = {it.key: [] for it in items}
    indegree = dict.fromkeys(succ, 0)
    for src, dst, _ in edges:
        succ[src].append(dst)
        indegree[dst] += 1
    rank = dict.fromkeys(succ, 0)
    ready = [k for k, n in indegree.items() if n == 0]
    sources = set(ready)
    while ready:
        key = ready.pop()
        for nxt in succ[key]:
            rank[nxt] = max(rank[nxt], rank[key] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    for key in sources:
        if succ[key]:
            rank[key] = max(0, min(rank[n] for n in succ[key]) - 1)
    return rank


def bands(items: list[Item], edges: list[Edge], rankdir: str = "LR") -> dict[str, int]:
    """The band (row, or column with ``rankdir="TB"``) each item is drawn in.

    The number of ranks per band is chosen from the labels' estimated sizes so the
    whole drawing comes out about ``ASPECT`` times as wide as it is tall: ``w`` ranks
    of mean extent ``a`` along the ranks, in ``n / w`` bands of mean extent ``b`` across,
    give ``w a = ASPECT (n / w) b`` (``a`` and ``b`` swap for a top-to-bottom layout).
    A graph shorter than ``WRAP_BEYOND`` points or ``WRAP_FROM_RANKS`` ranks is not
    wrapped. Edges between bands do not constrain the ranking (the DOT output marks
    them), so each band starts again at the margin.
    """
    rank = ranks(items, edges)
    total = max(rank.values(), default=0) + 1
    along, across = [0.0] * total, [0.0] * total
    across_band = BAND_GAP
    for it in items:
        width, height = _label_size(it.label)
        if rankdir in ("TB", "BT"):
            width, height = height, width
        r = rank[it.key]
        along[r] = max(along[r], width + RANK_GAP)
        across[r] += height + NODE_GAP
    if sum(along) <= WRAP_BEYOND or total < WRAP_FROM_RANKS:
        return dict.fromkeys(rank, 0)
    across_band += sum(across) / total
    ranks_per_band = math.ceil(math.sqrt(ASPECT * total * across_band / (sum(along) / total)))
    ranks_per_band = max(WRAP_MIN_RANKS, ranks_per_band)
    return {key: r // ranks_per_band for key, r in rank.items()}


def _label_size(label: str) -> tuple[float, float]:
    """Rough (width, height) in points of a node with this label (10 pt Helvetica)."""
    parts = label.split("\\n")
    return 6.0 * max(len(p) for p in parts) + 20, 13.0 * len(parts) + 14
