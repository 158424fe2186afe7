"""Sliding windows over images: ``unfold`` (im2col) and ``fold`` (col2im), and the
convolution and pooling functions built on them.

``unfold`` copies every ``kh x kw`` window of an ``(N, C, H, W)`` batch into one row, so a
convolution is one matmul with the reshaped weight and a pooling is one reduction per
row. Both primitives are linear and each is the other's VJP (``fold`` scatter-adds rows
back where the windows came from), so the backward pass is itself recorded under
``create_graph=True`` and second derivatives work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..engine import primitive
from ..ops._support import call, unrecorded
from ..tensor import Tensor

Pair = tuple[int, int]


def pair(value: Any, what: str, where: str, minimum: int = 1) -> Pair:
    """``value`` (an int or a pair of ints, each ``>= minimum``) as a pair; ValueError
    naming ``where`` and ``what`` otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < minimum for v in items):
        raise ValueError(f"{where}: {what} must be an int >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(items[0]), int(items[1])


def out_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair, where: str) -> Pair:
    """The output height and width of sliding ``kernel`` over an image of ``size``."""
    outs = tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))
    if min(outs) < 1:
        raise ValueError(f"{where}: kernel {kernel} with padding {padding} does not fit an "
                         f"input of height and width {size}")
    return outs[0], outs[1]


@primitive("unfold", kind="shape", needs_mask=True,
           rule="unfold: grad_in = fold(grad_out), window rows scatter-added back")
def unfold_op(x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), fill=0.0):
    """``(N, C, H, W)`` -> ``(N * OH * OW, C * kh * kw)``: one window per row, ordered
    ``(n, oh, ow)``; columns ordered ``(c, i, j)`` as a Conv2d weight's last three axes."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:  # ``fill``: 0 for convolutions, -inf for max pooling
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    # (N, C, OH, OW, kh, kw) -> (N, OH, OW, C, kh, kw); the reshape makes the one copy.
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * kh * kw)


@unfold_op.defvjp
def _unfold_vjp(g, out, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), fill=0.0,
                needs=(True,)):
    if not needs[0]:  # a network's input image: no gradient, skip the scatter-add
        return (None,)
    return (call(fold_op, g, shape=x.shape, kernel=kernel, stride=stride, padding=padding),)


@primitive("fold", kind="shape", rule="fold: grad_in = unfold(grad_out)")
def fold_op(cols, shape=(), kernel=(1, 1), stride=(1, 1), padding=(0, 0)):
    """The adjoint of ``unfold``: rows ``(N * OH * OW, C * kh * kw)`` summed back into an
    image of ``shape`` (overlapping windows add up)."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    # One copy into (kh, kw, N, C, OH, OW) makes each kernel offset's block contiguous:
    # adding strided blocks straight from cols' layout was 10x slower.
    blocks = np.ascontiguousarray(cols.reshape(n, oh, ow, c, kh, kw).transpose(4, 5, 0, 3, 1, 2))
    image = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):  # kh * kw adds of whole blocks, no Python per pixel
        for j in range(kw):
            image[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += blocks[i, j]
    return np.ascontiguousarray(image[:, :, ph:ph + h, pw:pw + w])


@fold_op.defvjp
def _fold_vjp(g, out, cols, shape=(), kernel=(1, 1), stride=(1, 1), padding=(0, 0)):
    return (call(unfold_op, g, kernel=kernel, stride=stride, padding=padding),)


def _image(x: Any, where: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{where}: expected an input of shape (N, C, H, W), got {x.shape}")
    return x


def conv2d(input: Any, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0) -> Tensor:
    """2-D cross-correlation as ``torch.nn.functional.conv2d``.

    ``input (N, C, H, W)``, ``weight (O, C, kh, kw)``, ``bias (O,)`` ->
    ``(N, O, OH, OW)`` with ``OH = (H + 2 padding - kh) // stride + 1`` (likewise OW).
    Computed as one matmul of the unfolded windows with the reshaped weight.
    """
    x = _image(input, "conv2d")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: weight of shape {weight.shape} does not fit an input of "
                         f"shape {x.shape}; expected (out_channels, {x.shape[1]}, kh, kw)")
    kernel = (weight.shape[2], weight.shape[3])
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d", 0)
    oh, ow = out_size(x.shape[2:], kernel, stride, padding, "conv2d")
    cols = unfold_op(x, kernel=kernel, stride=stride, padding=padding, fill=0.0)
    out = cols @ weight.reshape(weight.shape[0], -1).T  # (N * OH * OW, O)
    if bias is not None:
        out = out + bias
    return out.reshape(x.shape[0], oh, ow, weight.shape[0]).transpose(0, 3, 1, 2)


def _pool_windows(input: Any, kernel_size: Any, stride: Any, padding: Any, fill: float,
                  where: str) -> tuple[Tensor, tuple]:
    """Every channel's windows as rows ``(N * C * OH * OW, kh * kw)``, and the output shape
    ``(N, C, OH, OW)``. ``stride`` None means the kernel size, as in PyTorch."""
    x = _image(input, where)
    kernel = pair(kernel_size, "kernel_size", where)
    stride = kernel if stride is None else pair(stride, "stride", where)
    padding = pair(padding, "padding", where, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{where}: padding {padding} must be at most half of kernel_size "
                         f"{kernel}")
    n, c, h, w = x.shape
    oh, ow = out_size((h, w), kernel, stride, padding, where)
    # Channels become batch entries so each window row holds one channel's pixels.
    rows = unfold_op(x.reshape(n * c, 1, h, w), kernel=kernel, stride=stride,
                     padding=padding, fill=fill)
    return rows, (n, c, oh, ow)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Maximum of each window, ``(N, C, H, W) -> (N, C, OH, OW)`` (padding is -inf).

    The gradient goes to the first maximum of each window (PyTorch's rule), not split
    among ties: the maximum is picked by index.
    """
    rows, shape = _pool_windows(input, kernel_size, stride, padding, -np.inf, "max_pool2d")
    # Not recorded (indices have no gradient), but ag.compile replays the choice of each
    # window's maximum instead of freezing the traced one.
    first = unrecorded(np.argmax, rows.data, axis=1).data
    return rows[np.arange(first.size), first].reshape(*shape)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean of each window, ``(N, C, H, W) -> (N, C, OH, OW)``; padded zeros count in the
    mean (PyTorch's default ``count_include_pad=True``)."""
    rows, shape = _pool_windows(input, kernel_size, stride, padding, 0.0, "avg_pool2d")
    return rows.mean(axis=1).reshape(*shape)
