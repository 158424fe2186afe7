"""``autograd-lite train``: train an MLP on a built-in data set and write what it learnt.

Before training, the model's gradients are checked against central differences on a
few samples; a failing check stops the run (exit 1). The out directory receives
``metrics.json`` (per-epoch losses and scores, the final test score, the options:
nothing time-dependent, so the same seed gives the same file), ``curves.png``,
``graph.svg``, ``model.npz`` with ``config.json`` beside it (what ``eval`` needs to
rebuild the model and the split) and, for digits, ``mistakes.png``.
Exit status: 0 on success, 2 for bad options (one line on stderr), 1 when the
gradient check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import graphviz
import numpy as np
from tqdm import tqdm

from .. import datasets, no_grad
from ..data import batches
from ..gradcheck import ATOL, RTOL, compare, sample, slopes
from ..graph import draw_graph
from ..nn import MLP, Linear
from ..nn import functional as F
from ..optim import SGD, Adam
from ..serialization import save
from ..tensor import Tensor

ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = {"sgd": SGD, "adam": Adam}
DTYPES = {"float32": np.float32, "float64": np.float64}
CONFIG_NAME = "config.json"
CHECK_SAMPLES = 4
CHECK_ELEMENTS = 200  # per parameter tensor; larger tensors are checked on a random subset


class UsageError(ValueError):
    """A mistake in the command's input: reported in one line on stderr, exit status 2."""


# ---------------------------------------------------------------------------------
# Options and the model


def parse_hidden(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]``; an empty string means no hidden layer."""
    try:
        sizes = [int(part) for part in text.split(",")] if text.strip() else []
    except ValueError:
        sizes = [0]
    if any(n < 1 for n in sizes):
        raise UsageError(f"--hidden {text!r}: expected comma-separated positive integers, "
                         f"e.g. --hidden 64,32")
    return sizes


def resolve_loss(loss: str | None, data: datasets.Dataset) -> str:
    """The loss to use: cross_entropy for classification and mse for regression by default;
    cross_entropy on a regression data set is refused."""
    if loss is None:
        return "cross_entropy" if data.classes else "mse"
    if loss == "cross_entropy" and not data.classes:
        raise UsageError(f"--loss cross_entropy needs classes; data set {data.name!r} is "
                         f"regression: use --loss mse")
    return loss


def build_model(config: dict[str, Any]) -> MLP:
    """The MLP described by ``config`` (sizes, activation, dtype, seed), seeded."""
    return MLP(config["sizes"], activation=config["activation"],
               rng=np.random.default_rng(config["seed"]), dtype=DTYPES[config["dtype"]])


def objective(model: MLP, X: Any, y: np.ndarray, loss: str, classes: int,
              l2: float) -> Tensor:
    """The training loss on one batch: the data term plus ``l2`` times half the sum of
    squared weights (biases are not penalised)."""
    out = model(X)
    if loss == "cross_entropy":
        value = F.cross_entropy(out, y)
    else:  # mse: against one-hot rows for classification, the values for regression
        target = np.eye(classes, dtype=out.dtype)[y] if classes else y
        value = F.mse_loss(out, target)
    if l2:
        weights = [layer.weight for layer in model.layers if isinstance(layer, Linear)]
        value = value + l2 * F.l2_penalty(weights)
    return value


def evaluate(model: MLP, split: datasets.Split, loss: str, classes: int) -> tuple[float, float]:
    """``(loss, score)`` of ``model`` on ``split``: the score is the accuracy for
    classification and the mean squared error for regression."""
    with no_grad():
        out = model(split.X)
        value = objective(model, split.X, split.y, loss, classes, 0.0).item()
    score = F.accuracy(out, split.y) if classes else F.mse_loss(out, split.y).item()
    return value, score


def score_name(classes: int) -> str:
    """What the score of a data set is called in output."""
    return "accuracy" if classes else "MSE"


# ---------------------------------------------------------------------------------
# Gradient check


def gradient_check(model: MLP, config: dict[str, Any], X: np.ndarray, y: np.ndarray,
                   classes: int) -> tuple[int, int, float, bool]:
    """Compare the backward pass of a float64 copy of ``model`` on ``(X, y)`` with
    central differences (``gradcheck.slopes``, judged by ``gradcheck.compare``).

    Each parameter tensor is checked on all its elements, or on ``CHECK_ELEMENTS``
    random ones (drawn with the run's seed) when it has more; a checked element is
    perturbed in the parameter's own array, so the model is left as it was.
    Returns ``(parameters, checked elements, max relative error, passed)``.
    """
    copy = build_model({**config, "dtype": "float64"})
    copy.load_state_dict(model.state_dict())
    loss, l2 = config["loss"], config["l2"]
    X = X.astype(np.float64)
    y = y.astype(np.float64) if not classes else y
    params = list(copy.parameters())
    objective(copy, X, y, loss, classes, l2).backward()
    rng = np.random.default_rng(config["seed"])
    chosen = [sample(p.size, CHECK_ELEMENTS, int(rng.integers(2**31))) for p in params]
    worst, passed = 0.0, True
    for p, idx in zip(params, chosen):
        original = p.data

        def loss_at(values: np.ndarray, p: Tensor = p) -> Tensor:
            p.data = values
            return objective(copy, X, y, loss, classes, l2)

        with no_grad():
            found = compare(p.grad.data.reshape(-1)[idx], slopes(loss_at, original, idx))
        p.data = original
        passed = passed and found.ok
        worst = max(worst, float(found.rel.max(initial=0.0)))
    return sum(p.size for p in params), sum(idx.size for idx in chosen), worst, passed


# ---------------------------------------------------------------------------------
# Outputs


def _out_dir(args: argparse.Namespace) -> Path:
    """The out directory, created; UsageError when it cannot be created or written."""
    out = Path(args.out or f"runs/{args.data}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {str(out)!r}: cannot create the directory "
                         f"({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(out)!r}: the directory is not writable")
    return out


def _plot_curves(history: dict[str, list[float]], classes: int, path: Path) -> None:
    """Loss and score per epoch, train vs validation, side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", score_name(classes).lower())):
        ax.plot(epochs, history[f"train_{key}"], label="train")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_mistakes(model: MLP, data: datasets.Dataset, path: Path, limit: int = 40) -> int:
    """A grid of misclassified test images titled ``predicted/true``; returns their count."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with no_grad():
        predicted = model(data.test.X).data.argmax(axis=1)
    wrong = np.flatnonzero(predicted != data.test.y)
    cols = 10
    rows = max(1, -(-min(len(wrong), limit) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong[:limit]):
        ax.imshow(data.test.X[i].reshape(data.image_shape), cmap="gray_r")
        ax.set_title(f"{predicted[i]}/{data.test.y[i]}", fontsize=9,
                     color="#a00000")
    fig.suptitle(f"misclassified test digits ({len(wrong)}): predicted/true")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(wrong)


def _write_graph(model: MLP, data: datasets.Dataset, config: dict[str, Any],
                 path: Path) -> None:
    """``draw_graph`` of the loss of one forward pass on two training samples."""
    value = objective(model, data.train.X[:2], data.train.y[:2], config["loss"],
                      data.classes, config["l2"])
    path.write_bytes(draw_graph(value).pipe(format="svg"))


def _write_outputs(out: Path, model: MLP, data: datasets.Dataset, config: dict[str, Any],
                   history: dict[str, list[float]], metrics: dict[str, Any]) -> list[str]:
    """Write the run's files into ``out``; returns their names. Without Graphviz's ``dot``
    the graph is skipped with a note on stderr."""
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    save(model.state_dict(), out / "model.npz")
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    _plot_curves(history, data.classes, out / "curves.png")
    written = ["metrics.json", "model.npz", CONFIG_NAME, "curves.png"]
    try:
        _write_graph(model, data, config, out / "graph.svg")
        written.append("graph.svg")
    except graphviz.ExecutableNotFound:
        print("autograd-lite train: note: graph.svg skipped, Graphviz's dot was not found "
              "(sudo apt-get install graphviz)", file=sys.stderr)
    if data.image_shape is not None:
        _plot_mistakes(model, data, out / "mistakes.png")
        written.append("mistakes.png")
    return written


# ---------------------------------------------------------------------------------
# The command


def _prepare(args: argparse.Namespace) -> tuple[datasets.Dataset, dict[str, Any]]:
    """Check the options; the data set and the run's config (everything but ``--out``)."""
    hidden = parse_hidden(args.hidden)
    if not (np.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr {args.lr}: must be a finite number > 0")
    if not (np.isfinite(args.l2) and args.l2 >= 0):
        raise UsageError(f"--l2 {args.l2}: must be a finite number >= 0")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be "
                             f"a positive integer")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("the plots need matplotlib: pip install 'autograd-lite[demo]'")
    try:
        data = datasets.load(args.data, args.seed, DTYPES[args.dtype])
    except datasets.DatasetError as exc:
        raise UsageError(str(exc)) from None
    config = {
        "data": args.data, "sizes": [data.features, *hidden, data.outputs],
        "activation": args.activation, "loss": resolve_loss(args.loss, data), "l2": args.l2,
        "optimizer": args.optimizer, "lr": args.lr, "epochs": args.epochs,
        "batch_size": args.batch_size, "seed": args.seed, "dtype": args.dtype,
    }
    return data, config


def train(model: MLP, data: datasets.Dataset, config: dict[str, Any]) -> dict[str, list]:
    """Train ``model`` in place; the per-epoch history of train/val loss and score."""
    optimizer = OPTIMIZERS[config["optimizer"]](model.parameters(), lr=config["lr"])
    rng = np.random.default_rng(config["seed"])
    metric = score_name(data.classes).lower()
    history: dict[str, list[float]] = {f"{part}_{key}": [] for part in ("train", "val")
                                       for key in ("loss", metric)}
    bar = tqdm(range(config["epochs"]), desc="epochs", file=sys.stderr, disable=None,
               leave=False)
    for _ in bar:
        for X, y in batches(data.train.X, data.train.y, config["batch_size"], rng=rng):
            optimizer.zero_grad()
            objective(model, X, y, config["loss"], data.classes, config["l2"]).backward()
            optimizer.step()
        for part in ("train", "val"):
            loss, score = evaluate(model, getattr(data, part), config["loss"], data.classes)
            history[f"{part}_loss"].append(loss)
            history[f"{part}_{metric}"].append(score)
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}",
                        **{f"val_{metric}": f"{history[f'val_{metric}'][-1]:.4f}"})
    return history


def run(args: argparse.Namespace) -> int:
    """Run ``train`` with parsed ``args``; returns the exit status."""
    try:
        data, config = _prepare(args)
        out = _out_dir(args)
    except UsageError as exc:
        print(f"autograd-lite train: error: {exc}", file=sys.stderr)
        return 2
    model = build_model(config)
    n_params, n_checked, error, passed = gradient_check(
        model, config, data.train.X[:CHECK_SAMPLES], data.train.y[:CHECK_SAMPLES], data.classes)
    subset = "" if n_checked == n_params else \
        f" ({n_checked:,} elements checked, up to {CHECK_ELEMENTS} per tensor)"
    verdict = "ok" if passed else f"FAILED (|analytic - numeric| > {ATOL:g} + {RTOL:g} |numeric|)"
    print(f"gradient check: {n_params:,} parameters{subset}, max relative error "
          f"{error:.1e} — {verdict}")
    if not passed:
        return 1
    history = train(model, data, config)
    test_loss, test_score = evaluate(model, data.test, config["loss"], data.classes)
    name = score_name(data.classes)
    metrics = {"options": config, "seed": config["seed"],
               "epochs": [{"epoch": i + 1, **{k: v[i] for k, v in history.items()}}
                          for i in range(config["epochs"])],
               "test_loss": test_loss, f"test_{name.lower()}": test_score}
    written = _write_outputs(out, model, data, config, history, metrics)
    print(f"test {name}: {test_score:.4f}")
    print(f"wrote {out}/: {' '.join(written)}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "train", help="train an MLP on a built-in data set (digits by default)",
        description="Train an MLP on a built-in data set after checking its gradients; "
                    "write metrics, curves, the graph and the model into --out.")
    parser.add_argument("--data", default="digits",
                        help=f"data set: {', '.join(datasets.NAMES)} (default digits)")
    parser.add_argument("--hidden", default="64,32",
                        help="hidden layer sizes, comma-separated (default 64,32)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                        help="default relu")
    parser.add_argument("--loss", choices=LOSSES, default=None,
                        help="default: cross_entropy for classes, mse for regression")
    parser.add_argument("--l2", type=float, default=1e-4,
                        help="weight of the L2 penalty on the weights (default 1e-4)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                        help="default adam")
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate (default 3e-3)")
    parser.add_argument("--epochs", type=int, default=40,
                        help="passes over the training set (default 40)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data, the split, the model and the batch order (default 0)")
    parser.add_argument("--out", default=None,
                        help="output directory (default runs/<data>-<timestamp>)")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32",
                        help="dtype of the model and the data (default float32)")
    parser.set_defaults(func=run)
    return parser
