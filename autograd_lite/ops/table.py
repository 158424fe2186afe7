"""The op table: one :class:`Entry` per public function, the single source of truth.

Each op family module (``ops/elementwise.py``, ``ops/reductions.py`` ...) defines its
primitives (a NumPy ``forward`` beside its ``vjp``, see ``engine.primitive``), the public
functions built on them (NumPy's signatures: ``ag.sum(x, axis=None, keepdims=False)``),
and at its end a list ``ENTRIES`` describing how each public function is exposed and
tested. Everything else is derived from those lists: the Tensor methods (a generated
block in ``tensor.py``), the ``ag.*`` functions and ``__all__``, the NumPy dispatch, the
``graph`` command's allow-list, ``docs/API.md`` and the generated per-op tests.

Adding an op is: its primitive (forward + VJP) if it needs one, its public function, and
one ``Entry``; then ``python -m autograd_lite.ops.codegen`` rewrites the generated code
(a test fails until it has run). A new family module joins ``FAMILIES`` in
``ops/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Method = str | tuple[str, Callable[..., Any]]


@dataclass(frozen=True)
class Lit:
    """A literal argument of a test sample (an int axis, a shape, an index array...)."""

    value: Any


@dataclass(frozen=True)
class Sample:
    """One test call of an entry's function.

    ``args``: per positional argument either a shape (a tuple of ints: a random float64
    Tensor drawn from ``domain``), a list of shapes (a list of Tensors: ``concatenate``),
    or ``Lit(value)`` passed as it is. ``kwargs`` are passed as they are. ``domain``: one
    name for every Tensor argument or one per Tensor argument, from ``DOMAINS`` of the
    generated tests: "real", "pos" (0.5..2), "away" (|x| in 0.5..2), "unit" (-0.9..0.9),
    "gt1" (1.1..3), "small" (-1.5..1.5), "distinct" (no ties, wide gaps), "spd"
    (symmetric positive definite matrices, square last two axes).
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    domain: str | tuple[str, ...] = "real"


@dataclass(frozen=True)
class Entry:
    """How one public function is exposed and tested.

    - ``name``: the ``ag.<name>`` function (``ag.linalg.<name>`` when ``namespace`` is
      "linalg"); ``function`` is it, with NumPy's signature, accepting Tensors, arrays
      and numbers.
    - ``methods``: Tensor methods. A plain name means ``t.<name>(*a, **k)`` is
      ``function(t, *a, **k)``; ``(name, impl)`` gives a method with its own (PyTorch)
      signature, ``impl(self, ...)``. ``operators``: dunder methods, the same way
      (``("__add__", add_method)``).
    - ``numpy``: the NumPy functions or ufuncs it implements (``np.sin``); the dispatch
      calls ``function`` with the same arguments.
    - ``namespace``: "ag" (``ag.<name>``), "linalg" (``ag.linalg.<name>``) or "Tensor"
      (no module function: only the methods, operators and properties expose it).
    - ``properties``: read-only Tensor properties, ``(name, impl)`` with ``impl(self)``
      (``T``).
    - ``torch``: reference for parity tests, ``torch_ref(torch, *args, **kwargs)`` with
      the sample's arguments as float64 torch tensors (literals as given), returning a
      torch tensor; None where PyTorch has no equivalent.
    - ``samples``: test calls; every differentiable entry needs at least one, with
      broadcast shapes where the function broadcasts.
    - ``differentiable``: False for functions whose result carries no gradient (argmax,
      floor_divide, comparisons, creation); ``second_order``: False where the gradient
      is not itself differentiable (the generated tests then check first order only).
    """

    name: str
    function: Callable[..., Any]
    methods: tuple[Method, ...] = ()
    operators: tuple[tuple[str, Callable[..., Any]], ...] = ()
    numpy: tuple[Any, ...] = ()
    torch: Callable[..., Any] | None = None
    samples: tuple[Sample, ...] = ()
    differentiable: bool = True
    second_order: bool = True
    namespace: str = "ag"
    properties: tuple[tuple[str, Callable[..., Any]], ...] = ()

    @property
    def doc(self) -> str:
        """The first paragraph of the function's docstring, on one line."""
        return summary(self.function)


def summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring joined into one line ("" without one)."""
    paragraph = (obj.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())
