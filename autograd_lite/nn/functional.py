"""Activations, losses and penalties written as expressions of public Tensor operations.

Everything here is composed from the Tensor methods and ``ag.*`` functions, so its
gradients come from the engine like any user code. The one exception is
:func:`binary_cross_entropy`, a fused primitive: see its docstring for why.

Shapes: ``N`` is the batch, ``C`` the number of classes. As in PyTorch, the class
axis of ``cross_entropy``'s logits is axis 1 (axis 0 for a single sample of shape ``(C,)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import primitive
from ..ops import stack, where
from ..tensor import Tensor

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
    return where(x.data > 0, x, x * negative_slope)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along ``axis`` (stable for large logits); same shape as ``x``."""
    return _tensor(x).softmax(axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """Log-softmax along ``axis`` (stable for large logits); same shape as ``x``."""
    return _tensor(x).log_softmax(axis=axis)


# ---- losses ----------------------------------------------------------------------------


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error ``(pred - target)**2``, reduced by ``mean``, ``sum`` or ``none``.

    ``pred`` and ``target`` must have the same shape (any); ``none`` keeps that shape.
    """
    pred = _tensor(pred)
    target = _constant_like(target, pred)
    _same_shape("mse_loss", pred, target, ("pred", "target"))
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


def _class_axis(logits: Tensor, fname: str) -> int:
    if logits.ndim == 0:
        raise ValueError(f"{fname}: logits must have a class axis, got a 0-d tensor")
    return 1 if logits.ndim >= 2 else 0


def _class_indices(target: Any, classes: int, fname: str) -> np.ndarray:
    """``target`` as validated int64 class indices (values in [0, classes))."""
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{fname}: class indices must be integers, got dtype {values.dtype}")
    indices = values.astype(np.int64)
    if values.dtype.kind == "f" and not np.array_equal(indices, values):
        raise ValueError(f"{fname}: class indices must be whole numbers, got {values.dtype} "
                         f"values with a fractional part")
    bad = (indices < 0) | (indices >= classes)
    if bad.any():
        where_bad = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fname}: class index {indices[where_bad]} at position {where_bad} "
                         f"is out of range for {classes} classes (valid: 0..{classes - 1})")
    return indices


def _one_hot(indices: np.ndarray, classes: int, axis: int, dtype: Any) -> np.ndarray:
    """One-hot rows of ``indices`` with the class axis inserted at ``axis``."""
    labels = np.expand_dims(indices, axis)
    classes_shape = [1] * labels.ndim
    classes_shape[axis] = classes
    return (labels == np.arange(classes).reshape(classes_shape)).astype(dtype)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy through a stable log-softmax, as ``torch.nn.functional``.

    ``logits``: ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``. ``target``: class indices
    of shape ``(N,)`` / ``(N, d1, ...)`` / ``()`` (ints, or whole-valued floats), or
    probabilities of the same shape as ``logits``. Per-sample loss
    ``-sum_c w_c log softmax(logits)_c`` with ``w`` the probabilities or the one-hot
    rows of the indices; ``mean`` averages over samples, ``none`` keeps their shape.
    """
    logits = _tensor(logits)
    axis = _class_axis(logits, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    classes = logits.shape[axis]
    if np.shape(target) == logits.shape:
        weights = _constant_like(target, logits)
    else:
        sample_shape = logits.shape[:axis] + logits.shape[axis + 1:]
        if np.shape(target) != sample_shape:
            raise ValueError(
                f"cross_entropy: logits of shape {logits.shape} need class indices of shape "
                f"{sample_shape} or probabilities of shape {logits.shape}; got target of "
                f"shape {np.shape(target)}"
            )
        indices = _class_indices(target, classes, "cross_entropy")
        weights = _one_hot(indices, classes, axis, logits.dtype)
    samples = logits.size // classes if classes else 0
    if reduction == "mean" and samples == 0:
        raise ValueError(f"cross_entropy: the mean over an empty batch (logits of shape "
                         f"{logits.shape}) is undefined; use reduction='sum'")
    # The sign and the mean's 1/N go into the weights, so the loss is one product and
    # one sum after the log-softmax: fewer recorded ops than gather, negate and mean.
    scale = -1.0 / samples if reduction == "mean" else -1.0
    terms = logits.log_softmax(axis=axis) * (weights * scale)
    return terms.sum(axis=axis) if reduction == "none" else terms.sum()


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


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """``binary_cross_entropy(sigmoid(logits), target)`` computed stably (logits of +-1000).

    ``logits`` and ``target`` have the same shape (any). Written as a two-class
    cross-entropy: a log-softmax over the pair ``(0, x)`` gives ``log(1 - sigmoid(x))``
    and ``log sigmoid(x)`` without overflow, and its gradient ``sigmoid(x) - t`` is
    smooth everywhere (the usual ``max(x, 0) - x t + log(1 + exp(-|x|))`` form would
    inherit the kinks' gradient conventions at ``x = 0``).
    """
    logits = _tensor(logits)
    target = _constant_like(target, logits)
    _same_shape("binary_cross_entropy_with_logits", logits, target, ("logits", "target"))
    zeros = Tensor(np.zeros(logits.shape, dtype=logits.dtype))
    pair = stack([zeros, logits], axis=-1).log_softmax(axis=-1)
    loss = -(pair * stack([1 - target, target], axis=-1)).sum(axis=-1)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


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
