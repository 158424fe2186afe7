"""``autograd-lite graph EXPR --var x=3,4 --var W=4,2 -o graph.svg``: draw an expression.

With ``--steps -o steps.html`` it writes the step-through page of the expression's
backward pass instead (``animate_backward``; a non-scalar result is summed first).

The expression is Python syntax over the declared variables (random tensors that
require grad, named after the variable), ``ag.*`` and ``F.*`` functions and Tensor
methods. ``eval`` without builtins is not a sandbox, so the parsed tree is checked
against a whitelist first; only then is it compiled and evaluated.

Bounded work: at most MAX_ELEMENTS elements over all variables, MAX_OPS recorded ops
and MAX_SECONDS for the whole command; large graphs are laid out cheaply. The output
file's directory must exist, an existing file is replaced only with ``--force``, and
nothing is written through a symlink. Exit status: 0 on success, 2 for a refused
expression, bad options or an exceeded bound, 1 when a valid expression fails while
running (a shape mismatch, a method called on a number...) or the file cannot be written.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import keyword
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import graphviz
import numpy as np

import autograd_lite

from .. import engine
from ..graph import animate_backward, draw_graph
from ..nn import functional
from ..tensor import Tensor

MAX_EXPRESSION_CHARS = 2000
# Over all --var together: a typo like x=100000,100000 must not eat the memory.
MAX_ELEMENTS = 1_000_000
MAX_OPS = 1000  # recorded ops: more is no picture anyone can read
MAX_SECONDS = 60  # evaluating, drawing and rendering together
# Above this many ops Graphviz's dot is told to lay out cheaply (see cheap_layout).
LARGE_GRAPH_OPS = 40

TENSOR_METHODS = frozenset({
    "sum", "mean", "max", "min", "var", "exp", "log", "sqrt", "abs", "clip", "sigmoid",
    "tanh", "relu", "reshape", "transpose", "flatten", "softmax", "log_softmax",
})
TENSOR_PROPERTIES = frozenset({"T"})
MODULE_FUNCTIONS = {
    "ag": frozenset({"concatenate", "stack", "where", "maximum", "minimum", "exp", "log",
                     "sqrt", "tanh", "sigmoid", "relu"}),
    "F": frozenset({"sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax",
                    "mse_loss", "cross_entropy", "binary_cross_entropy",
                    "binary_cross_entropy_with_logits", "l2_penalty", "l1_penalty"}),
}
_MODULES = {"ag": autograd_lite, "F": functional}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@"}
_UNARY = (ast.USub, ast.UAdd)
_FORMATS = ("svg", "png", "pdf", "dot", "gv")
_ALLOWED_TEXT = (
    "allowed: numbers, declared variables, + - * / ** @, unary -, indexing with constants, "
    "Tensor methods (x.tanh(), x.sum(axis=1), x.T), ag.* and F.* functions"
)

# Roles a node can play: a value (tensor or number), the function of a call, a keyword
# value (a literal), a subscript index (literal ints and slices).
_VALUE, _CALLEE, _LITERAL, _INDEX = "value", "callee", "literal", "index"


class RefusedExpression(ValueError):
    """An expression or option the command refuses before evaluating anything (exit 2)."""


# ---------------------------------------------------------------------------------
# Checking the expression


def parse_expression(text: str, variables: set[str]) -> CodeType:
    """Parse ``text``, check every node against the whitelist and compile it.

    Raises RefusedExpression, naming the first offence (private and dunder names
    before anything else), so nothing off the whitelist is ever compiled.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise RefusedExpression(f"the expression is {len(text)} characters long; the limit is "
                                f"{MAX_EXPRESSION_CHARS}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
        _refuse_private(tree)
        stack: list[tuple[ast.AST, str]] = [(tree.body, _VALUE)]
        while stack:  # iterative: a long chain of operators cannot overflow the stack
            node, role = stack.pop()
            # Reversed so children are checked left to right: the first offence is reported.
            stack.extend(reversed(_check_node(node, role, variables)))
        return compile(tree, "<graph expression>", "eval")
    except SyntaxError as exc:
        raise RefusedExpression(f"not a Python expression: {exc.msg}") from None
    except (MemoryError, RecursionError):  # CPython's parser and compiler on absurd nesting
        raise RefusedExpression("the expression is nested too deeply") from None


def _refuse_private(tree: ast.AST) -> None:
    """Refuse any name or attribute starting with ``_``: the way out of every sandbox."""
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(node, ast.keyword):
            name = node.arg
        if name is not None and name.startswith("_"):
            raise RefusedExpression(f"'{name}' is not allowed: private and dunder names and "
                                    f"attributes are refused")


def _check_node(node: ast.AST, role: str, variables: set[str]) -> list[tuple[ast.AST, str]]:
    """Refuse ``node`` unless allowed in ``role``; return its children with their roles."""
    if role == _CALLEE:
        return _check_callee(node)
    if role == _LITERAL:
        return _check_literal(node)
    if role == _INDEX:
        return _check_index(node)
    return _check_value(node, variables)


def _check_value(node: ast.AST, variables: set[str]) -> list[tuple[ast.AST, str]]:
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise RefusedExpression(f"constant {node.value!r} is not allowed here; only numbers")
        return []
    if isinstance(node, ast.Name):
        _check_name(node.id, variables)
        return []
    if isinstance(node, ast.BinOp):
        return _check_binop(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        return [(node.operand, _VALUE)]
    if isinstance(node, ast.Call):
        return _check_call(node)
    if isinstance(node, ast.Attribute):
        if node.attr not in TENSOR_PROPERTIES:
            raise RefusedExpression(f"attribute '{node.attr}' is not allowed here (the only "
                                    f"property is .T; methods must be called)")
        return [(node.value, _VALUE)]
    if isinstance(node, ast.Subscript):
        return [(node.value, _VALUE), (node.slice, _INDEX)]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [(e, _VALUE) for e in node.elts]
    raise _refused(node)


def _check_name(name: str, variables: set[str]) -> None:
    if name in variables:
        return
    if name in _MODULES:
        raise RefusedExpression(f"'{name}' can only be used to call its functions, "
                                f"e.g. {name}.tanh(x)")
    raise RefusedExpression(f"name '{name}' is not defined: declare it with --var {name}=SHAPE"
                            f" (declared: {', '.join(sorted(variables)) or 'none'})")


def _check_binop(node: ast.BinOp) -> list[tuple[ast.AST, str]]:
    symbol = _BINARY.get(type(node.op))
    if symbol is None:
        raise RefusedExpression(f"operator {type(node.op).__name__} is not allowed; "
                                f"use one of {' '.join(_BINARY.values())}")
    for side in (node.left, node.right):
        if isinstance(side, (ast.Tuple, ast.List)):
            raise RefusedExpression(f"'{symbol}' on a list or tuple is not allowed")
    # Arithmetic between constants alone (10**10**10) would run on Python ints before
    # any tensor is involved: it is never needed, and can hang the interpreter.
    if not any(_mentions_name(side) for side in (node.left, node.right)):
        raise RefusedExpression(f"'{symbol}' between constants only is not allowed; write the "
                                f"number itself")
    return [(node.left, _VALUE), (node.right, _VALUE)]


def _mentions_name(node: ast.AST) -> bool:
    """Whether ``node`` names anything: names themselves are checked on their own."""
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _check_call(node: ast.Call) -> list[tuple[ast.AST, str]]:
    children: list[tuple[ast.AST, str]] = [(node.func, _CALLEE)]
    children += [(a, _VALUE) for a in node.args]  # a Starred argument is refused there
    for kw in node.keywords:
        if kw.arg is None:
            raise RefusedExpression("'**' keyword unpacking is not allowed")
        children.append((kw.value, _LITERAL))
    return children


def _check_callee(node: ast.AST) -> list[tuple[ast.AST, str]]:
    if isinstance(node, ast.Name):
        raise RefusedExpression(f"calling '{node.id}' is not allowed; call Tensor methods "
                                f"(x.tanh()) or ag.* / F.* functions")
    if not isinstance(node, ast.Attribute):
        raise _refused(node)
    base = node.value
    if isinstance(base, ast.Name) and base.id in MODULE_FUNCTIONS:
        allowed = MODULE_FUNCTIONS[base.id]
        if node.attr not in allowed:
            raise RefusedExpression(f"{base.id}.{node.attr} is not allowed; allowed "
                                    f"{base.id}.* functions: {', '.join(sorted(allowed))}")
        return []
    if node.attr not in TENSOR_METHODS:
        raise RefusedExpression(f"method '{node.attr}' is not allowed; allowed Tensor "
                                f"methods: {', '.join(sorted(TENSOR_METHODS))}")
    return [(base, _VALUE)]


def _check_literal(node: ast.AST) -> list[tuple[ast.AST, str]]:
    """Keyword values: numbers, strings, True/False/None, tuples of them (axis=(0, 1))."""
    if isinstance(node, ast.Constant) and (node.value is None or
                                           type(node.value) in (int, float, str, bool)):
        return []
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        return []
    if isinstance(node, (ast.Tuple, ast.List)):
        return [(e, _LITERAL) for e in node.elts]
    raise RefusedExpression("keyword arguments must be constants (numbers, strings, None, "
                            "or tuples of them)")


def _check_index(node: ast.AST) -> list[tuple[ast.AST, str]]:
    """Subscripts: integer constants, None, ..., slices of integers, tuples of those."""
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis
                                           or type(node.value) is int):
        return []
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return []
    if isinstance(node, ast.Slice):
        return [(part, _INDEX) for part in (node.lower, node.upper, node.step)
                if part is not None]
    if isinstance(node, ast.Tuple):
        return [(e, _INDEX) for e in node.elts]
    raise RefusedExpression("indexes must be integer constants or slices of them, e.g. x[0, 1:3]")


def _refused(node: ast.AST) -> RefusedExpression:
    names = {ast.Lambda: "lambda", ast.ListComp: "a list comprehension",
             ast.GeneratorExp: "a generator expression", ast.DictComp: "a dict comprehension",
             ast.SetComp: "a set comprehension", ast.NamedExpr: "':='",
             ast.Compare: "a comparison", ast.IfExp: "'if ... else'", ast.Dict: "a dict",
             ast.BoolOp: "'and'/'or'", ast.Starred: "'*' unpacking", ast.JoinedStr: "an f-string"}
    what = names.get(type(node), f"{type(node).__name__} ({ast.unparse(node)[:40]!r})")
    return RefusedExpression(f"{what} is not allowed in a graph expression; {_ALLOWED_TEXT}")


# ---------------------------------------------------------------------------------
# Variables, evaluation, output


def parse_variables(specs: list[str], seed: int) -> dict[str, Tensor]:
    """``["x=3,4", "b=2", "s="]`` -> seeded standard-normal tensors of shapes (3, 4), (2,), ()
    that require grad and carry their variable's name."""
    rng = np.random.default_rng(seed)
    variables: dict[str, Tensor] = {}
    total = 0  # elements over all variables, checked before each is drawn
    for spec in specs:
        name, shape = _parse_spec(spec)
        if name in variables:
            raise RefusedExpression(f"--var {spec!r}: variable '{name}' is declared twice")
        # math.prod on Python ints: np.prod wraps around (4294967296**2 gives 0 in int64).
        total += math.prod(shape)
        if total > MAX_ELEMENTS:
            raise RefusedExpression(f"--var {spec!r}: {total:,} elements over all variables is "
                                    f"more than the {MAX_ELEMENTS} a graph needs")
        variables[name] = Tensor(rng.standard_normal(shape), requires_grad=True, name=name)
    return variables


def _parse_spec(spec: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = spec.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") \
            or name in _MODULES:
        raise RefusedExpression(f"--var {spec!r}: expected NAME=SHAPE with NAME a plain "
                                f"identifier other than ag and F, e.g. --var x=3,4")
    dims = dims.strip().strip("()")
    try:
        shape = tuple(int(d) for d in dims.split(",") if d.strip())
    except ValueError:
        shape = (0,)  # reported just below
    if any(n < 1 for n in shape):
        raise RefusedExpression(f"--var {spec!r}: the shape must be comma-separated positive "
                                f"integers (x=3,4; b=2; s= for a scalar)")
    return name, shape


def output_format(path: str, steps: bool = False) -> str:
    """The render format named by the output file's suffix (svg, png, pdf, dot; html
    for ``--steps``)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if steps and fmt != "html":
        raise RefusedExpression(f"-o {path!r}: --steps writes an HTML page; name the file "
                                f"with a .html suffix, e.g. -o steps.html")
    if not steps and fmt not in _FORMATS:
        raise RefusedExpression(f"-o {path!r}: the file suffix must be one of "
                                f"{', '.join('.' + f for f in _FORMATS)}")
    return fmt


def evaluate(code: CodeType, variables: dict[str, Tensor]) -> Tensor:
    """Evaluate code from :func:`parse_expression` over ``variables``, ``ag`` and ``F``,
    without builtins."""
    namespace: dict[str, Any] = {**_MODULES, **variables}
    result = eval(code, {"__builtins__": {}}, namespace)  # the tree passed the whitelist
    if not isinstance(result, Tensor):
        raise RefusedExpression(f"the expression must give a Tensor, got "
                                f"{type(result).__name__}")
    return result


# ---------------------------------------------------------------------------------
# Bounds: the output path, the graph's size, the time


def check_output(path: str, force: bool) -> None:
    """Refuse an ``-o`` path in a missing directory, through a symlink, or (without
    ``--force``) onto an existing file: before anything is evaluated."""
    target = Path(path)
    if not target.parent.is_dir():
        raise RefusedExpression(f"-o {path!r}: directory {str(target.parent)!r} does not exist; "
                                f"create it first")
    if target.is_symlink():
        raise RefusedExpression(f"-o {path!r} is a symbolic link; the graph is not written "
                                f"through links: give the file's real path")
    if target.exists() and not force:
        raise RefusedExpression(f"-o {path!r} already exists; pass --force to overwrite it")


def check_size(result: Tensor) -> int:
    """The number of ops recorded behind ``result``; RefusedExpression above MAX_OPS."""
    ops = len(engine.graph_nodes([result]))
    if ops > MAX_OPS:
        raise RefusedExpression(f"the expression records {ops:,} ops, more than the {MAX_OPS} "
                                f"a readable graph can hold; draw a smaller expression")
    return ops


class TimeLimitExceeded(BaseException):
    """The command ran longer than MAX_SECONDS (exit 2). Like KeyboardInterrupt, not an
    Exception: it arrives asynchronously, and no ``except Exception`` on the way (in
    evaluation, drawing or Graphviz) may take it for an error of its own."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimitExceeded in the body after ``seconds`` (SIGALRM, so only where signals
    can be delivered: the main thread on POSIX; elsewhere the body runs unbounded).
    A running ``dot`` subprocess is killed by ``subprocess`` when the exception arrives."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitExceeded(f"stopped after {seconds:g} s (the limit); draw a smaller "
                                f"expression or fewer, smaller variables")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_EDGE_LABEL = re.compile(r"^(\t\S+ -> \S+ \[)label=")


def cheap_layout(g: graphviz.Digraph, ops: int) -> None:
    """Keep ``dot``'s layout time near linear on graphs above LARGE_GRAPH_OPS ops.

    Measured on 60 chained additions (a leaf feeding every op): dot spent minutes in
    network simplex, most of it placing the operand-number edge labels, which dot lays
    out as extra nodes on every rank a long edge crosses. Head labels are drawn beside
    the edge's end instead, and ``nslimit``/``nslimit1`` cap the simplex iterations:
    under a second for the same graph, with the same nodes and numbers shown.
    """
    if ops <= LARGE_GRAPH_OPS:
        return
    g.graph_attr.update(nslimit="2", nslimit1="2")
    g.body[:] = [_EDGE_LABEL.sub(r"\1headlabel=", line) for line in g.body]


def _write(data: bytes, path: Path, force: bool) -> None:
    """Write ``data`` to ``path``, never through a symlink, replacing a file only if ``force``
    (O_EXCL: a file that appeared since :func:`check_output` is not overwritten either)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_TRUNC if force else os.O_EXCL
    fh = os.fdopen(os.open(path, flags, 0o666), "wb")
    try:
        with fh:
            fh.write(data)
    except BaseException:
        os.unlink(path)  # ours, opened without following links: a partial picture is worse
        raise


# Errors a valid expression can still raise while running: wrong shapes, bad axes, a
# method called on a number ("(2).exp()": AttributeError)...
_RUNTIME_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError,
                   RuntimeError, MemoryError)


def run(args: argparse.Namespace) -> int:
    """Draw the expression's graph into ``args.output``; returns the exit status."""
    try:
        with time_limit(MAX_SECONDS):
            return _run(args)
    except (RefusedExpression, TimeLimitExceeded) as exc:
        print(f"autograd-lite graph: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.expr is None:
        raise RefusedExpression("the expression EXPR is missing, e.g. autograd-lite graph "
                                "\"(x * x).sum()\" --var x=3")
    fmt = output_format(args.output, args.steps)
    if args.steps and args.check:
        raise RefusedExpression("--check draws checks on a graph and --steps writes the "
                                "step-through page instead of a graph: use one of them")
    check_output(args.output, args.force)
    variables = parse_variables(args.var, args.seed)
    code = parse_expression(args.expr, set(variables))
    try:
        result = evaluate(code, variables)
    except RefusedExpression:
        raise
    except _RUNTIME_ERRORS as exc:
        print(f"autograd-lite graph: evaluating {args.expr!r} failed: {type(exc).__name__}: "
              f"{exc}", file=sys.stderr)
        return 1
    ops = check_size(result)
    try:
        if args.steps:
            page = animate_backward(result if result.size == 1 else result.sum(),
                                    show_data=args.show_data)
            _write(page.html().encode("utf-8"), Path(args.output), args.force)
            print(f"wrote {args.output}")
            return 0
        if args.backward:
            result = result if result.size == 1 else result.sum()
            # --check reads the arrays the graph saved, which backward would free.
            result.backward(retain_graph=args.check)
        g = draw_graph(result, show_data=args.show_data, check=args.check)
        cheap_layout(g, ops)
        data = g.source.encode() if fmt in ("dot", "gv") else g.pipe(format=fmt)
        _write(data, Path(args.output), args.force)
    except (graphviz.ExecutableNotFound, OSError, *_RUNTIME_ERRORS) as exc:
        hint = (" (install Graphviz: sudo apt-get install graphviz, or write -o graph.dot)"
                if isinstance(exc, graphviz.ExecutableNotFound) else "")
        print(f"autograd-lite graph: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


def expression_from_extras(args: argparse.Namespace, extras: list[str]) -> list[str]:
    """An expression starting with ``-`` (``-x.sum()``) looks like an unknown option to
    argparse, which leaves it over; take it as EXPR when EXPR is missing. Returns what
    is still unrecognised."""
    if args.expr is None and extras and extras[0].startswith("-"):
        args.expr = extras[0]
        return extras[1:]
    return extras


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``graph`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "graph",
        help="render the computation graph of an expression (SVG/PNG/PDF/DOT)",
        description="Render the computation graph of EXPR over random tensors. "
                    + _ALLOWED_TEXT + ".",
        epilog='example: autograd-lite graph "(x @ W + b).tanh().sum()" --var x=3,4 '
               "--var W=4,2 --var b=2 --backward -o graph.svg",
    )
    parser.add_argument("expr", metavar="EXPR", nargs="?",
                        help="the expression, in Python syntax (one starting with '-' works "
                             "as it is, or after --)")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=SHAPE",
                        help="declare a random tensor that requires grad, e.g. x=3,4 (repeat)")
    parser.add_argument("-o", "--output", default="graph.svg",
                        help="output file; its suffix picks the format (default graph.svg); "
                             "its directory must exist; never written through a symlink")
    parser.add_argument("--force", action="store_true",
                        help="overwrite the output file if it exists")
    parser.add_argument("--backward", action="store_true",
                        help="run backward first (summing a non-scalar result) so grads show")
    parser.add_argument("--check", action="store_true",
                        help="compare each op's VJP with central differences; red = wrong")
    parser.add_argument("--steps", action="store_true",
                        help="write the step-through page of backward (-o steps.html) instead "
                             "of a graph")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random variables")
    parser.add_argument("--show-data", action="store_true",
                        help="show values and grads of every tensor, not only small ones")
    parser.set_defaults(func=run, unrecognized=expression_from_extras)
    return parser
