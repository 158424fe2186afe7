"""The pictures ``autograd-lite train`` writes: learning curves, misclassified digits, a
decision boundary for the 2-D classification sets and a fit plot for regression.

Each function takes what it draws (histories, predictions, a ``predict`` function from
inputs to model outputs) and a title naming the data set, the model and the test
score, so a picture found later says what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import datasets

Predict = Callable[[np.ndarray], np.ndarray]
GRID = 200  # points per side of the decision-boundary image


def _pyplot() -> Any:
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def curves(history: dict[str, list], score: str, title: str, path: Path) -> None:
    """Loss and ``score`` per epoch, train vs validation; for a regression (``score`` is
    the loss, MSE) a single loss panel."""
    plt = _pyplot()
    keys = ["loss"] if score == "mse" else ["loss", score]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for ax, key in zip(axes[0], keys):
        ax.plot(epochs, np.asarray(history[f"train_{key}"], dtype=float), label="train")
        ax.plot(epochs, np.asarray(history[f"val_{key}"], dtype=float), label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (MSE)" if score == "mse" else key)
        ax.legend()
    fig.suptitle(title)
    _save(fig, path)


def mistakes(predicted: np.ndarray, split: datasets.Split, image_shape: tuple[int, int],
             path: Path, limit: int = 40) -> int:
    """A grid of (up to ``limit``) misclassified test images, labelled ``predicted/true``,
    as large as its content; returns how many were misclassified."""
    plt = _pyplot()
    wrong = np.flatnonzero(predicted != split.y)
    shown = wrong[:limit]
    cols = min(max(len(shown), 4), 10)  # at least 4 columns so the title fits
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(0.85 * cols + 0.2, 1.0 * rows + 0.5),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown):
        ax.imshow(split.X[i].reshape(image_shape), cmap="gray_r")
        ax.set_title(f"{predicted[i]}/{split.y[i]}", fontsize=9, color="#a00000")
    more = f", first {limit} shown" if len(wrong) > limit else ""
    fig.suptitle(f"{len(wrong)} of {len(split.y)} test digits misclassified{more} "
                 f"(predicted/true)" if len(wrong) else "no test digit misclassified",
                 fontsize=9)
    _save(fig, path)
    return len(wrong)


def boundary(predict: Predict, data: datasets.Dataset, title: str, path: Path) -> None:
    """The predicted class over the plane (filled), with the test points coloured by
    their true class; misclassified ones ringed in red."""
    plt = _pyplot()
    everything = np.concatenate([data.train.X, data.test.X])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    pad = 0.1 * (hi - lo)
    xs, ys = (np.linspace(a - p, b + p, GRID) for a, b, p in zip(lo, hi, pad))
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(data.test.X.dtype)
    regions = predict(points).argmax(axis=1).reshape(grid_x.shape)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    levels = np.arange(data.classes + 1) - 0.5
    ax.contourf(grid_x, grid_y, regions, levels=levels, cmap="tab10", alpha=0.3,
                vmin=0, vmax=9)
    predicted = predict(data.test.X).argmax(axis=1)
    ax.scatter(data.test.X[:, 0], data.test.X[:, 1], c=data.test.y, cmap="tab10", vmin=0,
               vmax=9, s=18, edgecolors="k", linewidths=0.3, label="test points")
    wrong = predicted != data.test.y
    ax.scatter(data.test.X[wrong, 0], data.test.X[wrong, 1], s=70, facecolors="none",
               edgecolors="red", linewidths=1.2, label=f"misclassified ({wrong.sum()})")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title, fontsize=10)
    _save(fig, path)


def fit(predict: Predict, data: datasets.Dataset, truth: Callable[[np.ndarray], np.ndarray],
        title: str, path: Path) -> None:
    """A 1-D regression: training data, the noiseless truth and the model's prediction."""
    plt = _pyplot()
    x = np.linspace(data.train.X.min(), data.train.X.max(), 400,
                    dtype=data.train.X.dtype)[:, None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(data.train.X[:, 0], data.train.y[:, 0], s=6, alpha=0.4, color="grey",
               label="training data")
    ax.plot(x[:, 0], truth(x)[:, 0], color="k", linestyle="--", label="truth")
    ax.plot(x[:, 0], predict(x)[:, 0], color="C1", linewidth=2, label="prediction")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    ax.set_title(title, fontsize=10)
    _save(fig, path)
