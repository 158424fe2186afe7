"""Activations, losses and penalties written as expressions of public Tensor operations.

Everything here is composed from the Tensor methods and ``ag.*`` functions, so its
gradients come from the engine like any user code. The exceptions are primitives for
stability or speed, each with a VJP written in ops (second order works):
:func:`linear` (one node for ``x @ W.T + b``), :func:`cross_entropy` (one node after the
targets' weights), :func:`binary_cross_entropy` (see its docstring), the standard normal
CDF under :func:`gelu`, :func:`softplus`, and the window ops under :func:`conv2d` and the pools
(``nn/_windows.py``). Every loss runs inside an ``engine.scope`` of its name, so
rendered graphs cluster its ops.

Shapes: ``N`` is the batch, ``C`` the number of classes. As in PyTorch, the class
axis of ``cross_entropy``'s logits is axis 1 (axis 0 for a single sample of shape ``(C,)``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..engine import primitive, scope
from ..ops import stack, where
from ..ops._support import axis_spelling, call, const, unrecorded
from ..ops.elementwise import exp_op, sigmoid_op
from ..ops.reductions import log_softmax_op, softmax_op
from ..random import generator
from ..tensor import Tensor
from ._windows import avg_pool2d, conv2d, max_pool2d

__all__ = [
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "silu", "softplus", "elu", "softmax",
    "log_softmax", "mse_loss", "l1_loss", "huber_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "one_hot", "embedding",
    "layer_norm", "batch_norm", "dropout", "conv2d", "max_pool2d", "avg_pool2d",
    "l2_penalty", "l1_penalty", "accuracy",
]

_REDUCTIONS = ("mean", "sum", "none")
# PyTorch clamps BCE's logs at -100 so that probabilities of exactly 0 or 1 give a
# finite loss, and its gradient divides by max(p (1 - p), 1e-12).
_LOG_FLOOR = -100.0
_BCE_EPS = 1e-12


def _tensor(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _constant_like(x: Any, like: Tensor) -> Any:
    """A non-Tensor operand as an array of ``like``'s dtype (no silent float64 upcast)."""
    return x if isinstance(x, Tensor) else np.asarray(x, dtype=like.dtype)


def _check_reduction(reduction: str, fname: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fname}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, fname: str) -> Tensor:
    """Apply a loss's ``reduction``: the mean or sum of all elements, or ``none``."""
    _check_reduction(reduction, fname)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _same_shape(fname: str, a: Any, b: Any, names: tuple[str, str]) -> None:
    # Broadcasting (N, 1) against (N,) silently compares every pair: refuse it.
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{fname}: {names[0]} has shape {np.shape(a)} but {names[1]} has shape "
            f"{np.shape(b)}; they must match (reshape one of them, e.g. target.reshape"
            f"{tuple(np.shape(a))})"
        )


# ---- layers ----------------------------------------------------------------------------


# One primitive for x @ W.T + b rather than transpose, matmul and add: two nodes fewer per
# layer, the bias added in place into the product the forward just allocated, and W's
# gradient computed as grad.T @ x, already in W's layout (no transposed copy to undo).
@primitive("linear", saves=(0, 1), needs_mask=True, kind="contraction",
           rule="linear: grad_x = grad_out @ W; grad_W = grad_out.T @ x; "
                "grad_b = grad_out summed over the batch")
def _linear_op(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    out = np.matmul(x, weight.T)
    if bias is None:
        return out
    if bias.dtype == out.dtype:
        out += bias  # ``out`` is this op's own fresh array: nobody else holds it yet
        return out
    return out + bias  # another dtype: promote as ``+`` does, never cast bias down


@_linear_op.defvjp
def _linear_vjp(g: Any, out: Any, x: Any, weight: Any, bias: Any,
                needs: tuple = (True, True, True)) -> tuple:
    grad_x = g @ weight if needs[0] else None
    grad_w = grad_b = None
    if needs[1] or needs[2]:
        rows = g.reshape(-1, g.shape[-1])  # batch axes flattened: (N, out_features)
        if needs[1]:
            grad_w = rows.T @ x.reshape(-1, x.shape[-1])
        if needs[2]:
            grad_b = rows.sum(axis=0)
    return grad_x, grad_w, grad_b


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """``input @ weight.T + bias`` as one recorded op, as PyTorch's ``F.linear``.

    ``input (..., in_features)``, ``weight (out_features, in_features)``, ``bias
    (out_features,)`` or None ``-> (..., out_features)``.
    """
    x, w = _tensor(input), _tensor(weight)
    b = None if bias is None else _tensor(bias)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} and weight of shape {w.shape} do "
                         f"not align (weight must be (out_features, in_features) with "
                         f"in_features the input's last axis)")
    if b is not None and b.shape != w.shape[:1]:
        raise ValueError(f"linear: bias of shape {b.shape} does not match weight of shape "
                         f"{w.shape}; it must be ({w.shape[0]},)")
    return _linear_op(x, w, b)


# ---- activations -----------------------------------------------------------------------


def sigmoid(x: Any) -> Tensor:
    """Elementwise ``1 / (1 + exp(-x))``, any shape; exactly 0 and 1 at -+1000, no warning."""
    return _tensor(x).sigmoid()


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent, any shape."""
    return _tensor(x).tanh()


def relu(x: Any) -> Tensor:
    """Elementwise ``max(x, 0)``, any shape; gradient 0 at 0 (PyTorch's convention)."""
    return _tensor(x).relu()


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """Elementwise ``x`` where ``x > 0`` else ``negative_slope * x``, any shape.

    The gradient at exactly 0 is ``negative_slope``, as in PyTorch.
    """
    x = _tensor(x)
    return where(x > 0, x, x * negative_slope)


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``, any shape, as PyTorch's ``gelu``.

    ``approximate="none"`` uses the exact standard normal CDF ``Phi`` (through ``erf``);
    ``"tanh"`` PyTorch's approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))``.
    """
    x = _tensor(x)
    if approximate == "none":
        return x * _normal_cdf_op(x)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# NumPy has no erf and SciPy is not a dependency: the C library's, element by element
# (about 0.1 us each; exact to the last bit, unlike the short rational approximations).
_ERF = np.frompyfunc(math.erf, 1, 1)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@primitive("normal_cdf", saves=(0,), kind="elementwise",
           rule="normal_cdf: grad_in = grad_out * exp(-x**2 / 2) / sqrt(2 pi)")
def _normal_cdf_op(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.asarray(_ERF(x / math.sqrt(2.0)), dtype=x.dtype))


@_normal_cdf_op.defvjp
def _normal_cdf_vjp(g: Any, out: Any, x: Any) -> tuple:
    return (g * call(exp_op, x * x * -0.5) * _INV_SQRT_2PI,)


def silu(x: Any) -> Tensor:
    """Sigmoid linear unit (swish) ``x * sigmoid(x)``, any shape."""
    x = _tensor(x)
    return x * x.sigmoid()


@primitive("softplus", saves=(0,), kind="elementwise",
           rule="softplus: grad_in = grad_out * sigmoid(beta x) (1 where linear)")
def _softplus_op(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    z = x * beta
    return np.where(z > threshold, x, np.logaddexp(0.0, z) / beta).astype(x.dtype, copy=False)


@_softplus_op.defvjp
def _softplus_vjp(g: Any, out: Any, x: Any, beta: float = 1.0, threshold: float = 20.0) -> tuple:
    curved = const(lambda v: (v * beta <= threshold).astype(v.dtype), x)
    return (g * (call(sigmoid_op, x * beta) * curved + (1.0 - curved)),)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, any shape; the identity where ``beta x > threshold``
    (PyTorch's rule, for stability). Computed with ``logaddexp``: no overflow."""
    if not beta > 0:
        raise ValueError(f"softplus: beta must be > 0, got {beta}")
    return _softplus_op(_tensor(x), beta=float(beta), threshold=float(threshold))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """``x`` where ``x > 0`` else ``alpha (exp(x) - 1)``, any shape; gradient ``alpha``
    at 0, as PyTorch. The exponential sees ``min(x, 0)``, so large ``x`` cannot overflow
    into the unused branch's gradient."""
    x = _tensor(x)
    return where(x > 0, x, (x.clip(None, 0.0).exp() - 1.0) * alpha)


def softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Softmax along ``axis`` (PyTorch's ``dim=``; default -1), stable for large logits;
    same shape as ``x``."""
    axis, _ = axis_spelling("softmax", axis, dim=dim)
    return _tensor(x).softmax(axis=-1 if axis is None else axis)


def log_softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Log-softmax along ``axis`` (PyTorch's ``dim=``; default -1), stable for large
    logits; same shape as ``x``."""
    axis, _ = axis_spelling("log_softmax", axis, dim=dim)
    return _tensor(x).log_softmax(axis=-1 if axis is None else axis)


# ---- losses ----------------------------------------------------------------------------


def _loss(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Run a loss inside an ``engine.scope`` of its name, so graphs cluster its ops."""

    @functools.wraps(fn)
    def scoped(*args: Any, **kwargs: Any) -> Tensor:
        with scope(fn.__name__):
            return fn(*args, **kwargs)

    return scoped


@_loss
def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error ``(pred - target)**2``, reduced by ``mean``, ``sum`` or ``none``.

    ``pred`` and ``target`` must have the same shape (any); ``none`` keeps that shape.
    """
    diff = _difference(pred, target, "mse_loss")
    return _reduce(diff * diff, reduction, "mse_loss")


def _difference(pred: Any, target: Any, fname: str) -> Tensor:
    pred = _tensor(pred)
    target = _constant_like(target, pred)
    _same_shape(fname, pred, target, ("pred", "target"))
    return pred - target


@_loss
def l1_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Absolute error ``|pred - target|`` (gradient 0 where equal), reduced as
    :func:`mse_loss`; same shapes."""
    return _reduce(_difference(pred, target, "l1_loss").abs(), reduction, "l1_loss")


@_loss
def huber_loss(pred: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta`` else ``delta (|d| - 0.5 delta)``, ``d = pred -
    target`` (same shapes), reduced as :func:`mse_loss`."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = _difference(pred, target, "huber_loss")
    size = diff.abs()
    loss = where(size < delta, diff * diff * 0.5, (size - 0.5 * delta) * delta)
    return _reduce(loss, reduction, "huber_loss")


def _class_axis(logits: Tensor, fname: str) -> int:
    if logits.ndim == 0:
        raise ValueError(f"{fname}: logits must have a class axis, got a 0-d tensor")
    return 1 if logits.ndim >= 2 else 0


def _class_indices(target: Any, classes: int, fname: str,
                   ignore_index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``target`` as validated int64 class indices (values in [0, classes)), and the mask
    of those kept: positions holding ``ignore_index`` are False there and index 0."""
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{fname}: class indices must be integers, got dtype {values.dtype}")
    kept = values != ignore_index if ignore_index is not None else \
        np.ones(values.shape, dtype=bool)
    indices = np.where(kept, values, 0).astype(np.int64)
    if values.dtype.kind == "f" and not np.array_equal(indices, np.where(kept, values, 0)):
        raise ValueError(f"{fname}: class indices must be whole numbers, got {values.dtype} "
                         f"values with a fractional part")
    bad = (indices < 0) | (indices >= classes)
    if bad.any():
        where_bad = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fname}: class index {indices[where_bad]} at position {where_bad} "
                         f"is out of range for {classes} classes (valid: 0..{classes - 1})")
    return indices, kept


def _one_hot(indices: np.ndarray, classes: int, axis: int, dtype: Any) -> np.ndarray:
    """One-hot rows of ``indices`` with the class axis inserted at ``axis``."""
    labels = np.expand_dims(indices, axis)
    classes_shape = [1] * labels.ndim
    classes_shape[axis] = classes
    return (labels == np.arange(classes).reshape(classes_shape)).astype(dtype)


@_loss
def cross_entropy(logits: Any, target: Any, reduction: str = "mean", ignore_index: int = -100,
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy through a stable log-softmax, as ``torch.nn.functional``.

    ``logits``: ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``. ``target``: class indices
    of shape ``(N,)`` / ``(N, d1, ...)`` / ``()`` (ints, or whole-valued floats), or
    probabilities of the same shape as ``logits``. Per-sample loss
    ``-sum_c w_c log softmax(logits)_c`` with ``w`` the probabilities or the one-hot
    rows of the indices, smoothed to ``(1 - label_smoothing) w + label_smoothing / C``.
    Samples whose index is ``ignore_index`` contribute 0, and ``mean`` averages over the
    others (NaN when all are ignored, as PyTorch); ``none`` keeps the samples' shape.
    """
    logits = _tensor(logits)
    axis = _class_axis(logits, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    classes = logits.shape[axis]
    samples = logits.size // classes if classes else 0
    if reduction == "mean" and samples == 0:
        raise ValueError(f"cross_entropy: the mean over an empty batch (logits of shape "
                         f"{logits.shape}) is undefined; use reduction='sum'")
    # The sign and the mean's 1/N go into the weights, so the loss is one weighted sum of
    # the log-softmax: one recorded op. The weights are a Tensor, not a bare array: the
    # saved-array guard vouches for a Tensor argument's data (an array also referenced
    # from this frame would look like an outside alias and be checksummed every step).
    if np.shape(target) == logits.shape:
        weights = _constant_like(target, logits)
        if not isinstance(weights, Tensor):
            weights = Tensor(weights)  # so ag.compile replays the scaling below
        if label_smoothing:
            weights = weights * (1.0 - label_smoothing) + label_smoothing / classes
        weights = weights * (-1.0 / samples if reduction == "mean" else -1.0)
    else:
        sample_shape = logits.shape[:axis] + logits.shape[axis + 1:]
        if np.shape(target) != sample_shape:
            raise ValueError(
                f"cross_entropy: logits of shape {logits.shape} need class indices of shape "
                f"{sample_shape} or probabilities of shape {logits.shape}; got target of "
                f"shape {np.shape(target)}"
            )
        # Not recorded (indices have no gradient), but ag.compile replays it with each
        # call's labels instead of freezing the weights of the traced batch.
        weights = unrecorded(_index_weights, target, classes=classes, axis=axis,
                             dtype=logits.dtype, ignore_index=ignore_index,
                             label_smoothing=label_smoothing, mean=reduction == "mean")
    return _cross_entropy_op(logits, weights, axis=axis, per_sample=reduction == "none")


def _index_weights(target: Any, classes: int, axis: int, dtype: Any, ignore_index: int,
                   label_smoothing: float, mean: bool) -> np.ndarray:
    """cross_entropy's per-class weights for class indices ``target`` (shape ``(N, ...)``):
    one-hot rows (smoothed), zero for ignored samples, times -1 (and 1/kept for ``mean``);
    shape ``target.shape`` with a class axis of ``classes`` inserted at ``axis``."""
    indices, kept = _class_indices(target, classes, "cross_entropy", ignore_index)
    weights = _one_hot(indices, classes, axis, dtype)
    counted = int(kept.sum())
    mask = None  # the usual case, nothing ignored: no mask to build and multiply by
    if counted < kept.size:
        mask = np.expand_dims(kept, axis).astype(dtype)
        weights *= mask  # ``weights`` is the one-hot array just made here
    if label_smoothing:
        weights = weights * (1.0 - label_smoothing) + label_smoothing / classes
        if mask is not None:  # ignored samples stay out of the loss, smoothing included
            weights = weights * mask
    scale = -1.0
    if mean:
        scale = -1.0 / counted if counted else np.nan
    weights *= scale
    return weights


# One primitive rather than log_softmax, mul and sum: one node instead of three, and a
# backward that is one expression (PyTorch's softmax minus the one-hot rows, scaled).
@primitive("cross_entropy", saves=(0, 1), needs_mask=True, kind="other",
           rule="cross_entropy: grad_logits = grad_out * (w - softmax(logits) * sum(w, axis)); "
                "grad_w = grad_out * log_softmax(logits)")
def _cross_entropy_op(logits: np.ndarray, weights: np.ndarray, axis: int = 1,
                      per_sample: bool = False) -> np.ndarray:
    """``sum(log_softmax(logits) * weights)`` over ``axis`` (``per_sample``) or over all."""
    terms = log_softmax_op.forward(logits, axis=axis)
    if terms.dtype == np.result_type(terms, weights):
        terms *= weights  # ``terms`` is this op's own fresh array
    else:
        terms = terms * weights  # promote as * does, never cast the weights down
    return terms.sum(axis=axis) if per_sample else terms.sum()


@_cross_entropy_op.defvjp
def _cross_entropy_vjp(g: Any, out: Any, logits: Any, weights: Any, axis: int = 1,
                       per_sample: bool = False, needs: tuple = (True, True)) -> tuple:
    if per_sample:  # one gradient per sample: put the class axis back
        shape = list(logits.shape)
        shape[axis] = 1
        g = g.reshape(tuple(shape))
    grad_logits = grad_weights = None
    if needs[0]:
        probs = call(softmax_op, logits, axis=axis)
        grad_logits = (weights - probs * weights.sum(axis=axis, keepdims=True)) * g
    if needs[1]:
        grad_weights = call(log_softmax_op, logits, axis=axis) * g
    return grad_logits, grad_weights


@primitive("binary_cross_entropy", saves=(0, 1))
def _bce_op(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped right away
        log_p = np.maximum(np.log(p), _LOG_FLOOR)
        log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
    return -(t * log_p + (1 - t) * log_1mp)


@_bce_op.defvjp
def _bce_vjp(g: Any, out: Any, p: Any, t: Any) -> tuple:
    grad_p = g * (p - t) / (p * (1 - p)).clip(_BCE_EPS, None)
    return grad_p, g * _log_odds_complement(p)


def _log_odds_complement(p: Any) -> Any:
    """``log(1 - p) - log(p)``, unclamped as in PyTorch's target gradient (infinite at
    p = 0 or 1); on Tensors when the backward pass is itself recorded (create_graph)."""
    if isinstance(p, Tensor):
        return (1 - p).log() - p.log()
    with np.errstate(divide="ignore"):
        return np.log1p(-p) - np.log(p)


@_loss
def binary_cross_entropy(probs: Any, target: Any, reduction: str = "mean") -> Tensor:
    """``-(t log p + (1 - t) log(1 - p))`` with each log clamped at -100, as PyTorch.

    ``probs`` in [0, 1] and ``target`` have the same shape (any). A fused primitive
    rather than a composition, for stability: PyTorch defines the gradient as
    ``(p - t) / max(p (1 - p), 1e-12)``, whereas differentiating the clamped logs op by
    op gives ``0 * inf = NaN`` at probabilities of exactly 0 or 1. The gradient for
    ``target`` is PyTorch's too: ``log(1 - p) - log(p)``, unclamped.
    """
    probs = _tensor(probs)
    target = _constant_like(target, probs)
    _same_shape("binary_cross_entropy", probs, target, ("probs", "target"))
    if probs.size and (probs.data.min() < 0 or probs.data.max() > 1):
        raise ValueError(
            f"binary_cross_entropy: probs must lie in [0, 1], got values in "
            f"[{probs.data.min():.4g}, {probs.data.max():.4g}]; pass logits to "
            f"binary_cross_entropy_with_logits instead"
        )
    return _reduce(_bce_op(probs, target), reduction, "binary_cross_entropy")


@_loss
def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(logits), target)`` computed stably (logits of +-1000).

    ``logits`` and ``target`` have the same shape (any). Written as a two-class
    cross-entropy: a log-softmax over the pair ``(0, x)`` gives ``log(1 - sigmoid(x))``
    and ``log sigmoid(x)`` without overflow, and its gradient ``sigmoid(x) - t`` is
    smooth everywhere (the usual ``max(x, 0) - x t + log(1 + exp(-|x|))`` form would
    inherit the kinks' gradient conventions at ``x = 0``).
    """
    logits = _tensor(logits)
    if not isinstance(target, Tensor):  # so ag.compile replays 1 - target with each target
        target = Tensor(target, dtype=logits.dtype)
    _same_shape("binary_cross_entropy_with_logits", logits, target, ("logits", "target"))
    zeros = Tensor(np.zeros(logits.shape, dtype=logits.dtype))
    pair = stack([zeros, logits], axis=-1).log_softmax(axis=-1)
    loss = -(pair * stack([1 - target, target], axis=-1)).sum(axis=-1)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ---- indices, normalisation, dropout ------------------------------------------------------


def _integer_values(x: Any, fname: str) -> np.ndarray:
    values = x.data if isinstance(x, Tensor) else np.asarray(x)
    if values.dtype.kind not in "iu":
        raise TypeError(f"{fname}: indices must be integers (an integer array or a Tensor "
                        f"made with dtype=np.int64), got dtype {values.dtype}")
    return values


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Integer class values of any shape ``S`` -> an int64 Tensor ``S + (num_classes,)``
    (``-1``: one more than the largest value), as ``torch.nn.functional.one_hot``."""
    values = _integer_values(tensor, "one_hot")
    if num_classes == -1:
        if not values.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = max(int(values.max()) + 1, 0)  # a negative value is refused below
    # Unrecorded but replayed by ag.compile: the rows follow each call's labels.
    return unrecorded(_one_hot_rows, tensor if isinstance(tensor, Tensor) else values,
                      num_classes=num_classes)


def _one_hot_rows(values: np.ndarray, num_classes: int) -> np.ndarray:
    """``one_hot``'s checked int64 rows: ``values`` (shape ``S``) -> ``S + (num_classes,)``."""
    values = _integer_values(values, "one_hot")
    if values.size and values.min() < 0:
        raise ValueError(f"one_hot: class values must be >= 0, got {values.min()}")
    if values.size and values.max() >= num_classes:
        raise ValueError(f"one_hot: class value {values.max()} is out of range for "
                         f"num_classes={num_classes}")
    return _one_hot(values, num_classes, -1, np.int64)


def embedding(input: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight (num_embeddings, dim)`` picked by integer indices of any shape
    ``S``: ``S + (dim,)``. Repeated indices add up in ``weight``'s gradient."""
    values = _integer_values(input, "embedding")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    if values.size and (values.min() < 0 or values.max() >= weight.shape[0]):
        bad = values.min() if values.min() < 0 else values.max()
        raise IndexError(f"embedding: index {bad} is out of range for {weight.shape[0]} "
                         f"embeddings (valid: 0..{weight.shape[0] - 1})")
    return weight[values]


def _normalize(x: Tensor, mean: Any, var: Any, eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)``, the statistics Tensors or constant arrays."""
    return (x - mean) * (var + eps) ** -0.5


def layer_norm(input: Any, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last axes, those of ``normalized_shape`` (an int or a tuple the
    input's shape ends with), with the biased variance; then ``* weight + bias`` (each of
    ``normalized_shape``, optional). Same shape as ``input``."""
    x = _tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ValueError(f"layer_norm: input of shape {x.shape} must end with "
                         f"normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = _normalize(x, x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True), eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def batch_norm(input: Any, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation of ``(N, C)`` or ``(N, C, ...)`` per channel (axis 1).

    In training the batch's mean and biased variance normalise, and the running arrays
    (``(C,)``, updated in place as PyTorch does) move towards the batch mean and the
    *unbiased* variance by ``momentum``; otherwise the running statistics normalise.
    Then ``* weight + bias`` (each ``(C,)``, optional). Same shape as ``input``.
    """
    x = _tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C) or (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        axes = (0, *range(2, x.ndim))
        count = x.size // channels
        if count < 2:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, got "
                             f"an input of shape {x.shape}")
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        if running_mean is not None and running_var is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean.data.reshape(channels)
            running_var *= 1.0 - momentum
            running_var += momentum * var.data.reshape(channels) * (count / (count - 1))
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation needs running_mean and running_var")
    else:
        # Tensors, so ag.compile reads the running statistics of each call, not the traced
        mean, var = Tensor(running_mean.reshape(shape)), Tensor(running_var.reshape(shape))
    y = _normalize(x, mean, var, eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def dropout(input: Any, p: float = 0.5, training: bool = True,
            rng: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout, any shape: in training each element is zeroed with probability
    ``p`` and survivors scaled by ``1 / (1 - p)``; the identity otherwise. The mask comes
    from ``rng``, or ``ag.manual_seed``'s generator when None."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    x = _tensor(input)
    if not training or p == 0.0:
        return x
    keep = (generator(rng).random(x.shape) >= p).astype(x.dtype)
    if p < 1.0:  # p == 1 drops everything: the mask stays all zeros
        keep /= 1.0 - p
    return x * keep


# ---- regularization --------------------------------------------------------------------


def _params(params: Tensor | Iterable[Tensor], fname: str) -> list[Tensor]:
    # A Tensor is iterable (over its rows, then elements): taken as a list it would make
    # one Python-level op per element, so a single Tensor is one parameter.
    params = [params] if isinstance(params, Tensor) else list(params)
    if not params:
        raise ValueError(f"{fname}: got no parameters (an exhausted generator? pass "
                         f"list(model.parameters()) or call model.parameters() again)")
    return params


def l2_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    """``sum over params of sum(theta**2) / 2``: a scalar; its gradient is ``theta``.
    ``params`` is an iterable of Tensors, or one Tensor."""
    return sum((p * p).sum() for p in _params(params, "l2_penalty")) * 0.5


def l1_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    """``sum over params of sum(|theta|)``: a scalar; gradient ``sign(theta)`` (0 at 0).
    ``params`` is an iterable of Tensors, or one Tensor."""
    return sum(p.abs().sum() for p in _params(params, "l1_penalty"))


# ---- metrics ---------------------------------------------------------------------------


def accuracy(logits: Any, labels: Any) -> float:
    """Fraction of samples whose predicted class equals ``labels`` (a Python float).

    ``logits`` ``(N, C)`` (or ``(C,)``) with ``labels`` class indices ``(N,)``: the
    prediction is the argmax over the class axis (axis 1, as in :func:`cross_entropy`).
    ``logits`` of the same shape as ``labels`` are binary logits: class 1 where > 0.
    """
    scores = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    truth = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if scores.shape == truth.shape:
        predicted = scores > 0
    else:
        axis = 1 if scores.ndim >= 2 else 0
        if scores.ndim == 0 or scores.shape[:axis] + scores.shape[axis + 1:] != truth.shape:
            raise ValueError(f"accuracy: logits of shape {scores.shape} do not fit labels of "
                             f"shape {truth.shape}; expected logits (N, C) with labels (N,), "
                             f"or binary logits of the labels' shape")
        predicted = scores.argmax(axis=axis)
    if truth.size == 0:
        raise ValueError("accuracy: no samples (labels are empty)")
    return float(np.mean(predicted == truth))
