"""autograd_lite: a tape-based reverse-mode automatic differentiation engine on NumPy.

    import autograd_lite as ag
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""

from __future__ import annotations

from . import ops
from .checkpoint import checkpoint
from .engine import Step, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .function import Context, Function, once_differentiable
from .gradcheck import GradcheckError, gradcheck, numeric_grad
from .ops import (
    concatenate,
    exp,
    log,
    maximum,
    minimum,
    ones,
    randn,
    relu,
    sigmoid,
    sqrt,
    stack,
    tanh,
    where,
    zeros,
)
from .tensor import Tensor, tensor
from .transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad

# isort: split
# Built on the engine above: neural networks, optimizers, data, graph rendering.
from . import data as data
from . import interop as interop
from . import nn as nn
from . import optim as optim
from .graph import animate_backward as animate_backward
from .graph import draw_graph as draw_graph
from .nn import functional as F
from .serialization import CheckpointError as CheckpointError
from .serialization import load as load
from .serialization import save as save

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "concatenate", "stack", "where", "maximum", "minimum",
    "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "zeros", "ones", "randn",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "Step",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp", "checkpoint",
    "numeric_grad", "gradcheck", "GradcheckError", "Function", "Context", "ops",
    "once_differentiable",
    "nn", "F", "optim", "data", "save", "load", "CheckpointError", "draw_graph",
    "animate_backward",
]
