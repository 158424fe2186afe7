"""The data model: a Tensor wraps an ndarray and, when recorded, the Node that made it.

No math lives here: the differentiable methods and operators are one-line delegations
to the op modules in ``autograd_lite.ops`` (forward beside VJP), generated from the op
table into the marked block below (``python -m autograd_lite.ops.codegen``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, Union

import numpy as np

from . import engine, hooks
from .numbers import format_array

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
        if engine.tracer is not None:  # ag.compile replays this conversion of an input
            engine.tracer.made(self, data, dtype)

    @classmethod
    def _make(cls, data: Any, node: engine.Node | None) -> Tensor:
        """Fast internal constructor for op results: no copy, no dtype policy."""
        t = object.__new__(cls)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.requires_grad = node is not None
        t.node = node
        t.name = None
        if engine.tracer is not None:  # ag.compile: a value computed outside the recorded ops
            engine.tracer.made(t, None, None)
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
        value = self.data.item()
        if engine.tracer is not None:  # ag.compile recomputes a returned item() each call
            engine.tracer.item(self, value)
        return value

    def tolist(self) -> Any:
        """The values as nested Python lists."""
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor's value, as PyTorch does for 0-d
        tensors; without a spec, the repr."""
        if spec and self.data.size == 1:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"format spec {spec!r} needs a tensor of one element, got shape "
                            f"{self.shape}; format t.item() or t.tolist()")
        return str(self)

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
        if isinstance(other, Tensor):
            return _apply(_ops_arithmetic.add_op, self, other)
        return _apply(_ops_arithmetic.add_op, self, _operand(other, self))

    def __radd__(self, other: ArrayLike) -> Tensor:
        """``other + self``."""
        return _apply(_ops_arithmetic.add_op, _operand(other, self), self)

    def __iadd__(self, other: ArrayLike) -> Tensor:
        """In-place ``+=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.iadd_method(self, other)

    def sub(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 - x2`` (broadcast)."""
        return _ops_arithmetic.subtract(self, x2)

    def __sub__(self, other: ArrayLike) -> Tensor:
        """``self - other`` (broadcasting)."""
        if isinstance(other, Tensor):
            return _apply(_ops_arithmetic.sub_op, self, other)
        return _apply(_ops_arithmetic.sub_op, self, _operand(other, self))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        """``other - self``."""
        return _apply(_ops_arithmetic.sub_op, _operand(other, self), self)

    def __isub__(self, other: ArrayLike) -> Tensor:
        """In-place ``-=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.isub_method(self, other)

    def mul(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 * x2`` (broadcast)."""
        return _ops_arithmetic.multiply(self, x2)

    def __mul__(self, other: ArrayLike) -> Tensor:
        """``self * other`` (broadcasting)."""
        if isinstance(other, Tensor):
            return _apply(_ops_arithmetic.mul_op, self, other)
        return _apply(_ops_arithmetic.mul_op, self, _operand(other, self))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        """``other * self``."""
        return _apply(_ops_arithmetic.mul_op, _operand(other, self), self)

    def __imul__(self, other: ArrayLike) -> Tensor:
        """In-place ``*=`` (out of place underneath; see inplace_method)."""
        return _ops_arithmetic.imul_method(self, other)

    def div(self, x2: ArrayLike) -> Tensor:
        """Elementwise ``x1 / x2`` (broadcast)."""
        return _ops_arithmetic.divide(self, x2)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        """``self / other`` (broadcasting)."""
        if isinstance(other, Tensor):
            return _apply(_ops_arithmetic.div_op, self, other)
        return _apply(_ops_arithmetic.div_op, self, _operand(other, self))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        """``other / self``."""
        return _apply(_ops_arithmetic.div_op, _operand(other, self), self)

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
        if isinstance(other, Tensor):
            return _apply(_ops_arithmetic.matmul_op, self, other)
        return _apply(_ops_arithmetic.matmul_op, self, _operand(other, self))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        """``other @ self``."""
        return _apply(_ops_arithmetic.matmul_op, _operand(other, self), self)

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
        return _apply(_ops_elementwise.exp_op, self)

    def log(self) -> Tensor:
        """Elementwise natural log (log(0) = -inf, gradient inf)."""
        return _apply(_ops_elementwise.log_op, self)

    def sqrt(self) -> Tensor:
        """Elementwise square root (gradient inf at 0)."""
        return _apply(_ops_elementwise.sqrt_op, self)

    def abs(self) -> Tensor:
        """Elementwise |x| (gradient 0 at 0)."""
        return _apply(_ops_elementwise.abs_op, self)

    def __abs__(self) -> Tensor:
        """Elementwise |x| (gradient 0 at 0)."""
        return _apply(_ops_elementwise.abs_op, self)

    def tanh(self) -> Tensor:
        """Elementwise tanh."""
        return _apply(_ops_elementwise.tanh_op, self)

    def sigmoid(self) -> Tensor:
        """Elementwise 1 / (1 + e**-x), stable for large |x|."""
        return _apply(_ops_elementwise.sigmoid_op, self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0) (gradient 0 at 0)."""
        return _apply(_ops_elementwise.relu_op, self)

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

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim..end_dim`` joined into one, as ``torch.flatten`` (by default all: a
        1-D view of every element; ``x.flatten(1)`` keeps the batch axis).
        """
        return _ops_shape.flatten(self, start_dim, end_dim)

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

    def tan(self) -> Tensor:
        """Elementwise tangent; shape of ``x``."""
        return _ops_unary.tan(self)

    def arcsin(self) -> Tensor:
        """Elementwise inverse sine (domain [-1, 1]); shape of ``x``."""
        return _ops_unary.arcsin(self)

    def asin(self) -> Tensor:
        """Elementwise inverse sine (domain [-1, 1]); shape of ``x``."""
        return _ops_unary.arcsin(self)

    def arccos(self) -> Tensor:
        """Elementwise inverse cosine (domain [-1, 1]); shape of ``x``."""
        return _ops_unary.arccos(self)

    def acos(self) -> Tensor:
        """Elementwise inverse cosine (domain [-1, 1]); shape of ``x``."""
        return _ops_unary.arccos(self)

    def arctan(self) -> Tensor:
        """Elementwise inverse tangent; shape of ``x``."""
        return _ops_unary.arctan(self)

    def atan(self) -> Tensor:
        """Elementwise inverse tangent; shape of ``x``."""
        return _ops_unary.arctan(self)

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine; shape of ``x``."""
        return _ops_unary.sinh(self)

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine; shape of ``x``."""
        return _ops_unary.cosh(self)

    def arcsinh(self) -> Tensor:
        """Elementwise inverse hyperbolic sine; shape of ``x``."""
        return _ops_unary.arcsinh(self)

    def asinh(self) -> Tensor:
        """Elementwise inverse hyperbolic sine; shape of ``x``."""
        return _ops_unary.arcsinh(self)

    def arccosh(self) -> Tensor:
        """Elementwise inverse hyperbolic cosine (domain x >= 1); shape of ``x``."""
        return _ops_unary.arccosh(self)

    def acosh(self) -> Tensor:
        """Elementwise inverse hyperbolic cosine (domain x >= 1); shape of ``x``."""
        return _ops_unary.arccosh(self)

    def arctanh(self) -> Tensor:
        """Elementwise inverse hyperbolic tangent (domain (-1, 1)); shape of ``x``."""
        return _ops_unary.arctanh(self)

    def atanh(self) -> Tensor:
        """Elementwise inverse hyperbolic tangent (domain (-1, 1)); shape of ``x``."""
        return _ops_unary.arctanh(self)

    def exp2(self) -> Tensor:
        """Elementwise 2**x; shape of ``x``."""
        return _ops_unary.exp2(self)

    def expm1(self) -> Tensor:
        """Elementwise e**x - 1, accurate for small x; shape of ``x``."""
        return _ops_unary.expm1(self)

    def log2(self) -> Tensor:
        """Elementwise base-2 logarithm; shape of ``x``."""
        return _ops_unary.log2(self)

    def log10(self) -> Tensor:
        """Elementwise base-10 logarithm; shape of ``x``."""
        return _ops_unary.log10(self)

    def log1p(self) -> Tensor:
        """Elementwise log(1 + x), accurate for small x; shape of ``x``."""
        return _ops_unary.log1p(self)

    def square(self) -> Tensor:
        """Elementwise x**2 (recorded as ``x * x``); shape of ``x``."""
        return _ops_unary.square(self)

    def reciprocal(self) -> Tensor:
        """Elementwise 1 / x (recorded as a division); shape of ``x``."""
        return _ops_unary.reciprocal(self)

    def softplus(self) -> Tensor:
        """Elementwise log(1 + e**x), stable; x itself where x > 20 (PyTorch's ``softplus(beta=1,
        threshold=20)``); shape of ``x``.
        """
        return _ops_unary.softplus(self)

    def sinc(self) -> Tensor:
        """Elementwise normalized sinc, sin(pi x) / (pi x) and 1 at 0 (``np.sinc``,
        ``torch.sinc``); shape of ``x``.
        """
        return _ops_unary.sinc(self)

    def sign(self) -> Tensor:
        """Elementwise -1, 0 or 1; recorded with a zero gradient; shape of ``x``."""
        return _ops_unary.sign(self)

    def floor(self) -> Tensor:
        """Elementwise largest integer <= x (as a float); zero gradient; shape of ``x``."""
        return _ops_unary.floor(self)

    def ceil(self) -> Tensor:
        """Elementwise smallest integer >= x (as a float); zero gradient; shape of ``x``."""
        return _ops_unary.ceil(self)

    def trunc(self) -> Tensor:
        """Elementwise x rounded toward zero (as a float); zero gradient; shape of ``x``."""
        return _ops_unary.trunc(self)

    def round(self, decimals: int = 0) -> Tensor:
        """Elementwise rounding to ``decimals`` places, halves to even (NumPy and PyTorch); zero
        gradient; shape of ``x``.
        """
        return _ops_unary.round(self, decimals)

    def arctan2(self, x2: Any) -> Tensor:
        """Elementwise angle of the point (x2, x1) in (-pi, pi]; shapes broadcast."""
        return _ops_binary.arctan2(self, x2)

    def atan2(self, x2: Any) -> Tensor:
        """Elementwise angle of the point (x2, x1) in (-pi, pi]; shapes broadcast."""
        return _ops_binary.arctan2(self, x2)

    def hypot(self, x2: Any) -> Tensor:
        """Elementwise sqrt(x1**2 + x2**2) without overflow; shapes broadcast."""
        return _ops_binary.hypot(self, x2)

    def remainder(self, x2: Any) -> Tensor:
        """Elementwise remainder with the sign of ``x2`` (Python's ``%``, NumPy's ``mod``,
        PyTorch's ``remainder``); shapes broadcast.
        """
        return _ops_binary.mod(self, x2)

    def __mod__(self, other: ArrayLike) -> Tensor:
        """``self % other`` (the sign of other, as Python)."""
        if isinstance(other, Tensor):
            return _apply(_ops_binary.mod_op, self, other)
        return _apply(_ops_binary.mod_op, self, _operand(other, self))

    def __rmod__(self, other: ArrayLike) -> Tensor:
        """``other % self``."""
        return _apply(_ops_binary.mod_op, _operand(other, self), self)

    def fmod(self, x2: Any) -> Tensor:
        """Elementwise remainder with the sign of ``x1`` (C's fmod); shapes broadcast."""
        return _ops_binary.fmod(self, x2)

    def floor_divide(self, x2: Any) -> Tensor:
        """Elementwise floor(x1 / x2), not recorded (it has no gradient); shapes broadcast."""
        return _ops_binary.floor_divide(self, x2)

    def __floordiv__(self, other: Any) -> Tensor:
        """``self // other``: floor division, not recorded (no gradient)."""
        return _ops_binary._floordiv_method(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        """``other // self``: floor division, not recorded (no gradient)."""
        return _ops_binary._rfloordiv_method(self, other)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int | None = None, *,
            dim: Any = None, keepdim: bool | None = None, unbiased: bool | None = None,
            correction: int | None = None) -> Tensor:
        """Standard deviation over ``axis`` (None: all; int; tuple), ``sqrt(var)``; ``ddof``
        defaults to 0 (NumPy); PyTorch's ``unbiased=``/``correction=`` are accepted. The
        result has ``x``'s shape without the reduced axes (kept as 1 with ``keepdims``).
        """
        return _ops_statistics.std(self, axis, keepdims, ddof, dim=dim, keepdim=keepdim,
                                   unbiased=unbiased, correction=correction)

    def prod(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        """Product over ``axis`` (None: all; int; tuple); shape as ``sum``. Gradients of every
        order are exact when ``x`` holds zeros (no division by ``x``).
        """
        return _ops_statistics.prod(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def cumsum(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Cumulative sum along ``axis``; ``axis=None`` (NumPy's default) sums the flattened
        tensor (shape ``(x.size,)``, also for a 0-d ``x``), otherwise the shape of ``x``.
        """
        return _ops_statistics.cumsum(self, axis, dim=dim)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                  keepdim: bool | None = None) -> Tensor:
        """``log(sum(exp(x)))`` over ``axis`` (None: all; int; tuple), without overflow; shape as
        ``sum``.
        """
        return _ops_statistics.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the (first) maximum along ``axis`` (None: of the flattened tensor), as an
        int64 Tensor that is not recorded (no gradient); shape as ``sum`` over ``axis``.
        """
        return _ops_statistics.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the (first) minimum along ``axis`` (None: of the flattened tensor), as an
        int64 Tensor that is not recorded (no gradient); shape as ``sum`` over ``axis``.
        """
        return _ops_statistics.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def split(self, split_size_or_sections: Any, dim: int | None = None, *,
              axis: int | None = None) -> tuple[Tensor, ...]:
        """PyTorch's ``t.split``: an int is the size of each piece (the last may be smaller), a
        list gives every piece's size (they must add up to the length along ``dim``).
        """
        return _ops_joining._split_method(self, split_size_or_sections, dim, axis=axis)

    def dot(self, b: Any) -> Tensor:
        """``np.dot``: scalars multiply; up to 2-D it is matmul; N-D contracts a's last axis with
        b's second-to-last (its only one when b is 1-D).
        """
        return _ops_contractions.dot(self, b)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        """``np.trace``: the sum of :func:`diagonal`; shape: a's other axes."""
        return _ops_contractions.trace(self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, dim1: int | None = None, dim2: int | None = None, *,
                 axis1: int | None = None, axis2: int | None = None) -> Tensor:
        """``t.diagonal(offset=0, dim1=0, dim2=1)`` as PyTorch (axis1/axis2 also accepted)."""
        return _ops_contractions.diagonal_method(self, offset, dim1, dim2, axis1=axis1, axis2=axis2)

    def tril(self, diagonal: int | None = None, *, k: int | None = None) -> Tensor:
        """``t.tril(diagonal=0)`` as PyTorch (``k=`` also accepted)."""
        return _ops_contractions.tril_method(self, diagonal, k=k)

    def triu(self, diagonal: int | None = None, *, k: int | None = None) -> Tensor:
        """``t.triu(diagonal=0)`` as PyTorch (``k=`` also accepted)."""
        return _ops_contractions.triu_method(self, diagonal, k=k)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """``t.swapaxes(axis0, axis1)`` as PyTorch."""
        return _ops_layout.swapaxes_method(self, axis0, axis1)

    def moveaxis(self, source: Any, destination: Any) -> Tensor:
        """``np.moveaxis``: axes ``source`` moved to positions ``destination`` (ints or sequences
        of equal length), the others keeping their order.
        """
        return _ops_layout.moveaxis(self, source, destination)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """``t.squeeze(dim=None)`` as PyTorch: size-1 axes among ``dim`` (None: all) removed; an
        axis whose size is not 1 is left alone.
        """
        return _ops_layout.squeeze_method(self, dim, axis=axis)

    def unsqueeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """``t.unsqueeze(dim)``: a size-1 axis inserted at ``dim`` (``axis=`` also accepted)."""
        return _ops_layout.unsqueeze_method(self, dim, axis=axis)

    def ravel(self) -> Tensor:
        """``np.ravel``: the elements as one axis (C order)."""
        return _ops_layout.ravel(self)

    def expand(self, *sizes: Any) -> Tensor:
        """``t.expand(*sizes)`` as PyTorch: broadcast to ``sizes``; -1 keeps an axis' size."""
        return _ops_layout.expand_method(self, *sizes)

    def repeat(self, *reps: Any) -> Tensor:
        """``t.repeat(*reps)`` as PyTorch: tiles (``np.tile``), one count per axis or more."""
        return _ops_layout.repeat_method(self, *reps)

    def tile(self, *reps: Any) -> Tensor:
        """``t.tile(*reps)`` as PyTorch (= ``np.tile``)."""
        return _ops_layout.tile_method(self, *reps)

    def roll(self, shifts: Any = None, dims: Any = None, *, shift: Any = None,
             axis: Any = None) -> Tensor:
        """``t.roll(shifts, dims=None)`` as PyTorch (``shift=``/``axis=`` also accepted)."""
        return _ops_layout.roll_method(self, shifts, dims, shift=shift, axis=axis)

    def flip(self, *dims: Any, axis: Any = None) -> Tensor:
        """``t.flip(dims)`` as PyTorch (``t.flip(0, 1)``, ``t.flip((0, 1))``, ``axis=``)."""
        return _ops_layout.flip_method(self, *dims, axis=axis)

    def fliplr(self) -> Tensor:
        """``np.fliplr``: columns (axis 1) reversed; needs 2 axes or more."""
        return _ops_layout.fliplr(self)

    def flipud(self) -> Tensor:
        """``np.flipud``: rows (axis 0) reversed; needs 1 axis or more."""
        return _ops_layout.flipud(self)

    def rot90(self, k: int = 1, dims: Any = None, *, axes: Any = None) -> Tensor:
        """``t.rot90(k=1, dims=(0, 1))`` as PyTorch (``axes=`` also accepted)."""
        return _ops_layout.rot90_method(self, k, dims, axes=axes)

    def take(self, indices: Any, axis: Any = None, *, dim: Any = None) -> Tensor:
        """``np.take``: entries at ``indices`` along ``axis`` (None: of the flattened tensor);
        shape: a's with that axis replaced by the indices' shape. Repeated indices add up in
        the gradient.
        """
        return _ops_layout.take(self, indices, axis, dim=dim)

    def take_along_dim(self, indices: Any, dim: Any = None) -> Tensor:
        """``t.take_along_dim(indices, dim=None)`` as PyTorch (= ``np.take_along_axis``)."""
        return _ops_layout.take_along_dim_method(self, indices, dim)

    def norm(self, p: Any = None, dim: Any = None, keepdim: bool | None = None, *, ord: Any = None,
             axis: Any = None, keepdims: bool = False) -> Tensor:
        """``t.norm(p='fro', dim=None, keepdim=False)`` as PyTorch: 'fro' is the 2-norm of the
        elements over ``dim`` (None: all); a number p the vector p-norm over ``dim``. NumPy's
        ``ord=``/``axis=``/``keepdims=`` are accepted too.
        """
        return _ops_linalg.norm_method(self, p, dim, keepdim, ord=ord, axis=axis, keepdims=keepdims)
    # END GENERATED Tensor methods


engine.set_tensor_type(Tensor)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """Same as ``Tensor(...)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


# The modules the generated methods delegate to. Imported last: they import this module.
from . import numpy_dispatch as _numpy_dispatch  # noqa: E402

# BEGIN GENERATED imports (python -m autograd_lite.ops.codegen; do not edit)
from .engine import apply as _apply  # noqa: E402
from .ops import arithmetic as _ops_arithmetic  # noqa: E402
from .ops import binary as _ops_binary  # noqa: E402
from .ops import contractions as _ops_contractions  # noqa: E402
from .ops import elementwise as _ops_elementwise  # noqa: E402
from .ops import joining as _ops_joining  # noqa: E402
from .ops import layout as _ops_layout  # noqa: E402
from .ops import linalg as _ops_linalg  # noqa: E402
from .ops import reductions as _ops_reductions  # noqa: E402
from .ops import shape as _ops_shape  # noqa: E402
from .ops import statistics as _ops_statistics  # noqa: E402
from .ops import unary as _ops_unary  # noqa: E402
from .ops._support import operand as _operand  # noqa: E402
# END GENERATED imports
