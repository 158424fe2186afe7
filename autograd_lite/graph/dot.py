"""DOT output: styles, clusters per module or loss scope, wrapped bands, and ``draw_graph``."""

from __future__ import annotations

import graphviz

from .. import engine
from ..gradcheck import OpCheck, check_op, freed_message
from ..tensor import Tensor
from .layout import Builder, Edge, Item, bands, parent, shrink

FONT = "Helvetica"

STYLE: dict[str, dict[str, str]] = {
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


def _node_attrs(it: Item) -> dict[str, str]:
    attrs = dict(STYLE[it.kind])
    css = it.kind
    if it.bad:
        attrs.update(_BAD_STYLE)
        css += " check-bad"
    elif it.kind == "op" and it.label.endswith(" ✓"):
        css += " check-ok"
    attrs["class"] = css
    return attrs


def _emit_scope(g: graphviz.Digraph, path: str | None, members: dict, children: dict) -> None:
    """Draw the items of ``path`` into ``g`` and nest a cluster per child scope.

    A scope with no ops of its own and a single child (``mlp`` around
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


def _scope_tree(items: list[Item]) -> tuple[dict, dict]:
    """Items by scope, and each scope's child scopes (ancestors included)."""
    members: dict = {}
    children: dict = {}
    for it in items:
        members.setdefault(it.scope, []).append(it)
        path = it.scope
        while path is not None:
            up = parent(path)
            siblings = children.setdefault(up, [])
            if path in siblings:
                break
            siblings.append(path)
            path = up
    return members, children


def _legend(checked: bool) -> str:
    """An HTML-like table naming each style."""
    rows = []
    for text, kind in _LEGEND:
        style = STYLE[kind]
        fill = style.get("fillcolor", "white")
        dashed = ' style="dashed"' if "dashed" in style["style"] else ""
        rows.append(f'<tr><td bgcolor="{fill}" color="{style["color"]}"{dashed}>{text}</td></tr>')
    if checked:
        rows.append('<tr><td>✓ VJP agrees with central differences</td></tr>')
        rows.append(f'<tr><td bgcolor="{_BAD_STYLE["fillcolor"]}" color="#d00000">'
                    f'✗ VJP disagrees (relative error)</td></tr>')
    return ('<<table border="0" cellborder="1" cellspacing="2" cellpadding="3">'
            + "".join(rows) + "</table>>")


def emit(items: list[Item], edges: list[Edge], rankdir: str = "LR", legend: bool = False,
         checked: bool = False) -> graphviz.Digraph:
    """The ``graphviz.Digraph`` of ``items`` and ``edges``: clusters per scope, long
    graphs wrapped into bands (edges between bands leave the ranking alone)."""
    g = graphviz.Digraph(
        "autograd_lite",
        graph_attr={"rankdir": rankdir, "fontname": FONT, "fontsize": "10"},
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"fontname": FONT, "fontsize": "8", "color": "#555555"},
    )
    members, children = _scope_tree(items)
    _emit_scope(g, None, members, children)
    band = bands(items, edges, rankdir)
    for src, dst, label in edges:
        attrs = {"label": label} if label else {}
        if "elided" in (src, dst):
            attrs["style"] = "dashed"
        if band[src] != band[dst]:
            attrs["constraint"] = "false"
        g.edge(src, dst, **attrs)
    if legend:
        g.node("legend", _legend(checked), shape="plaintext", **{"class": "legend"})
    return g


def draw_graph(t: Tensor, show_data: bool = False, rankdir: str = "LR", check: bool = False,
               max_nodes: int = 500, legend: bool = False) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of everything ``t`` (any shape) was computed from.

    One box per tensor (name, or its dotted parameter name, else a short id; shape;
    dtype; value and grad when it has at most ``SMALL`` elements, every one with
    ``show_data``), one ellipse per op (``matmul``, ``sum(axis=1)``,
    ``add (broadcast (3,1)→(3,4))``), edges in the direction data flows (numbered by
    operand position for ops with several inputs). Leaves requiring grad, constants
    and the output are styled distinctly; ``legend=True`` adds a key. Ops recorded
    inside an ``nn.Module`` or a loss are grouped in a cluster per scope
    (``mlp.layers.0``, ``cross_entropy``). After a plain ``backward()`` the graph still
    shows the values it showed before and every gradient that exists (leaves, and
    non-leaves that called ``retain_grad()``). Numbers have 4 significant digits.

    ``check=True`` runs ``gradcheck.check_op`` on every op: disagreeing ops are drawn
    red with their relative error, agreeing ones get a check mark. It needs the graph
    alive (draw before backward, or backward with ``retain_graph=True``): otherwise
    RuntimeError. Above ``max_nodes`` drawn nodes (>= 3), clusters collapse into boxes,
    then the middle of the tape is left out (see ``graph.layout``); deep graphs wrap
    into bands. ``rankdir``: ``"LR"``, ``"TB"``, ``"RL"`` or ``"BT"``. Jupyter renders
    the result inline; ``.pipe(format="svg")`` and ``.render(...)`` work as in graphviz.
    """
    validate(t, rankdir, max_nodes, "draw_graph")
    checks = _check_all(t) if check else {}
    items, edges = Builder(t, show_data, checks).build()
    items, edges = shrink(items, edges, max_nodes)
    return emit(items, edges, rankdir, legend, check)


def validate(t: Tensor, rankdir: str, max_nodes: int, caller: str) -> None:
    """The argument checks ``draw_graph`` and ``animate_backward`` share."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{caller}: expected a Tensor, got {type(t).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"{caller}: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if max_nodes < 3:
        raise ValueError(f"{caller}: max_nodes must be at least 3 (the first part, a note, "
                         f"the output), got {max_nodes}")


def _check_all(t: Tensor) -> dict[engine.Node, OpCheck]:
    """``check_op`` on every node behind ``t``, after making sure none was freed."""
    nodes = sorted(engine.graph_nodes([t]), key=lambda node: node.seq)
    for node in nodes:
        if node.saved is None:
            raise RuntimeError(freed_message(node))
    return {node: check_op(node) for node in nodes}
