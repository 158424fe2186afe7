"""Graphs that keep what they show after backward, and stay readable when large."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_graph import Svg, render

import autograd_lite as ag
from autograd_lite import engine
from autograd_lite.graph.labels import SHOW_DATA_MAX, plural
from autograd_lite.numbers import preview


@pytest.fixture
def freed_keeps_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """``engine.Freed`` keeping ``data`` (at most 64 elements) or a ``preview`` (first and
    last 3 elements), as the engine defines it; installed only where the engine's own
    ``Freed`` does not do it yet."""
    if "preview" in dir(engine.Freed):
        return

    class Keeping(engine.Freed):
        __slots__ = ("data", "preview")

        def __init__(self, t: ag.Tensor) -> None:
            super().__init__(t)
            small = t.data.size <= SHOW_DATA_MAX
            self.data = t.data if small else None
            self.preview = None if small else preview(t.data)

    monkeypatch.setattr(engine, "Freed", Keeping)


def labels(svg: Svg) -> dict[str, list[str]]:
    return {key: shape.lines for key, shape in svg.nodes.items()}


@pytest.mark.parametrize("show_data", [False, True])
def test_backward_keeps_every_value_the_graph_showed(freed_keeps_data: None, show_data: bool,
                                                      rng: np.random.Generator) -> None:
    x = ag.Tensor(rng.standard_normal((2, 2)), requires_grad=True, name="x")
    W = ag.Tensor(rng.standard_normal((2, 40)), requires_grad=True, name="W")
    h = (x @ W).tanh()  # 80 elements: more than Freed keeps whole
    loss = (h.sum(axis=1) * x[:, 0]).sum()
    before = labels(render(ag.draw_graph(loss, show_data=show_data)))
    loss.backward()
    after = labels(render(ag.draw_graph(loss, show_data=show_data)))
    assert loss.node.saved is None  # freed
    values = [key for key, lines in before.items() if any(s.startswith("value") for s in lines)]
    assert len(values) >= (8 if show_data else 4)
    for key in values:  # the same lines; leaves have grad lines after them
        assert after[key][:len(before[key])] == before[key], key
    large = [lines for lines in after.values() if lines[0] != "W" and len(lines) > 1
             and lines[1] == "(2,40) float64"]
    assert len(large) == 2  # x @ W and its tanh
    if show_data:  # the 80-element tensors read by their first and last elements
        assert all(lines[2].startswith("value [") and "…" in lines[2] for lines in large)
    grads = {lines[0]: lines for lines in after.values() if any("grad" in s for s in lines)}
    assert set(grads) == ({"x", "W"} if show_data else {"x"})  # W: 80 elements


def test_a_non_leaf_that_retains_its_grad_shows_it(rng: np.random.Generator) -> None:
    x = ag.Tensor(rng.standard_normal(3), requires_grad=True, name="x")
    hidden = x.exp()
    hidden.name = "hidden"
    loss = (hidden * hidden).sum()
    expected = 2 * np.exp(x.data)
    if hasattr(hidden, "retain_grad"):
        hidden.retain_grad()
        loss.backward()
    else:  # before retain_grad exists: what it leaves behind, a kept tensor with its .grad
        loss.backward(retain_graph=True)
        hidden.grad = ag.tensor(expected)
    svg = render(ag.draw_graph(loss))
    (line,) = [s for s in svg.by_first_line("hidden").lines if s.startswith("grad")]
    np.testing.assert_allclose([float(v) for v in re.findall(r"[-\d.e+]+", line[5:])],
                               expected, rtol=5e-4)
    assert not any(s.startswith("grad") for s in svg.kinds("output")[0].lines)


def test_collapse_and_elision_notes_count_right() -> None:
    assert [plural(n, "op") for n in (0, 1, 2)] == ["0 ops", "1 op", "2 ops"]
    x = ag.tensor([0.1, 0.2], requires_grad=True, name="x")
    h = x
    for i in range(30):
        with engine.scope(f"block{i}"):
            h = h.tanh() if i % 2 else h.exp().tanh()
    svg = render(ag.draw_graph(h.sum(), max_nodes=40))
    boxes = sorted(s.lines[0] for s in svg.kinds("box"))
    assert "block1: 1 op collapsed" in boxes and "block0: 2 ops collapsed" in boxes
    assert not any("1 ops" in line for s in svg.nodes.values() for line in s.lines)
    chain = x
    for _ in range(4):
        chain = chain.exp()
    (note,) = render(ag.draw_graph(chain, max_nodes=8)).kinds("note")
    assert note.lines[0] == "… 2 nodes (1 op) not drawn"


def test_a_loss_scope_draws_as_one_named_cluster(rng: np.random.Generator) -> None:
    model = ag.nn.MLP([4, 3], rng=rng)
    logits = model(ag.tensor(rng.standard_normal((5, 4)), name="x"))
    with engine.scope("cross_entropy"):  # how F's losses label their ops
        loss = -(logits.log_softmax(axis=1) * np.eye(3)[[0, 1, 2, 0, 1]]).sum() / 5
    svg = render(ag.draw_graph(loss))
    cluster = svg.clusters["cross_entropy"]
    assert {"mlp.layers.0", "cross_entropy"} <= set(svg.clusters)
    inside = sorted(s.lines[0] for s in svg.kinds("op") if s.inside(cluster))
    assert inside == ["div", "log_softmax(axis=1)", "mul", "neg", "sum"]
    targets = [s for s in svg.kinds("const") if s.lines[0] != "x"]
    assert targets and all(s.inside(cluster) for s in targets)  # the one-hot rows, the 5
    assert not svg.by_first_line("linear").inside(cluster)


def _size(svg_bytes: bytes) -> tuple[float, float]:
    width, height = re.search(rb'<svg width="(\d+)pt" height="(\d+)pt"', svg_bytes).groups()
    return float(width), float(height)


def _chain(n: int) -> ag.Tensor:
    h = ag.tensor([0.5, -0.5], requires_grad=True, name="x")
    for _ in range(n):
        h = h.tanh()
    return h.sum()


def _deep_mlp(layers: int, rng: np.random.Generator) -> ag.Tensor:
    model = ag.nn.MLP([4] + [8] * (layers - 1) + [2], rng=rng)
    return model(ag.tensor(rng.standard_normal((3, 4)), name="x")).sum()


@pytest.mark.parametrize(("build", "max_nodes"), [
    (lambda rng: _chain(2000), 500),
    (lambda rng: _deep_mlp(60, rng), 500),
    (lambda rng: _deep_mlp(60, rng), 2000),  # every op drawn: 840 nodes
], ids=["chain-2000", "mlp-60-collapsed", "mlp-60-whole"])
def test_long_graphs_wrap_to_a_bounded_aspect_ratio(build, max_nodes: int,
                                                   rng: np.random.Generator) -> None:
    g = ag.draw_graph(build(rng), max_nodes=max_nodes)
    assert "constraint=false" in g.source  # wrapped
    width, height = _size(g.pipe(format="svg"))
    assert 1 / 3 <= width / height <= 3, (width, height)
    assert width < 12000


def test_short_graphs_are_not_wrapped(rng: np.random.Generator) -> None:
    g = ag.draw_graph(_deep_mlp(2, rng))
    assert "constraint=false" not in g.source
    width, height = _size(g.pipe(format="svg"))
    assert width > height
