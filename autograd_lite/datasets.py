"""Built-in data sets for ``autograd-lite train``: digits (scikit-learn) and generated ones.

Every data set comes split into train/validation/test by :func:`load`, deterministically
from a seed: the generated sets (``xor``, ``moons``, ``spiral``, ``sine``) are drawn from
a Generator seeded with it and the split permutes with the same seed, so a seed alone
reproduces every sample and every split (``eval`` relies on this).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

FRACTIONS = (0.7, 0.15, 0.15)  # train, validation, test
GENERATED_SAMPLES = 600


class DatasetError(ValueError):
    """A data set that is not built in (the message lists those that are) or cannot be
    loaded (scikit-learn missing for digits)."""


@dataclasses.dataclass(frozen=True)
class Split:
    """One part of a data set: features ``X (N, d)`` and targets ``y`` (class indices
    ``(N,)`` for classification, values ``(N, 1)`` for regression)."""

    X: np.ndarray
    y: np.ndarray


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A data set split three ways. ``classes`` is 0 for regression; ``image_shape`` is
    the shape of one sample as a picture (digits: ``(8, 8)``), else None."""

    name: str
    train: Split
    val: Split
    test: Split
    classes: int
    image_shape: tuple[int, int] | None = None

    @property
    def features(self) -> int:
        """Number of input features per sample."""
        return self.train.X.shape[1]

    @property
    def outputs(self) -> int:
        """Number of model outputs: one score per class, or one value for regression."""
        return self.classes or 1


def _digits(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits shipped with scikit-learn, pixels scaled to [0, 1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DatasetError("data set 'digits' needs scikit-learn: pip install "
                             "'autograd-lite[demo]' (or pip install scikit-learn)") from exc
    digits = load_digits()
    return digits.data / 16.0, digits.target.astype(np.int64)


def _xor(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled by whether their coordinates' signs differ."""
    X = rng.uniform(-1, 1, size=(GENERATED_SAMPLES, 2))
    return X, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)


def _moons(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving noisy half circles."""
    n = GENERATED_SAMPLES // 2
    t = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0, 0.1, size=(2 * n, 2))
    return X, np.repeat(np.arange(2), n)


def _spiral(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved noisy spiral arms, one class each."""
    arms, n = 3, GENERATED_SAMPLES // 3
    r = np.linspace(0.05, 1, n)
    parts = []
    for k in range(arms):
        theta = np.linspace(k * 4, (k + 1) * 4, n) + rng.normal(0, 0.2, size=n)
        parts.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
    return np.concatenate(parts), np.repeat(np.arange(arms), n)


def _sine(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression: ``y = sin(x) + noise`` for x in [-pi, pi]."""
    x = rng.uniform(-np.pi, np.pi, size=(GENERATED_SAMPLES, 1))
    return x, np.sin(x) + rng.normal(0, 0.05, size=x.shape)


_BUILDERS: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "digits": _digits, "xor": _xor, "moons": _moons, "spiral": _spiral, "sine": _sine,
}
NAMES = tuple(_BUILDERS)
REGRESSION = frozenset({"sine"})
# The noiseless function behind each regression set, for fit plots.
TRUTH: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sine": np.sin}


def split_indices(y: np.ndarray, rng: np.random.Generator, stratify: bool,
                  fractions: tuple[float, float, float] = FRACTIONS) -> list[np.ndarray]:
    """Indices of the train, validation and test parts of ``len(y)`` samples.

    With ``stratify`` each class is split in the same proportions, so every part has
    (nearly) the class balance of the whole; otherwise one permutation is cut.
    """
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    parts: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        order = rng.permutation(group)
        cuts = np.round(np.cumsum(fractions[:2]) * len(order)).astype(int)
        for part, chunk in zip(parts, np.split(order, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(part)) for part in parts]


def load(name: str, seed: int, dtype: np.dtype | type = np.float64) -> Dataset:
    """The data set ``name`` (one of :data:`NAMES`), generated and split with ``seed``;
    features in ``dtype`` (regression targets too). Raises DatasetError."""
    if name not in _BUILDERS:
        raise DatasetError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}")
    rng = np.random.default_rng(seed)
    X, y = _BUILDERS[name](rng)
    regression = name in REGRESSION
    X = X.astype(dtype)
    y = y.astype(dtype) if regression else y
    train, val, test = (Split(X[idx], y[idx]) for idx in
                        split_indices(y, rng, stratify=not regression))
    return Dataset(name, train, val, test, classes=0 if regression else int(y.max()) + 1,
                   image_shape=(8, 8) if name == "digits" else None)
