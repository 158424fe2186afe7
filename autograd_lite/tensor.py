"""The data model: a Tensor wraps an ndarray and, when recorded, the Node that made it.

No math lives here: the differentiable methods and operators are one-line delegations
to the op modules in ``autograd_lite.ops`` (forward beside VJP), generated from the op
table into the marked block below (``python -m autograd_lite.ops.codegen``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, Union

import numpy as np

from . import engine

# What ops accept wherever a tensor is expected: a Tensor, an array, a number, nested lists.
ArrayLike = Union["Tensor", np.ndarray, np.generic, float, int, Sequence[Any]]


class Size(int):
    """``t.size``: NumPy's element count (an int), which refuses PyTorch's ``t.size()``."""

    __slots__ = ()

    def __call__(self, *dim: Any) -> NoReturn:
        raise TypeError(
            f"t.size is NumPy's attribute, the number of elements ({int(self)}), not a "
            f"method: for PyTorch's t.size() use t.shape, and t.numel() for the count"
        )


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
    def size(self) -> Size:
        """Number of elements (an int, as NumPy's; ``t.size()`` explains itself)."""
        return Size(self.data.size)

    def numel(self) -> int:
        """Number of elements, as ``torch.Tensor.numel``."""
        return self.data.size

    def nelement(self) -> int:
        """Number of elements (``numel``)."""
        return self.data.size

    def dim(self) -> int:
        """Number of axes, as ``torch.Tensor.dim``."""
        return self.data.ndim

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

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(t)``, ``ndarray * t``: the op table's function, recorded (see
        ``numpy_dispatch``); with an ndarray ``out=``, raw values, not recorded."""
        return _numpy_dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.sum(t, axis=0)``, ``np.concatenate([t, a])``: the op table's function."""
        return _numpy_dispatch.array_function(func, args, kwargs)

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
        body = np.array2string(self.data, separator=", ", precision=4, threshold=20,
                               prefix="tensor(")
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

    def zero_(self) -> Tensor:
        """Fill with zeros in place and return self (on ``.grad``, or under ``no_grad``).

        An array a live graph saved stays as it was: this tensor gets a new one.
        """
        if self.requires_grad and engine.mode.enabled:
            raise RuntimeError(
                "zero_(): in place on a tensor that requires grad while recording would cut "
                "it from the graph; do it inside `with ag.no_grad():`"
            )
        if self.data.flags.writeable:
            self.data.fill(0)
        else:
            self.data = np.zeros_like(self.data)
        return self

    # BEGIN GENERATED Tensor methods (python -m autograd_lite.ops.codegen; do not edit)
    def add(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 + x2`` (broadcast)."""
        return _ops_arithmetic.add(self, x2)

    def __add__(self, other: ArrayLike) -> Tensor:
        """``self + other`` (broadcasting)."""
        return _ops_arithmetic.add_method(self, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        """``other + self``."""
        return _ops_arithmetic.radd_method(self, other)

    def __iadd__(self, other: ArrayLike) -> Tensor:
        """In-place ``+=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.iadd_method(self, other)

    def sub(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 - x2`` (broadcast)."""
        return _ops_arithmetic.subtract(self, x2)

    def __sub__(self, other: ArrayLike) -> Tensor:
        """``self - other`` (broadcasting)."""
        return _ops_arithmetic.sub_method(self, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        """``other - self``."""
        return _ops_arithmetic.rsub_method(self, other)

    def __isub__(self, other: ArrayLike) -> Tensor:
        """In-place ``-=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.isub_method(self, other)

    def mul(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 * x2`` (broadcast)."""
        return _ops_arithmetic.multiply(self, x2)

    def __mul__(self, other: ArrayLike) -> Tensor:
        """``self * other`` (broadcasting)."""
        return _ops_arithmetic.mul_method(self, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        """``other * self``."""
        return _ops_arithmetic.rmul_method(self, other)

    def __imul__(self, other: ArrayLike) -> Tensor:
        """In-place ``*=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.imul_method(self, other)

    def div(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 / x2`` (broadcast)."""
        return _ops_arithmetic.divide(self, x2)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        """``self / other`` (broadcasting)."""
        return _ops_arithmetic.div_method(self, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        """``other / self``."""
        return _ops_arithmetic.rdiv_method(self, other)

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        """In-place ``/=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.idiv_method(self, other)

    def neg(self) -> Tensor:
        """Elementwise ``-x``."""
        return _ops_arithmetic.negative(self)

    def __neg__(self) -> Tensor:
        """``-self``."""
        return _ops_arithmetic.neg_method(self)

    def pow(self, other: ArrayLike) -> Tensor:
        """``self ** other`` (broadcasting; a number exponent records the cheaper scalar op)."""
        return _ops_arithmetic.pow_method(self, other)

    def __pow__(self, other: ArrayLike) -> Tensor:
        """``self ** other`` (broadcasting; a number exponent records the cheaper scalar op)."""
        return _ops_arithmetic.pow_method(self, other)

    def __rpow__(self, other: ArrayLike) -> Tensor:
        """``other ** self``."""
        return _ops_arithmetic.rpow_method(self, other)

    def matmul(self, x2: ArrayLike) -> Tensor:
        """Matrix product ``x1 @ x2``: 1-D, 2-D and batched (..., n, k) @ (..., k, m)."""
        return _ops_arithmetic.matmul(self, x2)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        """``self @ other`` (1-D, 2-D and batched, as np.matmul)."""
        return _ops_arithmetic.matmul_method(self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        """``other @ self``."""
        return _ops_arithmetic.rmatmul_method(self, other)

    def __lt__(self, other: Any) -> Any:
        """Elementwise ``self < other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.lt_method(self, other)

    def __le__(self, other: Any) -> Any:
        """Elementwise ``self <= other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.le_method(self, other)

    def __gt__(self, other: Any) -> Any:
        """Elementwise ``self > other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.gt_method(self, other)

    def __ge__(self, other: Any) -> Any:
        """Elementwise ``self >= other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.ge_method(self, other)

    def __eq__(self, other: Any) -> Any:
        """Elementwise ``self == other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.eq_method(self, other)

    def __ne__(self, other: Any) -> Any:
        """Elementwise ``self != other`` as a boolean Tensor (no gradient)."""
        return _ops_arithmetic.ne_method(self, other)

    def sin(self) -> Tensor:
        """Elementwise sine; shape of ``x``."""
        return _ops_elementwise.sin(self)

    def cos(self) -> Tensor:
        """Elementwise cosine; shape of ``x``."""
        return _ops_elementwise.cos(self)

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return _ops_elementwise.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural log (log(0) = -inf, gradient inf)."""
        return _ops_elementwise.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root (gradient inf at 0)."""
        return _ops_elementwise.sqrt(self)

    def abs(self) -> Tensor:
        """Elementwise |x| (gradient 0 at 0)."""
        return _ops_elementwise.abs(self)

    def __abs__(self) -> Tensor:
        """Elementwise |x| (gradient 0 at 0)."""
        return _ops_elementwise.abs(self)

    def tanh(self) -> Tensor:
        """Elementwise tanh."""
        return _ops_elementwise.tanh(self)

    def sigmoid(self) -> Tensor:
        """Elementwise 1 / (1 + e**-x), stable for large |x|."""
        return _ops_elementwise.sigmoid(self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0) (gradient 0 at 0)."""
        return _ops_elementwise.relu(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        """Values limited to ``[min, max]`` (either may be None), as ``torch.clamp``."""
        return _ops_elementwise.clamp_method(self, min, max)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Values limited to ``[min, max]`` (either may be None), as ``torch.clamp``."""
        return _ops_elementwise.clamp_method(self, min, max)

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        """Sum over ``axis`` (None: all; int; tuple); ``keepdims`` keeps them as size 1."""
        return _ops_reductions.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        """Mean over ``axis`` (None: all; int; tuple); ``keepdims`` keeps them as size 1."""
        return _ops_reductions.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        """Max over ``axis`` (values only, as ``torch.amax``); ties share the gradient."""
        return _ops_reductions.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        """Min over ``axis`` (values only, as ``torch.amin``); ties share the gradient."""
        return _ops_reductions.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None,
            keepdim: bool | None = None, unbiased: bool | None = None,
            correction: int | None = None) -> Tensor:
        """Variance over ``axis`` with ``ddof`` (PyTorch's ``unbiased``/``correction``)."""
        return _ops_reductions.var(self, axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                                   unbiased=unbiased, correction=correction)

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Softmax along ``axis`` (default the last; stable for large logits); shape of ``x``."""
        return _ops_reductions.softmax(self, axis, dim=dim)

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Log-softmax along ``axis`` (default the last; stable); shape of ``x``."""
        return _ops_reductions.log_softmax(self, axis, dim=dim)

    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return _ops_shape.reshape_method(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """The same values in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return _ops_shape.reshape_method(self, *shape)

    def transpose(self, *dims: Any) -> Tensor:
        """No dims: axes reversed; two: those axes swapped (PyTorch); one per axis: permuted."""
        return _ops_shape.transpose_method(self, *dims)

    def permute(self, *dims: Any) -> Tensor:
        """Axes permuted by ``dims`` (one entry per axis), as ``torch.permute``."""
        return _ops_shape.permute_method(self, *dims)

    def t(self) -> Tensor:
        """The transpose of a tensor of at most 2 axes, as ``torch.Tensor.t``."""
        return _ops_shape.t_method(self)

    @property
    def T(self) -> Tensor:
        """NumPy's transpose: axes permuted by ``axes`` (None: reversed)."""
        return _ops_shape.transpose(self)

    def flatten(self) -> Tensor:
        """A 1-D view of all elements."""
        return _ops_shape.flatten(self)

    def astype(self, dtype: Any) -> Tensor:
        """A copy with ``dtype``; the gradient is cast back to this tensor's dtype."""
        return _ops_shape.astype(self, dtype)

    def float(self) -> Tensor:
        """Cast to float32 (differentiable), as ``torch.Tensor.float``."""
        return _ops_shape.float_method(self)

    def double(self) -> Tensor:
        """Cast to float64 (differentiable), as ``torch.Tensor.double``."""
        return _ops_shape.double_method(self)

    def broadcast_to(self, *shape: Any) -> Tensor:
        """This tensor broadcast to ``shape``; the gradient sums back."""
        return _ops_shape.broadcast_to_method(self, *shape)

    def __getitem__(self, index: Any) -> Tensor:
        """``x[index]``: basic, integer-array and boolean-mask indexing."""
        return _ops_shape.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Refused: item assignment would change arrays saved for backward."""
        return _ops_shape.setitem_method(self, index, value)
    # END GENERATED Tensor methods


engine.set_tensor_type(Tensor)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """Same as ``Tensor(...)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


# The modules the generated methods delegate to. Imported last: they import this module.
from . import numpy_dispatch as _numpy_dispatch  # noqa: E402

# BEGIN GENERATED imports (python -m autograd_lite.ops.codegen; do not edit)
from .ops import arithmetic as _ops_arithmetic  # noqa: E402
from .ops import elementwise as _ops_elementwise  # noqa: E402
from .ops import reductions as _ops_reductions  # noqa: E402
from .ops import shape as _ops_shape  # noqa: E402
# END GENERATED imports
