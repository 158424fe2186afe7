"""Write the surface derived from the op table into the files people and tools read.

- ``autograd_lite/tensor.py``: Tensor's methods, operators and properties, one short
  delegating ``def`` each (so ``grep "def __add__"`` and type checkers see them), and the
  imports of the modules they delegate to;
- ``autograd_lite/__init__.py``: the ``ag.*`` re-exports and their ``__all__`` names;
- ``docs/API.md``: the reference of every function, method and NumPy function.

Each lives between ``# BEGIN GENERATED <what>`` and ``# END GENERATED <what>`` markers
(docs/API.md is generated whole). After adding or changing an entry run::

    python -m autograd_lite.ops.codegen          # rewrite the blocks
    python -m autograd_lite.ops.codegen --check  # exit 1 if any is stale (as the tests do)
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..compile import API_DOC
from ..tensor import Tensor
from . import FAMILIES, TABLE, _support
from .table import Entry, summary

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
COMMAND = "python -m autograd_lite.ops.codegen"
WIDTH = 100
# Names an annotation may use in tensor.py; any other annotation is written as Any.
_TYPE_NAMES = {"Any", "Tensor", "ArrayLike", "Sequence", "int", "float", "bool", "str",
               "None", "tuple", "list", "dict", "np"}
_SIMPLE_DEFAULTS = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Member:
    """One generated Tensor member: a method, an operator or a property."""

    name: str
    impl: Callable[..., Any]
    entry: Entry
    is_property: bool = False


def _family(entry: Entry) -> ModuleType:
    for family in FAMILIES:
        if any(e is entry for e in getattr(family, "ENTRIES", ())):
            return family
    raise LookupError(f"entry {entry.name!r} belongs to no module of FAMILIES")


def reference(obj: Callable[..., Any], entry: Entry) -> tuple[str, str]:
    """``(module, attribute)`` under which ``obj`` can be imported: a module-level name.

    Looks in the entry's family module first, then in ``obj.__module__``.
    """
    candidates = [_family(entry), sys.modules.get(getattr(obj, "__module__", ""), None)]
    for module in candidates:
        if module is None:
            continue
        names = [n for n, v in vars(module).items() if v is obj]
        if names:
            preferred = getattr(obj, "__name__", "")
            return module.__name__, preferred if preferred in names else sorted(names)[0]
    raise LookupError(
        f"entry {entry.name!r}: {obj!r} is not a module-level name of "
        f"{_family(entry).__name__}; bind it to one so the generated code can import it"
    )


def members() -> list[Member]:
    """Every Tensor member the table asks for, checked for clashes."""
    found: dict[str, Member] = {}
    for entry in TABLE:
        items = [Member(m, entry.function, entry) if isinstance(m, str)
                 else Member(m[0], m[1], entry) for m in entry.methods]
        items += [Member(name, impl, entry) for name, impl in entry.operators]
        items += [Member(name, impl, entry, is_property=True)
                  for name, impl in entry.properties]
        for item in items:
            other = found.get(item.name)
            if other is not None and other.impl is not item.impl:
                raise ValueError(f"Tensor.{item.name} is claimed by entries "
                                 f"{other.entry.name!r} and {entry.name!r}")
            found.setdefault(item.name, item)
    return list(found.values())


# ---- signatures ------------------------------------------------------------------------


def _annotation(ann: Any) -> str:
    """An annotation as tensor.py can spell it (Any when it names anything else)."""
    if ann is inspect.Parameter.empty:
        return ""
    text = ann if isinstance(ann, str) else inspect.formatannotation(ann)
    names = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", re.sub(r"\.[A-Za-z_0-9.]*", "", text))
    return text if all(n in _TYPE_NAMES for n in names) else "Any"


def _default(value: Any) -> str | None:
    """The source text of a default value, or None when it has no simple literal."""
    if isinstance(value, _SIMPLE_DEFAULTS) or isinstance(value, tuple) and all(
            isinstance(v, _SIMPLE_DEFAULTS) for v in value):
        return repr(value)
    return None


def signature(fn: Callable[..., Any]) -> tuple[list[str], list[str], str]:
    """``(parameters, call arguments, return annotation)`` of ``fn`` as source text, its
    first parameter (the tensor) becoming ``self``; a signature that cannot be written out
    becomes ``*args, **kwargs``."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]
    ret = _annotation(sig.return_annotation) or "Tensor"
    texts, args = ["self"], ["self"]
    star = False
    for p in params:
        ann = _annotation(p.annotation)
        typed = f"{p.name}: {ann}" if ann else p.name
        if p.kind is p.VAR_POSITIONAL:
            texts.append(f"*{typed}")
            args.append(f"*{p.name}")
            star = True
            continue
        if p.kind is p.VAR_KEYWORD:
            texts.append(f"**{typed}")
            args.append(f"**{p.name}")
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            texts.append("*")
            star = True
        if p.default is not p.empty:
            default = _default(p.default)
            if default is None:
                return ["self", "*args: Any", "**kwargs: Any"], ["self", "*args", "**kwargs"], ret
            typed += f" = {default}" if ann else f"={default}"
        texts.append(typed)
        args.append(f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name)
    if params and params[0].kind is params[0].POSITIONAL_ONLY:
        texts.insert(1 + sum(p.kind is p.POSITIONAL_ONLY for p in params), "/")
    return texts, args, ret


def _wrap_call(head: str, items: list[str], tail: str, indent: str) -> list[str]:
    """``head(item, item, ...)tail`` broken over lines of at most WIDTH characters."""
    lines: list[str] = []
    line = indent + head + "("
    pad = " " * len(line)
    for k, item in enumerate(items):
        piece = item + (", " if k < len(items) - 1 else ")" + tail)
        if len(line) + len(piece.rstrip()) > WIDTH and line.strip() != (head + "(").strip():
            lines.append(line.rstrip())
            line = pad
        line += piece
    if not items:
        line += ")" + tail
    lines.append(line)
    return lines


def _docstring(text: str, indent: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', "'''") or "(undocumented)"
    lines = textwrap.wrap(text, WIDTH - len(indent) - 6)
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(indent + line for line in lines[1:]), f'{indent}"""']


def _alias(module: str) -> str:
    """``autograd_lite.ops.arithmetic`` -> ``_ops_arithmetic``."""
    return "_" + module.split(".", 1)[1].replace(".", "_")


# ---- the blocks ------------------------------------------------------------------------


# Stands for the imports a method marked by `_support.records` uses (engine.apply, operand).
_RECORDING = "autograd_lite.ops._support"


def _recording_body(recorded: tuple, entry: Entry) -> tuple[str, list[str]]:
    """The body of a method marked by ``_support.records`` (its op applied directly, as
    the marked function does it: one frame fewer per operator call), and the module it
    names the op from."""
    op, form = recorded
    module, attr = reference(op, entry)
    target = f"{_alias(module)}.{attr}"
    pad = "        "
    if form == _support.UNARY:
        return module, [f"{pad}return _apply({target}, self)"]
    if form == _support.BINARY:
        return module, [f"{pad}if isinstance(other, Tensor):",
                        f"{pad}    return _apply({target}, self, other)",
                        f"{pad}return _apply({target}, self, _operand(other, self))"]
    if form == _support.REFLECTED:
        return module, [f"{pad}return _apply({target}, _operand(other, self), self)"]
    raise ValueError(f"entry {entry.name!r}: unknown recording form {form!r}")


def tensor_block() -> tuple[str, str]:
    """The class-body block of Tensor members and the module-level imports they use."""
    out: list[str] = []
    modules: set[str] = set()
    for m in members():
        module, attr = reference(m.impl, m.entry)
        modules.add(module)
        params, args, ret = signature(m.impl)
        if m.is_property:  # impl(self): a function's further parameters keep defaults
            params, args = params[:1], args[:1]
            out.append("    @property")
        out += _wrap_call(f"def {m.name}", params, f" -> {ret}:", "    ")
        out += _docstring(summary(m.impl), "        ")
        recorded = getattr(m.impl, "records", None)
        if recorded is not None and not m.is_property:
            op_module, body = _recording_body(recorded, m.entry)
            out += body
            modules.update((op_module, _RECORDING))
        else:
            out += _wrap_call(f"return {_alias(module)}.{attr}", args, "", "        ")
        out.append("")
    imports = []  # (module imported from, name, alias), sorted as ruff's isort wants them
    for mod in modules:
        if mod == _RECORDING:
            imports += [(".engine", "apply", "_apply"), (".ops._support", "operand", "_operand")]
            continue
        parent, _, leaf = mod.split(".", 1)[1].rpartition(".")
        imports.append((f".{parent}", leaf, _alias(mod)))
    lines = [f"from {frm} import {name} as {alias}  # noqa: E402"
             for frm, name, alias in sorted(imports)]
    return "\n".join(out).rstrip() + "\n", "\n".join(lines) + "\n"


def _exported(namespace: str) -> list[Entry]:
    return sorted((e for e in TABLE if e.namespace == namespace), key=lambda e: e.name)


def init_blocks() -> tuple[str, str]:
    """``from .ops.x import name as name`` for every ag.* entry, and their ``__all__``."""
    lines = ["# isort: off"]
    for entry in _exported("ag"):
        module, attr = reference(entry.function, entry)
        lines.append(f"from .{module.split('.', 1)[1]} import {attr} as {entry.name}")
    lines.append("# isort: on")
    body = ", ".join(f'"{e.name}"' for e in _exported("ag"))
    names = ["__all__ += [", *("    " + line for line in textwrap.wrap(body, WIDTH - 4)), "]"]
    return "\n".join(lines) + "\n", "\n".join(names) + "\n"


def _plain_signature(fn: Callable[..., Any], drop_first: bool) -> str:
    """``fn``'s parameters without annotations (``x, axis=None, *, dim=None``)."""
    params = list(inspect.signature(fn).parameters.values())[1 if drop_first else 0:]
    bare = inspect.Signature([p.replace(annotation=p.empty) for p in params])
    return str(bare)[1:-1]


def _markdown(text: str) -> str:
    return text.replace("``", "`")


def api_doc() -> str:
    """docs/API.md: every generated name with its signature and one-line doc."""
    lines = [
        "# autograd_lite reference",
        "",
        f"Generated from the op table (`autograd_lite/ops/*.py`, `ENTRIES`) by `{COMMAND}`;",
        "a test fails when it is stale. Tensor methods follow PyTorch's names, `ag.*`",
        "functions and NumPy functions applied to Tensors follow NumPy. Every function",
        "that takes `axis=`/`keepdims=` also takes `dim=`/`keepdim=`. The rest of the API",
        "(`nn`, `optim`, transforms, graphs) is described in the [README](../README.md).",
        "",
    ]
    for namespace, title in (("ag", "Functions: `ag.*`"), ("linalg", "`ag.linalg.*`")):
        entries = _exported(namespace)
        if not entries:
            continue
        lines += [f"## {title}", ""]
        prefix = "ag." if namespace == "ag" else "ag.linalg."
        for e in entries:
            lines.append(f"- `{prefix}{e.name}({_plain_signature(e.function, False)})`: "
                         f"{_markdown(e.doc)}")
        lines.append("")
    lines += ["## Tensor methods, operators and properties", ""]
    for m in sorted(members(), key=lambda m: (m.name.startswith("__"), m.name)):
        call = "" if m.is_property else f"({_plain_signature(m.impl, True)})"
        lines.append(f"- `t.{m.name}{call}`: {_markdown(summary(m.impl))}")
    lines += ["", "## Tensor: the data model (`autograd_lite/tensor.py`)", ""]
    generated = {m.name for m in members()}
    for name, value in sorted(vars(Tensor).items()):
        if name.startswith("_") or name in generated or not summary(value):
            continue
        call = f"({_plain_signature(value, True)})" if callable(value) else ""
        lines.append(f"- `t.{name}{call}`: {_markdown(summary(value))}")
    lines += ["", "## NumPy functions on Tensors", "",
              "Each returns a recorded Tensor when given Tensors (mixed freely with arrays "
              "and numbers);", "any other NumPy function raises `TypeError` naming it "
              "(use `t.data` for raw values).", ""]
    for name, entry in sorted(numpy_names().items()):
        lines.append(f"- `np.{name}`: as `{_public_name(entry)}`")
    lines += ["", "## Compile a training step: `ag.compile`", "", *API_DOC.splitlines()]
    return "\n".join(lines) + "\n"


def _public_name(entry: Entry) -> str:
    return {"ag": "ag.", "linalg": "ag.linalg."}.get(entry.namespace, "Tensor.") + entry.name


def numpy_names() -> dict[str, Entry]:
    """``np.<name>`` -> the entry implementing it."""
    return {fn.__name__: e for e in TABLE for fn in e.numpy}


# ---- writing and checking --------------------------------------------------------------


def _replace(text: str, what: str, block: str, path: Path) -> str:
    begin = f"# BEGIN GENERATED {what} ({COMMAND}; do not edit)"
    end = f"# END GENERATED {what}"
    pattern = re.compile(rf"^([ \t]*){re.escape(begin)}\n.*?^[ \t]*{re.escape(end)}\n",
                         re.S | re.M)
    match = pattern.search(text)
    if match is None:
        raise LookupError(f"{path}: markers '{begin}' ... '{end}' not found")
    indent = match.group(1)
    return text[:match.start()] + f"{indent}{begin}\n{block}{indent}{end}\n" + \
        text[match.end():]


def generated() -> dict[Path, str]:
    """Every generated file's full new text."""
    tensor_path, init_path = PACKAGE / "tensor.py", PACKAGE / "__init__.py"
    methods, imports = tensor_block()
    tensor = _replace(tensor_path.read_text(), "Tensor methods", methods, tensor_path)
    tensor = _replace(tensor, "imports", imports, tensor_path)
    imports, names = init_blocks()
    init = _replace(init_path.read_text(), "ag functions", imports, init_path)
    init = _replace(init, "ag __all__", names, init_path)
    return {tensor_path: tensor, init_path: init, ROOT / "docs" / "API.md": api_doc()}


def stale() -> list[Path]:
    """The generated files whose text differs from what the table gives."""
    return [p for p, text in generated().items()
            if not p.exists() or p.read_text() != text]


def _changed() -> Iterator[Path]:
    for path, text in generated().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            yield path


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated blocks (or, with --check, report the stale ones)."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale()
        for p in paths:
            print(f"stale: {p.relative_to(ROOT)} (run {COMMAND})")
        return 1 if paths else 0
    for p in _changed():
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
