"""Fixtures shared by the engine's test modules."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test sees the same "random" values on every run."""
    return np.random.default_rng(20240601)
