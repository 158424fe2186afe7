"""The package's random generator: what ``randn``, ``rand``, layer initialisation and
dropout draw from when no ``rng`` is given, so ``ag.manual_seed(0)`` makes a script
repeatable without passing generators around (as ``torch.manual_seed``)."""

from __future__ import annotations

import numpy as np

from . import engine

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator with ``seed`` (a non-negative int); returns it."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The generator used when no ``rng`` is passed."""
    return _generator


def generator(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` itself, or the default generator when it is None."""
    if rng is not None and engine.tracer is not None:  # ag.compile sees no draw from rng
        raise RuntimeError("compile: fn drew from a NumPy generator passed as rng= (a "
                           "Dropout(rng=...) in training, rand(rng=...)...): the numbers "
                           "would be frozen at trace time; draw them outside and pass them "
                           "as arguments")
    return _generator if rng is None else rng
