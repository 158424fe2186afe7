"""animate_backward: the recorded steps, the page it writes, and the CLI's --steps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import engine
from autograd_lite.cli import main
from autograd_lite.ops import elementwise


def network(values: dict) -> tuple[ag.Tensor, list[ag.Tensor]]:
    x = ag.tensor(values["x"], requires_grad=True, name="x")
    W = ag.tensor(values["W"], requires_grad=True, name="W")
    h = elementwise.sin(x @ W)  # sin: an op whose table entry has its rule
    h.name = "h"
    return (h * h).sum() + x.sum(), [x, W]


@pytest.fixture
def values(rng: np.random.Generator) -> dict:
    return {"x": rng.standard_normal((2, 3)), "W": rng.standard_normal((3, 2))}


def test_it_runs_backward_like_backward(values: dict) -> None:
    loss, leaves = network(values)
    ag.animate_backward(loss)
    plain, plain_leaves = network(values)
    plain.backward()
    for a, b in zip(leaves, plain_leaves):
        np.testing.assert_array_equal(a.grad.data, b.grad.data)
    assert loss.node.saved is None  # freed, as backward() frees
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    kept, _ = network(values)
    ag.animate_backward(kept, retain_graph=True)
    assert kept.node.saved is not None


def test_the_steps_are_backward_steps(values: dict) -> None:
    loss, _ = network(values)
    recorded = ag.animate_backward(loss).steps
    reference, _ = network(values)
    expected = list(reference.backward_steps())
    assert [s.op for s in recorded] == [s.op for s in expected]
    for got, want in zip(recorded, expected):
        np.testing.assert_array_equal(got.grad_output, want.grad_output)
        assert len(got.grad_inputs) == len(want.grad_inputs)
        for g, w in zip(got.grad_inputs, want.grad_inputs):
            assert (g is None) == (w is None)
            if w is not None:
                np.testing.assert_array_equal(g, w)
        assert got.rule == (want.node.op.rule or want.op)
    sin = next(s for s in recorded if s.op == "sin")
    assert sin.rule.startswith("sin: grad_in = ")  # the op table's one line
    assert (sin.output, sin.inputs) == ("h", ("t0",))


def test_the_page_is_one_self_contained_file(values: dict, tmp_path: Path) -> None:
    loss, _ = network(values)
    anim = ag.animate_backward(loss)
    path = anim.save(tmp_path / "sub" / "steps.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "<?xml" not in page
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not re.search(r"<(link|img|iframe)\b|\bsrc\s*=|@import|url\(", page)
    assert set(re.findall(r"https?://[^\s\"']+", page)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert page.count("<script") == 2  # the steps as JSON, and the player
    inline = anim._repr_html_()
    assert inline.startswith("<iframe srcdoc=") and "&lt;svg" in inline
    assert f"{len(anim)} steps" in repr(anim)


def test_a_collapsed_op_highlights_its_box(rng: np.random.Generator) -> None:
    x = ag.tensor(rng.standard_normal(2), requires_grad=True, name="x")
    h = x
    for i in range(6):
        with engine.scope(f"block{i}"):
            h = h.tanh().exp()
    anim = ag.animate_backward(h.sum(), max_nodes=10)
    keys = {frame["key"] for frame in anim._frames}
    assert {f"box_block{i}" for i in range(6)} <= keys
    assert all(f'<title>{key}</title>' in anim.svg for key in keys)


def test_bad_arguments_name_the_problem(values: dict) -> None:
    loss, (x, _) = network(values)
    with pytest.raises(ValueError, match=r"one-element.*animate_backward\(t.sum\(\)\)"):
        ag.animate_backward(x * 2)
    with pytest.raises(TypeError, match="animate_backward: expected a Tensor"):
        ag.animate_backward(np.ones(1))
    with pytest.raises(ValueError, match="does not require grad"):
        ag.animate_backward(ag.tensor(1.0))


def test_the_cli_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "steps.html"
    assert main(["graph", "(x @ W).tanh()", "--var", "x=3,4", "--var", "W=4,2", "--steps",
                 "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '"op": "tanh"' in page and '"op": "matmul"' in page and '"op": "sum"' in page
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["graph", "x.tanh()", "--var", "x=3", "--steps", "-o",
                 str(tmp_path / "steps.svg")]) == 2
    assert "--steps writes an HTML page" in capsys.readouterr().err
    assert main(["graph", "x.tanh()", "--var", "x=3", "--steps", "--check", "-o",
                 str(tmp_path / "both.html")]) == 2
    assert "use one of them" in capsys.readouterr().err
