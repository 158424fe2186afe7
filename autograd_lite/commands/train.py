"""``autograd-lite train``: train an MLP (or, on digits, a CNN) on a built-in data set
and write what it learnt.

Before training, the model's gradients are checked against central differences on a
few samples; a failing check stops the run (exit 1). The out directory receives
``metrics.json`` (per-epoch losses and scores, the final test score, the options:
nothing time-dependent, so the same seed gives the same file; NaN and inf are written
as ``null``), ``curves.png``, ``graph.svg``, ``model.npz`` with ``config.json`` beside it
(what ``eval`` needs to rebuild the model and the split) and, by data set,
``mistakes.png`` (digits), ``boundary.png`` (the 2-D classification sets) or ``fit.png``
(sine).
Exit status: 0 on success, 2 for bad options (one line on stderr), 1 when the gradient
check fails, 3 when the loss becomes NaN or inf (the files so far are written), 130
after Ctrl-C (the epoch under way is finished and the files written first).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import graphviz
import numpy as np
from tqdm import tqdm

from .. import datasets, no_grad
from ..compile import Compiled
from ..compile import compile as compile_step
from ..data import batches
from ..gradcheck import ATOL, RTOL, compare, sample, slopes
from ..graph import draw_graph
from ..nn import MLP, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, Unflatten
from ..nn import functional as F
from ..optim import SGD, Adagrad, Adam, RMSprop
from ..optim.lr_scheduler import CosineAnnealingLR
from ..serialization import save
from ..tensor import Tensor
from . import train_plots

ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSSES = ("cross_entropy", "mse")
MODELS = ("mlp", "cnn")
SCHEDULES = ("constant", "cosine")
# The CNN learns in half the MLP's epochs (each costs more): mean test accuracy over
# seeds 0-4 on digits 98.7% after 20 epochs at a constant rate (cosine annealing: 98.4%).
DEFAULT_EPOCHS = {"mlp": 40, "cnn": 20}
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
# What each optimizer needs to learn each model within its default epochs (PyTorch's
# tutorial values; Adam measured over seeds 0-4 on digits: the MLP is best at PyTorch's
# default 1e-3, the CNN, with fewer epochs, at 3e-3).
DEFAULT_LR = {"mlp": {"sgd": 0.1, "adam": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2},
              "cnn": {"sgd": 0.1, "adam": 3e-3, "rmsprop": 1e-3, "adagrad": 1e-2}}
MAX_PARAMETERS = 5_000_000  # ~40 MB of float64 weights, plus as much for gradients and state
MAX_SEED = 2**32 - 1
CHANCE_MARGIN = 0.05  # accuracy within this of always guessing the commonest class: a warning
EXIT_DIVERGED, EXIT_INTERRUPTED = 3, 130
DTYPES = {"float32": np.float32, "float64": np.float64}
CONFIG_NAME = "config.json"
CHECK_SAMPLES = 4
CHECK_ELEMENTS = 200  # per parameter tensor; larger tensors are checked on a random subset


class UsageError(ValueError):
    """A mistake in the command's input: reported in one line on stderr, exit status 2."""


# ---------------------------------------------------------------------------------
# Options and the model


def parse_sizes(text: str, option: str, example: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]``; an empty string means none."""
    try:
        sizes = [int(part) for part in text.split(",")] if text.strip() else []
    except ValueError:
        sizes = [0]
    if any(n < 1 for n in sizes):
        raise UsageError(f"{option} {text!r}: expected comma-separated positive integers, "
                         f"e.g. {option} {example}")
    return sizes


def parse_hidden(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]``; an empty string means no hidden layer."""
    return parse_sizes(text, "--hidden", "64,32")


def parse_channels(text: str) -> list[int]:
    """``"16,32"`` -> ``[16, 32]``: the output channels of the CNN's two conv layers."""
    channels = parse_sizes(text, "--channels", "16,32")
    if len(channels) != 2:
        raise UsageError(f"--channels {text!r}: expected two sizes, one per conv layer, "
                         f"e.g. --channels 16,32")
    return channels


def resolve_loss(loss: str | None, data: datasets.Dataset) -> str:
    """The loss to use: cross_entropy for classification and mse for regression by default;
    cross_entropy on a regression data set is refused."""
    if loss is None:
        return "cross_entropy" if data.classes else "mse"
    if loss == "cross_entropy" and not data.classes:
        raise UsageError(f"--loss cross_entropy needs classes; data set {data.name!r} is "
                         f"regression: use --loss mse")
    return loss


class CNN(Module):
    """The digits CNN: ``(N, H*W)`` pixels -> ``(N, classes)`` scores through two 3x3
    conv layers with ReLU (``channels`` out of each, padding 1, so the image keeps its
    size), one 2x2 max-pool and a linear head: ``self.layers``, a Sequential.

    Pooling once, after both convolutions, keeps a 4x4 map of an 8x8 digit; pooling after
    each conv leaves 2x2 and cost half a point of test accuracy over seeds 0-4."""

    def __init__(self, image_shape: tuple[int, int], channels: list[int], classes: int,
                 rng: np.random.Generator, dtype: Any) -> None:
        super().__init__()
        first, second = channels
        height, width = image_shape
        self.layers = Sequential(
            Unflatten(1, (1, height, width)),
            Conv2d(1, first, 3, padding=1, rng=rng, dtype=dtype), ReLU(),
            Conv2d(first, second, 3, padding=1, rng=rng, dtype=dtype), ReLU(),
            MaxPool2d(2),
            Flatten(),
            Linear(second * (height // 2) * (width // 2), classes, init="xavier", rng=rng,
                   dtype=dtype),
        )

    def forward(self, x: Any) -> Tensor:
        """``x (N, H*W) -> (N, classes)``."""
        return self.layers(x)


def build_model(config: dict[str, Any]) -> Module:
    """The model described by ``config`` (``model``: ``"mlp"`` with ``sizes`` and
    ``activation``, or ``"cnn"`` with ``image_shape`` and ``channels``; ``dtype``, and
    ``seed`` for the initial weights)."""
    rng = np.random.default_rng(config["seed"])
    dtype = DTYPES[config["dtype"]]
    if config.get("model", "mlp") == "cnn":
        return CNN(tuple(config["image_shape"]), config["channels"], config["sizes"][-1], rng,
                   dtype)
    return MLP(config["sizes"], activation=config["activation"], rng=rng, dtype=dtype)


def parameter_count(config: dict[str, Any]) -> int:
    """How many parameters ``build_model(config)`` would allocate (checked first)."""
    sizes = config["sizes"]
    if config.get("model", "mlp") == "cnn":
        first, second = config["channels"]
        height, width = config["image_shape"]
        head = second * (height // 2) * (width // 2)
        return (9 + 1) * first + (9 * first + 1) * second + (head + 1) * sizes[-1]
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def objective(model: Module, X: Any, y: Any, loss: str, classes: int,
              l2: float) -> Tensor:
    """The training loss on one batch: the data term plus ``l2`` times half the sum of
    squared weights (biases are not penalised)."""
    out = model(X)
    return penalised(model, out, loss_target(y, loss, classes, out.dtype), loss, l2)


def loss_target(y: Any, loss: str, classes: int, dtype: Any) -> Any:
    """What the loss compares the output with: the labels for cross-entropy; one-hot rows
    (a Tensor named ``one_hot(y)``, in the model's ``dtype``) for mse on classes; the
    values for regression."""
    if loss == "mse" and classes:
        labels = y.data if isinstance(y, Tensor) else y
        return Tensor(np.eye(classes, dtype=dtype)[labels], name="one_hot(y)")
    return y


def penalised(model: Module, out: Tensor, target: Any, loss: str, l2: float) -> Tensor:
    """The loss of ``out`` against ``target`` (see :func:`loss_target`) plus ``l2`` times
    half the sum of squared weights."""
    if loss == "cross_entropy":
        value = F.cross_entropy(out, target)
    else:
        value = F.mse_loss(out, target)
    if l2:
        # By attribute, not named_parameters(): the gradient check puts recorded tensors
        # in the weights' places.
        weights = [m.weight for m in model.modules() if isinstance(m, (Linear, Conv2d))]
        value = value + l2 * F.l2_penalty(weights)
    return value


def evaluate(model: Module, split: datasets.Split, loss: str, classes: int) -> tuple[float, float]:
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


def _describe(config: dict[str, Any]) -> str:
    """The model in a few words, for titles: ``MLP 64-32-10`` or ``CNN 16,32 channels``."""
    if config.get("model", "mlp") == "cnn":
        return f"CNN {config['channels'][0]},{config['channels'][1]} channels"
    return "MLP " + "-".join(str(n) for n in config["sizes"])


def _finite(value: Any) -> Any:
    """``value`` with every NaN or inf float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _write_graph(model: Module, data: datasets.Dataset, config: dict[str, Any],
                 path: Path) -> None:
    """``draw_graph`` of the loss of one forward pass on two training samples, the batch
    named ``x`` and the labels ``y``."""
    x = Tensor(data.train.X[:2], name="x")
    labels = data.train.y[:2]
    y = Tensor(labels, dtype=labels.dtype, name="y")
    value = objective(model, x, y, config["loss"], data.classes, config["l2"])
    path.write_bytes(draw_graph(value).pipe(format="svg"))


def _write_outputs(out: Path, model: Module, data: datasets.Dataset, config: dict[str, Any],
                   history: dict[str, list[float]], metrics: dict[str, Any]) -> list[str]:
    """Write the run's files into ``out``; returns their names. Without Graphviz's ``dot``
    the graph is skipped with a note on stderr."""
    (out / "metrics.json").write_text(json.dumps(_finite(metrics), indent=2, allow_nan=False)
                                      + "\n")
    save(model.state_dict(), out / "model.npz")
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    name = score_name(data.classes)
    test_score = metrics[f"test_{name.lower()}"]
    title = f"{data.name} · {_describe(config)} · test {name} {test_score:.4f}"
    train_plots.curves(history, name.lower(), title, out / "curves.png")
    written = ["metrics.json", "model.npz", CONFIG_NAME, "curves.png"]
    try:
        _write_graph(model, data, config, out / "graph.svg")
        written.append("graph.svg")
    except graphviz.ExecutableNotFound:
        print("autograd-lite train: note: graph.svg skipped, Graphviz's dot was not found "
              "(sudo apt-get install graphviz)", file=sys.stderr)

    def predict(X: np.ndarray) -> np.ndarray:
        with no_grad():
            return model(X).data

    if data.image_shape is not None:
        train_plots.mistakes(predict(data.test.X).argmax(axis=1), data.test, data.image_shape,
                             out / "mistakes.png")
        written.append("mistakes.png")
    elif data.classes and data.features == 2:
        train_plots.boundary(predict, data, title, out / "boundary.png")
        written.append("boundary.png")
    elif data.name in datasets.TRUTH:
        train_plots.fit(predict, data, datasets.TRUTH[data.name], title, out / "fit.png")
        written.append("fit.png")
    return written


# ---------------------------------------------------------------------------------
# The command


def _check_options(args: argparse.Namespace) -> None:
    """The options that need no data set; UsageError naming the first bad one."""
    if args.lr is not None and not (np.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr {args.lr}: must be a finite number > 0")
    if not (np.isfinite(args.l2) and args.l2 >= 0):
        raise UsageError(f"--l2 {args.l2}: must be a finite number >= 0")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be "
                             f"a positive integer")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: must be an integer in 0..{MAX_SEED}")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("the plots need matplotlib: pip install 'autograd-lite[demo]'")


def _prepare(args: argparse.Namespace) -> tuple[datasets.Dataset, dict[str, Any]]:
    """Check the options; the data set and the run's config (everything but ``--out``)."""
    hidden = parse_hidden(args.hidden)
    channels = parse_channels(args.channels)
    _check_options(args)
    try:
        data = datasets.load(args.data, args.seed, DTYPES[args.dtype])
    except datasets.DatasetError as exc:
        raise UsageError(str(exc)) from None
    config = {
        "data": args.data, "model": args.model, "sizes": [data.features, *hidden, data.outputs],
        "activation": args.activation, "loss": resolve_loss(args.loss, data), "l2": args.l2,
        "optimizer": args.optimizer, "lr": DEFAULT_LR[args.model][args.optimizer]
        if args.lr is None else args.lr, "epochs": args.epochs or DEFAULT_EPOCHS[args.model],
        "batch_size": args.batch_size, "seed": args.seed, "dtype": args.dtype,
        "schedule": args.schedule, "compile": args.compile,
    }
    if args.model == "cnn":
        if data.image_shape is None:
            raise UsageError(f"--model cnn needs images; data set {data.name!r} has none: use "
                             f"--data digits, or --model mlp")
        # A CNN has no hidden sizes: its sizes are [inputs, classes].
        config.update(sizes=[data.features, data.outputs], channels=channels,
                      image_shape=list(data.image_shape))
    count = parameter_count(config)
    if count > MAX_PARAMETERS:
        raise UsageError(f"the model would have {count:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} this command trains; use smaller "
                         f"{'--channels' if args.model == 'cnn' else '--hidden'} sizes")
    return data, config


@contextmanager
def _deferred_interrupt() -> Iterator[dict[str, bool]]:
    """Inside, Ctrl-C (SIGINT) only sets ``flag["interrupted"]``, so training can finish
    the epoch under way and write consistent files; the previous handler comes back on
    exit. Outside the main thread (no signals there) nothing is installed."""
    flag = {"interrupted": False}

    def note(signum: int, frame: Any) -> None:
        flag["interrupted"] = True

    try:
        previous = signal.signal(signal.SIGINT, note)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield flag
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def train(model: Module, data: datasets.Dataset, config: dict[str, Any],
          interrupt: dict[str, bool] | None = None) -> tuple[dict[str, list], str | None]:
    """Train ``model`` in place; the per-epoch history of train/val loss and score, and
    why training stopped early: None, ``"diverged"`` (a NaN or inf loss: that epoch is
    the last recorded) or ``"interrupted"`` (``interrupt["interrupted"]`` was set: the
    epoch under way was finished first)."""
    optimizer = OPTIMIZERS[config["optimizer"]](model.parameters(), lr=config["lr"])
    # Annealing the rate to 0 lets the last epochs settle into a minimum instead of
    # bouncing around it (an option: on digits a constant rate measured as well or better).
    schedule = CosineAnnealingLR(optimizer, T_max=config["epochs"]) \
        if config.get("schedule", "constant") == "cosine" else None
    rng = np.random.default_rng(config["seed"])
    metric = score_name(data.classes).lower()
    history: dict[str, list[float]] = {f"{part}_{key}": [] for part in ("train", "val")
                                       for key in ("loss", metric)}
    interrupt = interrupt if interrupt is not None else {"interrupted": False}
    compiled = _compiled_step(model, optimizer, config) if config.get("compile") else None
    bar = tqdm(range(config["epochs"]), desc="epochs", file=sys.stderr, disable=None,
               leave=False)
    stopped = None
    for _ in bar:
        if interrupt["interrupted"]:
            stopped = "interrupted"
            break
        for X, y in batches(data.train.X, data.train.y, config["batch_size"], rng=rng):
            if compiled is not None:
                # The one-hot target is made here, outside the step: NumPy on the labels
                # inside it would be frozen at trace time.
                target = loss_target(y, config["loss"], data.classes, DTYPES[config["dtype"]])
                loss = compiled(X, target)
                if not np.isfinite(loss.data).all():  # noticed after its step, not before
                    stopped = "diverged"
                    break
                continue
            optimizer.zero_grad()
            loss = objective(model, X, y, config["loss"], data.classes, config["l2"])
            if not np.isfinite(loss.data).all():
                stopped = "diverged"
                break
            loss.backward()
            optimizer.step()
        for part in ("train", "val"):
            loss_value, score = evaluate(model, getattr(data, part), config["loss"],
                                         data.classes)
            history[f"{part}_loss"].append(loss_value)
            history[f"{part}_{metric}"].append(score)
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}",
                        **{f"val_{metric}": f"{history[f'val_{metric}'][-1]:.4f}"})
        if stopped is None and not np.isfinite(history["train_loss"][-1]):
            stopped = "diverged"  # the last step of the epoch overflowed the weights
        if stopped is not None:
            break
        if schedule is not None:
            schedule.step()
    bar.close()
    if stopped is None and interrupt["interrupted"]:
        stopped = "interrupted"  # during the last epoch: it finished, as asked
    return history, stopped


def _compiled_step(model: Module, optimizer: Any, config: dict[str, Any]) -> Compiled:
    """One training step (zero_grad, loss, backward, update) under ``ag.compile``: the
    first batch of each shape is traced, later ones replay it; the first replay of each
    shape is checked against eager (compile's default)."""
    loss, l2 = config["loss"], config["l2"]

    def step(X: np.ndarray, target: Any) -> Tensor:
        optimizer.zero_grad()
        value = penalised(model, model(X), target, loss, l2)
        value.backward()
        optimizer.step()
        return value

    return compile_step(step)


def _chance(split: datasets.Split) -> float:
    """The accuracy of always predicting the commonest class of ``split``."""
    return float(np.bincount(split.y).max() / len(split.y))


def run(args: argparse.Namespace) -> int:
    """Run ``train`` with parsed ``args``; returns the exit status."""
    try:
        data, config = _prepare(args)
        out = _out_dir(args)
    except UsageError as exc:
        print(f"autograd-lite train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while loading the data: nothing written yet
        print("autograd-lite train: interrupted before training", file=sys.stderr)
        return EXIT_INTERRUPTED
    # From here Ctrl-C is deferred: an interrupted check or epoch finishes, then the files.
    with _deferred_interrupt() as interrupt:
        return _checked_run(data, config, out, interrupt)


def _checked_run(data: datasets.Dataset, config: dict[str, Any], out: Path,
                 interrupt: dict[str, bool]) -> int:
    """Check the gradients, train, write the files; the exit status."""
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
    # A diverging run overflows in exp and matmul: it is reported once, below, instead of
    # as NumPy's RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history, stopped = train(model, data, config, interrupt)
        test_loss, test_score = evaluate(model, data.test, config["loss"], data.classes)
        name = score_name(data.classes)
        epochs = len(history["train_loss"])
        metrics = {"options": config, "seed": config["seed"],
                   "epochs": [{"epoch": i + 1, **{k: v[i] for k, v in history.items()}}
                              for i in range(epochs)],
                   "test_loss": test_loss, f"test_{name.lower()}": test_score,
                   "stopped": stopped}
        written = _write_outputs(out, model, data, config, history, metrics)
    if stopped == "diverged":
        print(f"autograd-lite train: error: the loss became NaN or inf in epoch {epochs}; "
              f"try a smaller --lr than {config['lr']:g} (files so far in {out}/)",
              file=sys.stderr)
        return EXIT_DIVERGED
    if stopped == "interrupted":
        print(f"autograd-lite train: interrupted after epoch {epochs} of {config['epochs']}; "
              f"wrote {out}/: {' '.join(written)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"test {name}: {test_score:.4f}")
    if data.classes and test_score <= _chance(data.test) + CHANCE_MARGIN:
        print(f"autograd-lite train: warning: test accuracy {test_score:.4f} is at chance "
              f"level ({_chance(data.test):.4f} by always guessing the commonest class); try "
              f"another --lr (now {config['lr']:g}), more --epochs or --optimizer adam",
              file=sys.stderr)
    print(f"wrote {out}/: {' '.join(written)}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "train", help="train an MLP or a CNN on a built-in data set (digits by default)",
        description="Train an MLP (or a CNN on digits) on a built-in data set after checking "
                    "its gradients; write metrics, plots, the graph and the model into --out.")
    parser.add_argument("--data", default="digits",
                        help=f"data set: {', '.join(datasets.NAMES)} (default digits)")
    parser.add_argument("--model", choices=MODELS, default="mlp",
                        help="mlp (default), or cnn: two 3x3 conv layers with max pooling "
                             "and a linear head (digits only)")
    parser.add_argument("--channels", default="16,32",
                        help="output channels of the CNN's two conv layers (default 16,32)")
    parser.add_argument("--hidden", default="256,128",
                        help="hidden layer sizes, comma-separated (default 256,128)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                        help="default relu")
    parser.add_argument("--loss", choices=LOSSES, default=None,
                        help="default: cross_entropy for classes, mse for regression")
    parser.add_argument("--l2", type=float, default=1e-4,
                        help="weight of the L2 penalty on the weights (default 1e-4)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                        help="default adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default by optimizer: " +
                             ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR["mlp"].items()) +
                             "; adam 3e-3 for the cnn)")
    parser.add_argument("--schedule", choices=SCHEDULES, default="constant",
                        help="learning rate over the epochs: constant (default), or cosine "
                             "annealing from --lr down to 0")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training set (default 40 for mlp, 20 for cnn)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data, the split, the model and the batch order (default 0)")
    parser.add_argument("--out", default=None,
                        help="output directory (default runs/<data>-<timestamp>)")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32",
                        help="dtype of the model and the data (default float32)")
    parser.add_argument("--compile", action="store_true",
                        help="run each training step through ag.compile: traced once per "
                             "batch shape, then replayed as flat NumPy (same results)")
    parser.set_defaults(func=run)
    return parser
