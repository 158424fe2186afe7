"""Neural-network building blocks composed from public Tensor operations.

``Module`` and its containers, ``Parameter``, layers (``Linear``, ``MLP``, ``Conv2d``,
pools, ``Embedding``, normalisation, activations, ``Dropout``), loss modules,
initializers (``nn.init``), gradient clipping (``nn.utils``) and the functional forms
(``nn.functional``, also ``ag.F``). Names, layouts and defaults are PyTorch's.
"""

from __future__ import annotations

from . import functional, init, utils
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d, Unflatten
from .layers import (
    ELU,
    GELU,
    MLP,
    Dropout,
    Embedding,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from .module import Module, ModuleList, Parameter, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "Module", "Sequential", "ModuleList", "Parameter", "Linear", "MLP", "ReLU", "Tanh",
    "Sigmoid", "GELU", "SiLU", "Softplus", "ELU", "LeakyReLU", "Dropout", "Embedding",
    "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Unflatten", "LayerNorm", "BatchNorm1d",
    "BatchNorm2d", "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
    "CrossEntropyLoss", "functional", "init", "utils",
]
