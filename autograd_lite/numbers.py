"""How numbers are written for people: ``Tensor.__repr__``, graph labels, the step-through.

One rule everywhere: 4 significant digits, scientific notation when the exponent is
below -4 or at least 4 (Python's ``g`` format), so a non-zero value never reads as 0
(``1e-05``, not ``0.``) and a large one keeps its magnitude (``1.235e+05``). Floats that
happen to be whole keep NumPy's trailing dot (``6.``) so they read as floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIGITS = 4
PREVIEW_ITEMS = 3  # a summarised array shows its first and last 3 elements


def format_number(x: Any) -> str:
    """One number: ``1.5``, ``-2.``, ``3.333e-05``, ``1.235e+05``, ``0.``, ``nan``, ``7``."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        return f"{complex(x):.{DIGITS}g}"
    value = float(x)
    text = f"{value:.{DIGITS}g}"
    if value == 0:
        text = "0"  # -0.0 is zero: no sign
    if text.lstrip("-").isdigit():
        text += "."
    return text


_FORMATTER = {"float_kind": format_number, "complex_kind": format_number}


def format_array(a: Any, threshold: int = 1000, max_line_width: int = 75, prefix: str = "") -> str:
    """An array in NumPy's layout with :func:`format_number` for each float.

    Arrays with more than ``threshold`` elements are summarised NumPy's way (the first
    and last 3 along each axis).
    """
    return np.array2string(np.asarray(a), separator=", ", formatter=_FORMATTER,
                           threshold=threshold, edgeitems=PREVIEW_ITEMS,
                           max_line_width=max_line_width, prefix=prefix)


def format_preview(first: Any, last: Any) -> str:
    """A large array by its first and last flat elements: ``[1., 2., 3., …, 7., 8., 9.]``."""
    items = [format_number(v) for v in np.asarray(first).reshape(-1)]
    items.append("…")
    items += [format_number(v) for v in np.asarray(last).reshape(-1)]
    return "[" + ", ".join(items) + "]"


def preview(a: Any) -> tuple[np.ndarray, np.ndarray]:
    """The first and last ``PREVIEW_ITEMS`` flat elements of ``a`` (copies)."""
    flat = np.asarray(a).reshape(-1)
    return flat[:PREVIEW_ITEMS].copy(), flat[-PREVIEW_ITEMS:].copy()
