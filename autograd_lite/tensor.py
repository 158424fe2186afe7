"""The data model: a Tensor wraps an ndarray and, when recorded, the Node that made it.

No math lives here: differentiable methods and operators are installed by the op
modules in ``autograd_lite.ops`` next to their VJPs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import engine, hooks
from .numbers import format_array


def _float_dtype(data: np.ndarray, dtype: Any) -> np.ndarray:
    """Apply the construction dtype rule: floats keep theirs, the rest become float64."""
    if data.dtype.kind not in "biufc":
        raise TypeError(f"Tensor: data must be numeric, got {data.dtype} "
                        f"({np.asarray(data).ravel()[:1].tolist()} ...)")
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if data.dtype.kind in "fc":
        return np.array(data)
    return np.array(data, dtype=np.float64)


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: ``data`` is anything
    ``np.asarray`` takes (copied, like ``torch.tensor``). Floating data keeps its
    dtype; ints, bools and lists of them become float64 unless ``dtype`` says
    otherwise. ``requires_grad=True`` needs a floating dtype.
    """

    __slots__ = ("data", "grad", "requires_grad", "node", "name", "__weakref__")
    __array_ufunc__ = None  # so ndarray <op> Tensor defers to Tensor's reflected operator
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        try:
            arr = np.asarray(data)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"Tensor: cannot make an array of this data: {exc}") from None
        arr = _float_dtype(arr, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: requires_grad=True needs a floating dtype, got {arr.dtype}; "
                f"pass dtype=np.float64 (or float32)"
            )
        self.data = arr
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.node: engine.Node | None = None
        self.name = name

    @classmethod
    def _make(cls, data: Any, node: engine.Node | None) -> Tensor:
        """Fast internal constructor for op results: no copy, no dtype policy."""
        t = object.__new__(cls)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.requires_grad = node is not None
        t.node = node
        t.name = None
        return t

    # ---- attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created, or detached)."""
        return self.node is None

    @property
    def grad_fn(self) -> engine.Node | None:
        """The recorded op that produced this tensor (None for leaves)."""
        return self.node

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __hash__(self) -> int:  # tensors compare elementwise, but stay usable as dict keys
        return id(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                f"use .data.any() or .data.all()"
            )
        return bool(self.data)

    # ---- NumPy interop ------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy; read-only while a live graph saved it)."""
        return self.data

    def item(self) -> float:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): tensor of shape {self.shape} has {self.size} elements")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as nested Python lists."""
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __repr__(self) -> str:
        body = format_array(self.data, threshold=20, prefix="tensor(")
        extras = [f"shape={self.shape}"]
        if self.data.dtype != np.float64:
            extras.append(f"dtype={self.data.dtype}")
        if self.node is not None:
            extras.append(f"grad_fn=<{self.node.op.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"tensor({body}, {', '.join(extras)})"

    # ---- graph housekeeping -------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad`` (shape ``self.shape``) defaults to 1 for a single-element tensor.
        ``retain_graph`` defaults to ``create_graph``; without it the graph's saved
        arrays are freed and a second backward raises ``RuntimeError``.
        """
        engine.backward(self, grad, retain_graph, create_graph)

    def backward_steps(self, grad: Any = None, retain_graph: bool | None = None,
                       create_graph: bool = False) -> Iterator[engine.Step]:
        """``backward()`` one VJP at a time: yields a :class:`Step` per applied op.

        Running it to the end leaves exactly the gradients ``backward()`` would.
        """
        return engine.backward_steps(self, grad, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's array, cut from the graph."""
        return Tensor._make(self.data, None)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if not flag and self.node is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() to cut it from "
                "the graph"
            )
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: needs a floating dtype, got {self.data.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        """Clear ``.grad`` (set it to None)."""
        self.grad = None

    # ---- gradient hooks (the engine keeps them, so tensors without hooks pay nothing) --
    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad`` after backward (accumulating, as
        PyTorch does); leaves keep theirs anyway."""
        hooks.retain_grad(self)

    def register_hook(self, fn: Any) -> hooks.RemovableHandle:
        """Call ``fn(grad)`` when this tensor's gradient is complete during backward; a
        non-None return value replaces the gradient. Returns a handle with ``.remove()``."""
        return hooks.register_hook(self, fn)


engine.Tensor = Tensor


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """Same as ``Tensor(...)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
