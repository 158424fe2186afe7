"""The text of every drawn node: tensors, constants, ops, check results, notes.

Numbers go through :mod:`autograd_lite.numbers` (4 significant digits; a non-zero never
reads 0). A tensor shows its value and grad when it has at most ``SMALL`` elements, or
always with ``show_data``; arrays above ``SHOW_DATA_MAX`` elements are shown by their
first and last 3 elements, which is also what a freed graph keeps of them
(``engine.Freed.preview``), so a label reads the same before and after backward.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import engine
from ..gradcheck import OpCheck
from ..numbers import format_array, format_number, format_preview, preview

SMALL = 6  # tensors with at most this many elements show their value and grad
SHOW_DATA_MAX = 64  # larger arrays are shown by their first and last elements


def plural(n: int, noun: str) -> str:
    """``1 op``, ``2 ops``, ``0 nodes``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def shape_text(shape: tuple) -> str:
    """``(3,4)``, ``(2,)``, ``()``: compact, as in "broadcast (3,1)→(3,4)"."""
    return "(" + ",".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def array_text(a: Any) -> str:
    """An array in full up to ``SHOW_DATA_MAX`` elements, else by its first and last ones."""
    arr = np.asarray(a)
    if arr.size > SHOW_DATA_MAX:
        return format_preview(*preview(arr))
    return format_array(arr, max_line_width=48)


def lines(*parts: str) -> str:
    """Label lines joined with DOT's centred line break (backslashes escaped)."""
    pieces = [p.replace("\\", "\\\\") for part in parts for p in part.split("\n")]
    return "\\n".join(pieces)


def _value_text(t: Any, show_data: bool) -> str | None:
    """The value line of a Tensor or ``engine.Freed`` summary, or None when not shown.

    A Freed summary keeps ``data`` for small arrays and a ``preview`` (first and last
    elements) for large ones; a summary from before that existed keeps neither.
    """
    size = int(np.prod(t.shape))
    if not (show_data or size <= SMALL):
        return None
    data = getattr(t, "data", None)
    if data is not None:
        return array_text(data)
    kept = getattr(t, "preview", None)
    if kept is None:
        return None
    first, last = kept if isinstance(kept, tuple) else np.array_split(np.asarray(kept), 2)
    return format_preview(first, last)


def tensor_label(t: Any, fallback: str, show_data: bool) -> str:
    """Name, shape and dtype; value and grad when small or ``show_data``.

    ``t`` is a Tensor or an ``engine.Freed`` summary of one.
    """
    parts = [t.name or fallback, f"{shape_text(t.shape)} {t.dtype}"]
    value = _value_text(t, show_data)
    if value is not None:
        parts.append("value " + value)
    grad = getattr(t, "grad", None)
    if grad is not None and (show_data or grad.size <= SMALL):
        parts.append("grad " + array_text(grad.data))
    return lines(*parts)


def constant_label(value: Any, show_data: bool) -> str:
    """A constant input: its value when small (or ``show_data``), shape and dtype."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return lines(param_text(value))
    if show_data or arr.size <= SMALL:
        return lines(array_text(arr), f"{shape_text(arr.shape)} {arr.dtype}")
    return lines("constant", f"{shape_text(arr.shape)} {arr.dtype}")


def param_text(v: Any) -> str:
    """A short display of an op parameter (slices as ``1:3``, arrays by dtype and shape)."""
    if isinstance(v, np.ndarray):
        return format_number(v) if v.ndim == 0 else f"{v.dtype}{shape_text(v.shape)}"
    if isinstance(v, (tuple, list)):
        inner = ", ".join(param_text(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts if v.step is not None else parts[:2])
    if v is Ellipsis:
        return "..."
    if isinstance(v, (float, np.floating, np.integer)) and not isinstance(v, bool):
        return format_number(v)
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


def _is_reduction(node: engine.Node) -> bool:
    # Ops the table has not classified yet ("other") are recognised by their params.
    kind = node.op.kind
    return kind == "reduction" or (kind == "other" and "keepdims" in node.params)


def _may_broadcast(node: engine.Node) -> bool:
    """Whether differing input shapes mean the op broadcast them. A contraction's
    inputs differ without broadcasting (an outer product (3,1) @ (1,4))."""
    kind = node.op.kind
    return kind == "elementwise" or (kind == "other" and node.op.name != "matmul")


def op_label(node: engine.Node, in_shapes: list, out_shape: tuple) -> str:
    """``matmul``, ``sum(axis=1)``, ``add (broadcast (3,1)→(3,4))``, a Function's name."""
    defaults = _defaults(node.op.forward)
    reduction = _is_reduction(node)
    shown = []
    for key, value in node.params.items():
        if key == "ctx" or _is_default(defaults, key, value):
            continue
        if reduction and key == "axes":
            if in_shapes and in_shapes[0] is not None and \
                    tuple(value) == tuple(range(len(in_shapes[0]))):
                continue  # over every axis: plain "sum"
            shown.append(f"axis={value[0] if len(value) == 1 else param_text(value)}")
        else:
            shown.append(f"{key}={param_text(value)}")
    text = node.op.name + (f"({', '.join(shown)})" if shown else "")
    broadcast = _broadcast_text(in_shapes, out_shape) if _may_broadcast(node) else ""
    return f"{text} ({broadcast})" if broadcast else text


def _broadcast_text(in_shapes: list, out_shape: tuple) -> str:
    """``broadcast (3,1)→(3,4)`` when array inputs of an n-ary op were broadcast."""
    shapes = [s for s in in_shapes if s is not None]  # Python numbers broadcast trivially
    if len(in_shapes) < 2 or not shapes:
        return ""
    try:
        if np.broadcast_shapes(*shapes) != tuple(out_shape):
            return ""
    except ValueError:  # shapes that do not broadcast: a joining op such as concatenate
        return ""
    moved = dict.fromkeys(f"{shape_text(s)}→{shape_text(out_shape)}"
                          for s in shapes if tuple(s) != tuple(out_shape))
    return "broadcast " + ", ".join(moved) if moved else ""


def check_text(check: OpCheck) -> str:
    """One line for a checked op: a check mark, or the error and where."""
    if check.status == "agrees":
        return "✓"
    if check.status == "unchecked":
        return f"not checked: {check.detail}"
    if check.detail:
        return f"✗ {check.detail}"
    return f"✗ rel err {format_number(check.rel_error)} (input {check.input_index})"


def bad_lines(bad: tuple) -> tuple[str, ...]:
    """The line a collapsed box or note adds when ops inside it have a wrong VJP."""
    if not bad:
        return ()
    names = ", ".join(dict.fromkeys(bad))
    return (f"✗ {plural(len(bad), 'op')} with a wrong VJP: {names}",)
