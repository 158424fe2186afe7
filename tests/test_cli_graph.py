"""The `graph` command: renders an expression's graph; refuses anything off the whitelist."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd_lite.cli import main
from autograd_lite.commands.graph import RefusedExpression, parse_expression

SVG = "{http://www.w3.org/2000/svg}"
LINEAR = ["(x @ W + b).tanh().sum()", "--var", "x=3,4", "--var", "W=4,2", "--var", "b=2"]


def svg_nodes(path: Path) -> dict[str, list[str]]:
    """Rendered nodes (legend left out): CSS class -> first text line of each such node."""
    nodes: dict[str, list[str]] = {}
    for group in ET.parse(path).getroot().iter(SVG + "g"):
        classes = group.get("class", "").split()
        if "node" in classes and "legend" not in classes:
            first = next(group.iter(SVG + "text")).text
            for css in classes[1:]:
                nodes.setdefault(css, []).append(first)
    return nodes


def node_texts(path: Path, first_line: str) -> list[str]:
    """All text lines of the node whose label starts with ``first_line``."""
    for group in ET.parse(path).getroot().iter(SVG + "g"):
        lines = [t.text for t in group.iter(SVG + "text")]
        if "node" in group.get("class", "").split() and lines and lines[0] == first_line:
            return lines
    raise AssertionError(f"no node labelled {first_line!r}")


def test_a_valid_expression_produces_an_svg(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "graph.svg"
    assert main(["graph", *LINEAR, "-o", str(out)]) == 0
    nodes = svg_nodes(out)
    assert sorted(nodes["op"]) == ["add (broadcast (2,)→(3,2))", "matmul", "sum", "tanh"]
    assert sorted(nodes["leaf"]) == ["W", "b", "x"]
    assert len(nodes["tensor"]) == 3 and len(nodes["output"]) == 1
    assert node_texts(out, "x")[1] == "(3,4) float64"
    assert not any(line.startswith("grad") for line in node_texts(out, "b"))
    assert str(out) in capsys.readouterr().out


def test_backward_shows_grads_and_sums_a_non_scalar_result(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", "x * b", "--var", "x=3,2", "--var", "b=2", "--backward",
                 "-o", str(out)]) == 0
    assert sorted(svg_nodes(out)["op"]) == ["mul (broadcast (2,)→(3,2))", "sum"]
    assert any(line.startswith("grad [") for line in node_texts(out, "b"))


def test_check_with_backward_draws_checks_and_grads(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", *LINEAR, "--check", "--backward", "-o", str(out)]) == 0
    nodes = svg_nodes(out)
    assert len(nodes["check-ok"]) == 4 and "check-bad" not in nodes
    assert any(line.startswith("grad [") for line in node_texts(out, "b"))


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                               (".dot", b"digraph")])
def test_the_suffix_picks_the_format(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"g{suffix}"
    assert main(["graph", *LINEAR, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_the_seed_picks_the_values(tmp_path: Path) -> None:
    def dot(seed: str, name: str) -> str:
        out = tmp_path / name
        assert main(["graph", "s.exp()", "--var", "s=2", "--seed", seed, "-o", str(out)]) == 0
        text = out.read_text()
        out.unlink()  # an existing output is not overwritten without --force
        return text

    assert dot("1", "a.dot") == dot("1", "b.dot")
    assert dot("1", "a.dot") != dot("2", "c.dot")


def test_constant_arithmetic_is_refused_before_anything_runs() -> None:
    # Checked on the parser alone: evaluating 10 ** 10 ** 10 would hang, not fail.
    assert parse_expression("(x * 10) ** 2", {"x"}) is not None
    with pytest.raises(RefusedExpression, match="'\\*\\*' between constants only"):
        parse_expression("x * 10 ** 10 ** 10", {"x"})


REFUSED = {
    "import": ("__import__('os').system('touch CANARY')", "'__import__' is not allowed"),
    "dunder attribute": ("x.__class__", "'__class__' is not allowed"),
    "escape via subclasses": ("x.T.__class__.__mro__[1].__subclasses__()",
                              "'__subclasses__' is not allowed: private and dunder"),
    "module dunder": ("ag.__dict__", "'__dict__' is not allowed"),
    "private keyword": ("x.sum(_axis=1)", "'_axis' is not allowed"),
    "module attribute": ("ag.engine.mode", "attribute 'mode' is not allowed"),
    "undefined name": ("y + 1", "name 'y' is not defined: declare it with --var y=SHAPE"),
    "builtin call": ("open('/etc/passwd')", "calling 'open' is not allowed"),
    "method off the list": ("x.detach()", "method 'detach' is not allowed"),
    "array attribute": ("x.data", "attribute 'data' is not allowed"),
    "lambda": ("(lambda: x)()", "lambda is not allowed"),
    "comprehension": ("ag.stack([t for t in x])", "a list comprehension is not allowed"),
    "walrus": ("(y := x)", "':=' is not allowed"),
    "constant power": ("x * 10 ** 10 ** 10", "'**' between constants only"),
    "list arithmetic": ("ag.stack([x] * 3)", "'*' on a list or tuple"),
    "computed index": ("x[x]", "indexes must be integer constants"),
    "computed keyword": ("x.sum(axis=x)", "keyword arguments must be constants"),
    "string value": ("x + 'a'", "constant 'a' is not allowed"),
    "syntax": ("x +", "not a Python expression"),
    "deep parentheses": ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    "deep nesting": ("-" * 1500 + "x", "nested too deeply"),
    "too long": ("x" + "+x" * 1000, "the limit is 2000"),
    "not a tensor": ("(x, x)", "must give a Tensor, got tuple"),
}


@pytest.mark.parametrize(("expr", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_expressions_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch, expr: str,
                                                   message: str) -> None:
    monkeypatch.chdir(tmp_path)  # where a successful escape would leave CANARY
    out = tmp_path / "g.svg"
    assert main(["graph", "--var", "x=3,4", "-o", str(out), "--", expr]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "CANARY").exists()


@pytest.mark.parametrize(("spec", "message"), [
    ("x=3,a", "comma-separated positive integers"),
    ("x=0,2", "comma-separated positive integers"),
    ("1x=3", "plain identifier"),
    ("ag=3", "plain identifier other than ag, np and F"),
    ("x=1000,1000,2", "more than the 1000000"),
])
def test_bad_variables_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, spec: str,
                              message: str) -> None:
    assert main(["graph", "x.sum()", "--var", spec, "-o", str(tmp_path / "g.svg")]) == 2
    assert message in capsys.readouterr().err


def test_a_variable_declared_twice_and_a_bad_suffix_exit_2(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    assert main(["graph", "x.sum()", "--var", "x=2", "--var", "x=3",
                 "-o", str(tmp_path / "g.svg")]) == 2
    assert "declared twice" in capsys.readouterr().err
    assert main(["graph", "x.sum()", "--var", "x=2", "-o", str(tmp_path / "g.jpeg")]) == 2
    assert "suffix must be one of" in capsys.readouterr().err


def test_a_scalar_variable_is_declared_with_an_empty_shape(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", "(s * x).sum()", "--var", "s=", "--var", "x=2", "-o", str(out)]) == 0
    assert node_texts(out, "s")[1] == "() float64"


def test_a_failing_evaluation_exits_1_naming_the_op(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", "x @ x", "--var", "x=3,4", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "matmul: shapes (3, 4) and (3, 4) do not align" in err
    assert "Traceback" not in err and not out.exists()


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    ok = subprocess.run([sys.executable, "-m", "autograd_lite", "graph", *LINEAR, "--backward",
                         "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert sorted(svg_nodes(out)["leaf"]) == ["W", "b", "x"]
    refused = subprocess.run([sys.executable, "-m", "autograd_lite", "graph",
                              "__import__('os')", "-o", str(tmp_path / "bad.svg")],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "'__import__' is not allowed" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_numpy_functions_of_the_op_table_are_accepted(tmp_path: Path) -> None:
    out = tmp_path / "graph.dot"
    assert main(["graph", "np.tanh(np.matmul(x, W)).sum() + ag.sin(x).mean(dim=0).sum()",
                 "--var", "x=3,4", "--var", "W=4,2", "-o", str(out)]) == 0
    text = out.read_text()
    assert "tanh" in text and "matmul" in text and "sin" in text and "mean(axis=0)" in text


@pytest.mark.parametrize(("expr", "message"), [
    ("np.i0(x)", "np.i0 is not allowed"),
    ("np.save(x)", "np.save is not allowed"),
    ("np.linalg", "attribute 'linalg' is not allowed"),
    ("ag.zeros(3)", "ag.zeros is not allowed"),
])
def test_numpy_functions_off_the_table_are_refused(expr: str, message: str) -> None:
    with pytest.raises(RefusedExpression, match=message):
        parse_expression(expr, {"x"})
