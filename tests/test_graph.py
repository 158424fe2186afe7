"""draw_graph: real SVGs rendered by `dot` and parsed, clusters, collapsing, check=True."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import numpy as np
import pytest
from custom_functions import WrongCube

import autograd_lite as ag
from autograd_lite import engine
from autograd_lite.graph import check_op

SVG = "{http://www.w3.org/2000/svg}"


# ---- reading a rendered SVG -----------------------------------------------------------


@dataclasses.dataclass
class Shape:
    """One rendered node or cluster: its DOT id, CSS classes, text lines, paint, bbox."""

    key: str
    classes: frozenset
    lines: list
    fill: str
    stroke: str
    dashed: bool
    box: tuple  # (xmin, ymin, xmax, ymax)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def inside(self, other: Shape) -> bool:
        x0, y0, x1, y1 = self.box
        ox0, oy0, ox1, oy1 = other.box
        return ox0 <= x0 and oy0 <= y0 and x1 <= ox1 and y1 <= oy1


@dataclasses.dataclass
class Svg:
    nodes: dict  # DOT id -> Shape, the legend left out
    clusters: dict  # label -> Shape
    edges: list  # (tail id, head id) in document order

    def kinds(self, kind: str) -> list[Shape]:
        return [s for s in self.nodes.values() if kind in s.classes]

    def by_first_line(self, line: str) -> Shape:
        (shape,) = [s for s in self.nodes.values() if s.lines[0] == line]
        return shape


def _coords(group: ET.Element) -> np.ndarray:
    """Every (x, y) of the group's outlines: polygon points, path data, ellipses."""
    points = []
    for el in group:
        if el.tag == SVG + "polygon":
            points += [tuple(map(float, p.split(","))) for p in el.get("points").split()]
        elif el.tag == SVG + "path":
            nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", el.get("d"))]
            points += list(zip(nums[0::2], nums[1::2]))
        elif el.tag == SVG + "ellipse":
            cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
            points += [(cx - rx, cy - ry), (cx + rx, cy + ry)]
    return np.array(points)


def _shape(group: ET.Element) -> Shape:
    outline = next(el for el in group if el.tag in (SVG + "polygon", SVG + "path",
                                                     SVG + "ellipse"))
    pts = _coords(group)
    return Shape(
        key=group.find(SVG + "title").text,
        classes=frozenset(group.get("class").split()),
        lines=[t.text or "" for t in group.iter(SVG + "text")],
        fill=outline.get("fill"),
        stroke=outline.get("stroke"),
        dashed=outline.get("stroke-dasharray") is not None,
        box=(*pts.min(axis=0), *pts.max(axis=0)),
    )


def render(g) -> Svg:
    """Render ``g`` with the real `dot` and parse the SVG."""
    root = ET.fromstring(g.pipe(format="svg"))
    nodes, clusters, edges = {}, {}, []
    for group in root.iter(SVG + "g"):
        classes = group.get("class", "").split()
        if "node" in classes and "legend" not in classes:
            shape = _shape(group)
            nodes[shape.key] = shape
        elif "cluster" in classes:
            shape = _shape(group)
            clusters[shape.lines[0]] = shape
        elif "edge" in classes:
            tail, head = group.find(SVG + "title").text.split("->")
            edges.append((tail, head))
    return Svg(nodes, clusters, edges)


# ---- fixtures -----------------------------------------------------------------------


@pytest.fixture
def xwb(rng: np.random.Generator) -> tuple:
    x = ag.Tensor(rng.standard_normal((3, 4)), requires_grad=True, name="x")
    W = ag.Tensor(rng.standard_normal((4, 2)), requires_grad=True, name="W")
    b = ag.Tensor(rng.standard_normal(2), requires_grad=True, name="b")
    return x, W, b


def numbers(text: str) -> np.ndarray:
    return np.array([float(n) for n in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", text)])


# ---- nodes, labels, edges -----------------------------------------------------------

# (expression, tensors, ops), counted by hand: a Python number is a constant tensor node.
COUNTS = {
    "linear-tanh": (lambda x, W, b: (x @ W + b).tanh().sum(), 7, 4),  # x W b + 4 outputs
    "square": (lambda x, W, b: (x * x).sum(), 3, 2),  # x, x*x, sum
    "constant": (lambda x, W, b: (x - 1.5).exp().mean(axis=0), 5, 3),  # x, 1.5, 3 outputs
    "reuse": (lambda x, W, b: ag.concatenate([x @ W, x @ W], axis=1).max(), 6, 4),  # x W + 4
}


@pytest.mark.parametrize(("fn", "tensors", "ops"), COUNTS.values(), ids=COUNTS.keys())
def test_node_count_is_tensors_plus_ops(xwb: tuple, fn: Callable, tensors: int,
                                        ops: int) -> None:
    svg = render(ag.draw_graph(fn(*xwb)))
    assert len(svg.kinds("op")) == ops
    assert len(svg.nodes) == tensors + ops
    assert len(svg.kinds("output")) == 1


def test_a_repeated_input_keeps_both_edges(xwb: tuple) -> None:
    x = xwb[0]
    svg = render(ag.draw_graph((x * x).sum()))
    mul = svg.by_first_line("mul").key
    x_key = svg.by_first_line("x").key
    assert svg.edges.count((x_key, mul)) == 2


def test_edges_follow_the_data(xwb: tuple) -> None:
    x, W, _ = xwb
    svg = render(ag.draw_graph((x @ W).tanh()))
    first = {k: s.lines[0] for k, s in svg.nodes.items()}
    named = {(first[a], first[b]) for a, b in svg.edges}
    matmul_out = first[next(b for a, b in svg.edges if first[a] == "matmul")]
    assert named == {("x", "matmul"), ("W", "matmul"), ("matmul", matmul_out),
                     (matmul_out, "tanh"), ("tanh", svg.kinds("output")[0].lines[0])}


def test_labels_carry_names_shapes_and_grads_after_backward(xwb: tuple) -> None:
    x, W, b = xwb
    loss = (x @ W + b).tanh().sum()
    loss.backward()
    svg = render(ag.draw_graph(loss))
    b_node = svg.by_first_line("b")
    assert b_node.lines[1] == "(2,) float64"
    (grad_line,) = [line for line in b_node.lines if line.startswith("grad")]
    np.testing.assert_allclose(numbers(grad_line), b.grad.data, atol=1e-3)
    assert svg.by_first_line("x").lines[1] == "(3,4) float64"
    assert svg.by_first_line("W").lines[1] == "(4,2) float64"
    # x has 12 elements, more than SMALL: neither its value nor its grad is printed
    assert len(svg.by_first_line("x").lines) == 2
    ops = {s.lines[0] for s in svg.kinds("op")}
    assert ops == {"matmul", "add (broadcast (2,)→(3,2))", "tanh", "sum"}
    out = svg.kinds("output")[0]
    assert numbers(out.lines[-1])[0] == pytest.approx(loss.item(), abs=1e-3)


def test_show_data_prints_large_values(xwb: tuple) -> None:
    x = xwb[0]
    y = x.exp()
    quiet = render(ag.draw_graph(y)).by_first_line("x")
    loud = render(ag.draw_graph(y, show_data=True)).by_first_line("x")
    assert not any("value" in line for line in quiet.lines)
    values = numbers(" ".join(loud.lines[2:]))
    np.testing.assert_allclose(values, x.data.reshape(-1), atol=1e-3)


@pytest.mark.parametrize(("fn", "label"), [
    (lambda t: t.sum(axis=1), "sum(axis=1)"),
    (lambda t: t.sum(), "sum"),
    (lambda t: t.mean(axis=(0, 1)), "mean"),
    (lambda t: t.max(axis=0, keepdims=True), "max(axis=0, keepdims=True)"),
    (lambda t: t.var(axis=-1, ddof=1), "var(axis=1, ddof=1)"),
    (lambda t: t ** 3, "pow(p=3)"),
    (lambda t: t[0, 1:3], "getitem(index=(0, 1:3))"),
    (lambda t: t + ag.tensor([[1.0], [2.0], [3.0]]), "add (broadcast (3,1)→(3,4))"),
    (lambda t: t[:, :1] @ t[:1, :], "matmul"),  # (3,1) @ (1,4): an outer product, no broadcast
])
def test_op_labels_show_params_and_broadcasting(rng: np.random.Generator, fn: Callable,
                                                label: str) -> None:
    t = ag.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    out = fn(t)
    svg = render(ag.draw_graph(out))
    (output,) = svg.kinds("output")
    (producer,) = [svg.nodes[tail] for tail, head in svg.edges if head == output.key]
    assert producer.lines[0] == label


def test_leaves_constants_and_output_are_styled_distinctly(xwb: tuple) -> None:
    x, W, _ = xwb
    data = ag.tensor(np.ones((3, 2)), name="data")
    svg = render(ag.draw_graph(((x @ W) * data + 2.0).sum()))
    paint = {kind: {(s.fill, s.stroke, s.dashed) for s in svg.kinds(kind)}
             for kind in ("leaf", "const", "tensor", "output", "op")}
    assert all(len(p) == 1 for p in paint.values())  # one style per kind
    assert len({p.pop() for p in paint.values()}) == 5  # and five different ones
    assert {s.lines[0] for s in svg.kinds("const")} == {"data", "2."}


def test_freed_graph_is_drawn_from_the_tape(xwb: tuple) -> None:
    x, W, b = xwb
    loss = (x @ W + b).tanh().sum()
    before = render(ag.draw_graph(loss))
    loss.backward()
    after = render(ag.draw_graph(loss))
    assert loss.node.saved is None  # really freed
    assert set(after.nodes) == set(before.nodes)
    interior = after.kinds("tensor")
    assert len(interior) == 3
    # Interior values survive the freeing (issue 11): drawn exactly as before backward.
    assert [s.lines for s in interior] == [s.lines for s in before.kinds("tensor")]


def test_a_leaf_alone_is_one_output_node() -> None:
    svg = render(ag.draw_graph(ag.tensor([1.0, 2.0], name="w")))
    (only,) = svg.nodes.values()
    assert "output" in only.classes and only.lines[0] == "w"


def test_rankdir_and_the_opt_in_legend_reach_the_dot_source(xwb: tuple) -> None:
    y = xwb[0].tanh()
    assert "rankdir=TB" in ag.draw_graph(y, rankdir="TB").source
    assert "legend" not in ag.draw_graph(y).source
    assert "legend" in ag.draw_graph(y, legend=True).source


def test_bad_arguments_name_the_problem(xwb: tuple) -> None:
    y = xwb[0].tanh()
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        ag.draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="rankdir must be"):
        ag.draw_graph(y, rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes must be at least 3"):
        ag.draw_graph(y, max_nodes=2)


def test_jupyter_gets_an_inline_svg(xwb: tuple) -> None:
    bundle = ag.draw_graph(xwb[0].tanh())._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


# ---- module clusters ----------------------------------------------------------------


def test_mlp_has_one_cluster_per_layer(rng: np.random.Generator) -> None:
    model = ag.nn.MLP([4, 8, 3], rng=rng)
    x = ag.Tensor(rng.standard_normal((5, 4)), name="x")
    svg = render(ag.draw_graph(model(x).sum()))
    assert set(svg.clusters) == {"mlp.layers", "mlp.layers.0", "mlp.layers.1", "mlp.layers.2"}
    layer0, layer1, layer2 = (svg.clusters[f"mlp.layers.{i}"] for i in range(3))
    for name in ("layers.0.weight", "layers.0.bias"):
        assert svg.by_first_line(name).inside(layer0)
    assert svg.by_first_line("layers.2.weight").inside(layer2)
    assert svg.by_first_line("relu").inside(layer1)
    inside0 = [s.lines[0] for s in svg.kinds("op") if s.inside(layer0)]
    assert inside0 == ["linear"]  # x @ W.T + b is one op
    data = svg.by_first_line("x")  # an input used by layer 0 is not one of its parameters
    assert not data.inside(svg.clusters["mlp.layers"])
    assert not svg.by_first_line("sum").inside(svg.clusters["mlp.layers"])


def test_nested_scopes_draw_nested_clusters(rng: np.random.Generator) -> None:
    x = ag.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    with engine.scope("net"):
        h = x.exp()
        with engine.scope("head"):
            y = h.tanh()
    svg = render(ag.draw_graph(y.sum()))
    assert set(svg.clusters) == {"net", "net.head"}
    assert svg.clusters["net.head"].inside(svg.clusters["net"])
    assert svg.by_first_line("exp").inside(svg.clusters["net"])
    assert not svg.by_first_line("exp").inside(svg.clusters["net.head"])
    assert svg.by_first_line("tanh").inside(svg.clusters["net.head"])


def _blocks(x: ag.Tensor, blocks: int, ops_per_block: int) -> ag.Tensor:
    h = x
    for i in range(blocks):
        with engine.scope(f"net.block{i}"):
            for _ in range(ops_per_block):
                h = h.tanh()
    return h.sum()


def test_a_2000_node_graph_collapses_its_modules_under_max_nodes() -> None:
    x = ag.tensor([0.1, 0.2], requires_grad=True, name="x")
    loss = _blocks(x, blocks=100, ops_per_block=10)
    assert len(engine.graph_nodes([loss])) * 2 + 1 > 2000  # tensors + ops
    g = ag.draw_graph(loss, max_nodes=500)
    # Checked before rendering: dot would take minutes over an uncollapsed 2,000 nodes.
    assert sum("[label=" in line and "->" not in line for line in g.source.splitlines()) <= 501
    svg = render(g)
    assert len(svg.nodes) <= 500
    boxes = svg.kinds("box")
    assert len(boxes) == 100
    assert svg.by_first_line("net.block7: 10 ops collapsed").inside(svg.clusters["net"])
    assert {s.lines[0] for s in svg.kinds("leaf")} == {"x"}
    assert len(svg.kinds("output")) == 1


def test_collapsing_goes_up_a_level_when_needed() -> None:
    x = ag.tensor([0.1, 0.2], requires_grad=True, name="x")
    svg = render(ag.draw_graph(_blocks(x, blocks=100, ops_per_block=10), max_nodes=20))
    assert [s.lines[0] for s in svg.kinds("box")] == ["net: 1000 ops collapsed"]
    assert len(svg.nodes) == 4  # x, the box, sum and its output
    assert not svg.clusters


def test_small_graphs_are_not_collapsed(rng: np.random.Generator) -> None:
    model = ag.nn.MLP([4, 8, 3], rng=rng)
    svg = render(ag.draw_graph(model(ag.tensor(np.ones((2, 4)))).sum()))
    assert not svg.kinds("box") and not svg.kinds("note")


def test_without_modules_the_first_and_last_parts_are_kept() -> None:
    x = ag.tensor([0.5, -0.5], requires_grad=True, name="x")
    h = x
    for _ in range(1000):
        h = h.tanh()
    svg = render(ag.draw_graph(h.sum(), max_nodes=41))
    assert len(svg.nodes) == 41
    (note,) = svg.kinds("note")
    assert "not drawn" in note.text and "max_nodes=41" in note.text
    assert svg.by_first_line("x") and len(svg.kinds("output")) == 1
    # the note stands between the two parts: one edge in, one edge out
    assert sum(head == note.key for _, head in svg.edges) == 1
    assert sum(tail == note.key for tail, _ in svg.edges) == 1


# ---- check=True ---------------------------------------------------------------------




def test_check_marks_exactly_the_wrong_function_red(xwb: tuple) -> None:
    x, W, b = xwb
    loss = (WrongCube.apply(x @ W) + b).tanh().sum()
    svg = render(ag.draw_graph(loss, check=True))
    bad = [s for s in svg.nodes.values() if "check-bad" in s.classes]
    assert [s.lines[0] for s in bad] == ["WrongCube"]
    assert "rel err 0.33" in bad[0].text  # |2 - 3| / 3
    assert bad[0].fill != svg.by_first_line("tanh ✓").fill
    ops = svg.kinds("op")
    assert len(ops) == 5
    assert all("check-ok" in s.classes and s.lines[0].endswith(" ✓") for s in ops
               if s is not bad[0])


def test_a_collapsed_module_with_a_wrong_op_stays_red(rng: np.random.Generator) -> None:
    x = ag.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    h = x
    for i in range(4):
        with engine.scope(f"block{i}"):
            h = (WrongCube.apply(h) if i == 2 else h.tanh()).exp()
    svg = render(ag.draw_graph(h.sum(), check=True, max_nodes=8))
    bad = [s for s in svg.nodes.values() if "check-bad" in s.classes]
    assert [s.lines[0] for s in bad] == ["block2: 2 ops collapsed"]
    assert "WrongCube" in bad[0].text


def test_check_needs_the_graph_alive(xwb: tuple) -> None:
    x, W, _ = xwb
    loss = (x @ W).tanh().sum()
    loss.backward(retain_graph=True)
    assert render(ag.draw_graph(loss, check=True)).kinds("op")  # retained: fine
    loss.backward()
    with pytest.raises(RuntimeError, match=r"before backward.*retain_graph=True"):
        ag.draw_graph(loss, check=True)


# Ops at kinks, ties, broadcasting, integer indexing and constants: none is a false alarm.
AGREEING = [
    lambda x: (x @ x.T).softmax(axis=1).log().sum(),
    lambda x: x.relu().relu().sum(),  # the second relu sees exact zeros
    lambda x: ag.maximum(x, x).sum() + x.abs().clip(-1.0, 0.5).sum(),
    lambda x: (x[[0, 0, 2]] * 2.0 - ag.tensor([1.0, 2.0, 3.0, 4.0])).max(axis=1).mean(),
    lambda x: ag.where(x.data > 0, x, x * 3).var(axis=0, ddof=1).sum(),
    lambda x: ag.stack([x, x.exp()], axis=0).log_softmax(axis=0).sum() / x.sum().sqrt(),
    lambda x: (x.reshape(12) ** 3).astype(np.float32).sum(),
]


@pytest.mark.parametrize("fn", AGREEING)
def test_check_finds_every_builtin_op_correct(fn: Callable) -> None:
    x = ag.tensor([[0.5, 1.5, 0.0, 2.0], [0.3, 0.7, 1.1, 0.2], [1.0, 0.1, 0.6, 0.4]],
                  requires_grad=True)
    results = [(node.op.name, check_op(node)) for node in engine.graph_nodes([fn(x)])]
    # astype to float32 cannot be differenced in float64: it is the one op left unchecked
    assert all(r.status == ("unchecked" if name == "astype" else "agrees")
               for name, r in results), results


def test_check_op_reports_a_wrong_gradient_shape() -> None:
    class WrongShape(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    y = WrongShape.apply(ag.tensor([1.0, 2.0, 3.0], requires_grad=True))
    result = check_op(y.node)
    assert not result.ok
    assert "WrongShape" in result.detail and "(5,)" in result.detail


def test_check_op_samples_large_inputs_and_still_catches_a_wrong_vjp() -> None:
    x = ag.tensor(np.linspace(0.5, 2.0, 3000), requires_grad=True)
    assert check_op(WrongCube.apply(x).node, max_elements=16).status == "disagrees"
    assert check_op(x.exp().node, max_elements=16).status == "agrees"
