"""Neural-network building blocks composed from public Tensor operations.

``Module`` and its containers, layers (``Linear``, ``MLP``, activations, ``Dropout``),
initializers (``nn.init``) and the functional forms (``nn.functional``, also ``ag.F``).
"""

from __future__ import annotations

from . import functional, init
from .layers import MLP, Dropout, Linear, ReLU, Sigmoid, Tanh
from .module import Module, ModuleList, Sequential

__all__ = [
    "Module", "Sequential", "ModuleList", "Linear", "MLP", "ReLU", "Tanh", "Sigmoid",
    "Dropout", "functional", "init",
]
