"""``animate_backward``: a backward pass recorded step by step, replayed in one HTML page.

The page is self-contained (inline SVG from Graphviz, CSS and a small script; nothing
fetched from a network): the graph as it was after the forward pass, a slider, previous
and next buttons, and the keys → ← (also n and p). Step 0 is before backward; step k
highlights the op whose VJP runs k-th, the gradient arriving at its output, the
gradients it sends to each input and its one-line rule (``op.rule``, else its name),
and lists the leaves' gradients as they accumulate (a leaf used twice shows both
contributions being summed).
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Step
from ..tensor import Tensor
from .dot import emit, validate
from .labels import array_text
from .layout import Builder, drawn_as, shrink


@dataclasses.dataclass(frozen=True)
class RecordedStep:
    """One applied VJP, as the page shows it.

    ``op``: the op's name; ``rule``: its one-line chain rule; ``output``: the display
    name of its output tensor; ``grad_output``: the gradient that arrived there;
    ``inputs``: the display names of its inputs; ``grad_inputs``: what it sent to each
    (None where an input needs no gradient).
    """

    op: str
    rule: str
    output: str
    grad_output: np.ndarray
    inputs: tuple[str, ...]
    grad_inputs: tuple[np.ndarray | None, ...]


class StepThrough:
    """A recorded backward pass: ``steps`` (:class:`RecordedStep`), ``html()``,
    ``save(path)``, and inline display in Jupyter."""

    def __init__(self, svg: str, steps: list[RecordedStep], frames: list[dict],
                 title: str) -> None:
        self.svg = svg
        self.steps = steps
        self._frames = frames
        self.title = title

    def __len__(self) -> int:
        return len(self.steps)

    def html(self) -> str:
        """The whole page as one string (no external resources)."""
        data = json.dumps({"steps": self._frames, "title": self.title}, ensure_ascii=False)
        # "</" inside a script element would end it early; JSON allows the escaped form.
        data = data.replace("</", "<\\/")
        return (_PAGE.replace("{{title}}", html.escape(self.title))
                .replace("{{css}}", _CSS).replace("{{script}}", _SCRIPT)
                .replace("{{svg}}", self.svg).replace("{{data}}", data))

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (parents created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # An iframe keeps the page's ids, styles and key handler apart from the notebook's.
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                f'style="width:100%;height:640px;border:1px solid #ccc"></iframe>')

    def __repr__(self) -> str:
        return f"<StepThrough of {len(self.steps)} steps: {self.title}>"


def animate_backward(t: Tensor, retain_graph: bool = False, show_data: bool = False,
                     rankdir: str = "LR", max_nodes: int = 500) -> StepThrough:
    """Run ``t.backward(retain_graph=retain_graph)`` while recording each step, and
    return the step-through page (:class:`StepThrough`).

    The leaves' ``.grad`` are filled and the graph is freed exactly as ``backward()``
    would. The graph is drawn as ``draw_graph(t, show_data, rankdir, max_nodes=...)``
    draws it before backward (forward values only); a step whose op was collapsed into
    a box highlights the box. ``t`` must have one element (as for ``backward()``).
    """
    validate(t, rankdir, max_nodes, "animate_backward")
    if t.size != 1 or not t.requires_grad:
        raise ValueError(
            f"animate_backward: needs a one-element tensor that requires grad (a loss), got "
            f"shape {t.shape}{'' if t.requires_grad else ' that does not require grad'}; "
            f"reduce it first, e.g. animate_backward(t.sum())")
    builder = Builder(t, show_data, {})
    items, edges = builder.build()
    names = {it.key: it.label.split("\\n")[0] for it in items}
    items, edges = shrink(items, edges, max_nodes)
    where = drawn_as(items)
    svg = emit(items, edges, rankdir).pipe(format="svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML
    recorder = _Recorder(builder, names, where)
    for step in t.backward_steps(retain_graph=retain_graph):
        recorder.add(step)
    title = f"backward of {names.get(where.get(f't{len(builder.index) - 1}'), 'the loss')}"
    return StepThrough(svg, recorder.steps, recorder.frames, title)


class _Recorder:
    """Turns engine steps into :class:`RecordedStep` and the page's frames."""

    def __init__(self, builder: Builder, names: dict[str, str], where: dict[str, str]) -> None:
        self.builder = builder
        self.names = names
        self.where = where
        self.totals: dict[str, Any] = {}  # key -> gradient accumulated so far
        self.parts: dict[str, int] = {}  # key -> how many contributions it has received
        self.steps: list[RecordedStep] = []
        self.frames: list[dict] = []

    def add(self, step: Step) -> None:
        """Record one applied VJP: its gradients, and the page's frame for it."""
        node = step.node
        op_key = self.builder.op_key(node)
        out_key = f"t{op_key[2:]}"
        grad_output = np.array(step.grad_output)
        sent, in_names, reached = [], [], [out_key]
        for i, gi in enumerate(step.grad_inputs):
            key = self.builder.input_key(node, i)
            in_names.append(self.names[key])
            if gi is None:
                continue
            gi = np.array(gi)
            self.totals[key] = gi if key not in self.totals else self.totals[key] + gi
            self.parts[key] = self.parts.get(key, 0) + 1
            reached.append(key)
            sent.append({"index": i, "key": self.where[key], "name": self.names[key],
                         "grad": array_text(gi), "total": array_text(self.totals[key]),
                         "parts": self.parts[key]})
        rule = node.op.rule or node.op.name
        self.steps.append(RecordedStep(node.op.name, rule, self.names[out_key], grad_output,
                                       tuple(in_names),
                                       tuple(None if g is None else np.array(g)
                                             for g in step.grad_inputs)))
        self.frames.append({
            "op": node.op.name, "rule": rule, "key": self.where[op_key],
            "out": {"key": self.where[out_key], "name": self.names[out_key],
                    "grad": array_text(grad_output), "parts": self.parts.get(out_key, 1)},
            "sent": sent,
            "reached": sorted({self.where[k] for k in reached}),
            "leaves": self._leaves(),
        })

    def _leaves(self) -> list[dict]:
        """Every leaf that requires grad and has received a gradient so far."""
        return [{"key": self.where[key], "name": self.names[key],
                 "grad": array_text(self.totals[key]), "parts": self.parts[key]}
                for key, leaf in self.builder.leaves.items()
                if leaf.requires_grad and key in self.totals]


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<style>{{css}}</style>
</head>
<body>
<header>
  <div class="controls">
    <button id="prev" type="button" title="previous step (← or p)">◀ prev</button>
    <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
    <button id="next" type="button" title="next step (→ or n)">next ▶</button>
    <span id="counter"></span>
    <label><input id="fit" type="checkbox" checked> fit the graph to the window</label>
  </div>
  <div id="panel">
    <div id="heading"></div>
    <div id="rule"></div>
    <div id="arriving"></div>
    <ul id="sent"></ul>
    <table id="leaves"><thead><tr><th>leaf</th><th>.grad so far</th></tr></thead>
    <tbody></tbody></table>
  </div>
</header>
<main id="graph" class="fit">{{svg}}</main>
<script type="application/json" id="data">{{data}}</script>
<script>{{script}}</script>
</body>
</html>
"""

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; font-size: 14px; margin: 0; color: #222; }
header { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ccc;
         padding: 8px 12px; z-index: 1; }
.controls { display: flex; align-items: center; gap: 8px; }
#slider { flex: 1; max-width: 480px; }
#counter { font-weight: bold; }
#panel { margin-top: 6px; min-height: 7em; }
#heading { font-size: 16px; font-weight: bold; }
#rule { font-family: monospace; color: #6a1b9a; margin: 2px 0; }
#sent { margin: 2px 0; padding-left: 20px; }
.grad, .total { font-family: monospace; }
.sum { color: #c62828; font-weight: bold; }
#leaves { border-collapse: collapse; margin-top: 4px; }
#leaves td, #leaves th { border: 1px solid #ddd; padding: 1px 6px; text-align: left; }
main { padding: 8px; overflow: auto; }
main.fit svg { max-width: 100%; height: auto; }
g.node.reached polygon, g.node.reached path { stroke: #1565c0; }
g.node.current ellipse, g.node.current polygon { fill: #ff9800; stroke: #e65100; stroke-width: 3; }
g.node.arriving polygon, g.node.arriving path { stroke: #1565c0; stroke-width: 3; }
g.node.receiving polygon, g.node.receiving path { stroke: #c62828; stroke-width: 3; }
g.edge.flow path { stroke: #c62828; stroke-width: 2.5; }
g.edge.flow polygon { fill: #c62828; stroke: #c62828; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var steps = data.steps;
  var slider = document.getElementById("slider");
  var nodes = {};
  var edges = [];
  document.querySelectorAll("#graph g.node").forEach(function (g) {
    nodes[g.querySelector("title").textContent] = g;
  });
  document.querySelectorAll("#graph g.edge").forEach(function (g) {
    edges.push([g.querySelector("title").textContent, g]);
  });
  slider.max = String(steps.length);
  var current = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function mark(key, cls) {
    if (nodes[key]) { nodes[key].classList.add(cls); }
  }
  function contributions(n) {
    return n > 1 ? " (sum of " + n + " contributions)" : "";
  }

  function show(i) {
    current = Math.max(0, Math.min(steps.length, i));
    slider.value = String(current);
    document.getElementById("counter").textContent = "step " + current + " / " + steps.length;
    ["current", "arriving", "receiving", "reached"].forEach(function (cls) {
      document.querySelectorAll("#graph ." + cls).forEach(function (g) {
        g.classList.remove(cls);
      });
    });
    edges.forEach(function (pair) { pair[1].classList.remove("flow"); });
    var heading = document.getElementById("heading");
    var rule = document.getElementById("rule");
    var arriving = document.getElementById("arriving");
    var sent = document.getElementById("sent");
    var leaves = document.querySelector("#leaves tbody");
    sent.textContent = "";
    leaves.textContent = "";
    arriving.textContent = "";
    rule.textContent = "";
    if (current === 0) {
      heading.textContent = "Before backward: the graph shows the forward values. " +
        "Press → or n (or next) to apply the first VJP.";
      return;
    }
    var step = steps[current - 1];
    for (var k = 0; k < current; k++) {
      steps[k].reached.forEach(function (key) { mark(key, "reached"); });
    }
    mark(step.key, "current");
    mark(step.out.key, "arriving");
    heading.textContent = "Step " + current + ": VJP of " + step.op;
    rule.textContent = step.rule;
    arriving.appendChild(document.createTextNode(
      "gradient arriving at " + step.out.name + contributions(step.out.parts) + ": "));
    arriving.appendChild(el("span", "grad", step.out.grad));
    step.sent.forEach(function (s) {
      mark(s.key, "receiving");
      edges.forEach(function (pair) {
        if (pair[0] === s.key + "->" + step.key) { pair[1].classList.add("flow"); }
      });
      var li = el("li", "sent");
      li.dataset.key = s.key;
      li.appendChild(document.createTextNode("to input " + s.index + " (" + s.name + "): "));
      li.appendChild(el("span", "grad", s.grad));
      if (s.parts > 1) {
        li.appendChild(el("span", "sum", "  → summed with earlier: "));
        li.appendChild(el("span", "total", s.total));
      }
      sent.appendChild(li);
    });
    step.leaves.forEach(function (leaf) {
      var tr = el("tr", "leaf");
      tr.appendChild(el("td", "name", leaf.name));
      var td = el("td");
      td.appendChild(el("span", "grad", leaf.grad));
      if (leaf.parts > 1) { td.appendChild(el("span", "sum", contributions(leaf.parts))); }
      tr.appendChild(td);
      leaves.appendChild(tr);
    });
  }

  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  document.getElementById("fit").addEventListener("change", function (event) {
    document.getElementById("graph").classList.toggle("fit", event.target.checked);
  });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider) { return; }  // the slider moves itself with the arrows
    if (event.key === "ArrowRight" || event.key === "n") { show(current + 1); }
    else if (event.key === "ArrowLeft" || event.key === "p") { show(current - 1); }
  });
  show(0);
})();
"""
