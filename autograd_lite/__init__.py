"""autograd_lite: a tape-based reverse-mode automatic differentiation engine on NumPy.

    import autograd_lite as ag
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""

from __future__ import annotations

from . import ops
from .engine import Step, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .function import Context, Function
from .gradcheck import GradcheckError, gradcheck, numeric_grad
from .ops import ones, randn, zeros
from .tensor import Tensor, tensor
from .transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad

# The ag.* functions of the op table (see autograd_lite/ops/table.py).
# BEGIN GENERATED ag functions (python -m autograd_lite.ops.codegen; do not edit)
# isort: off
from .ops.elementwise import abs as abs
from .ops.arithmetic import add as add
from .ops.shape import astype as astype
from .ops.shape import broadcast_to as broadcast_to
from .ops.elementwise import clip as clip
from .ops.shape import concatenate as concatenate
from .ops.elementwise import cos as cos
from .ops.arithmetic import divide as divide
from .ops.arithmetic import equal as equal
from .ops.elementwise import exp as exp
from .ops.arithmetic import greater as greater
from .ops.arithmetic import greater_equal as greater_equal
from .ops.arithmetic import less as less
from .ops.arithmetic import less_equal as less_equal
from .ops.elementwise import log as log
from .ops.arithmetic import matmul as matmul
from .ops.reductions import max as max
from .ops.arithmetic import maximum as maximum
from .ops.reductions import mean as mean
from .ops.reductions import min as min
from .ops.arithmetic import minimum as minimum
from .ops.arithmetic import multiply as multiply
from .ops.arithmetic import negative as negative
from .ops.arithmetic import not_equal as not_equal
from .ops.arithmetic import power as power
from .ops.elementwise import relu as relu
from .ops.shape import reshape as reshape
from .ops.elementwise import sigmoid as sigmoid
from .ops.elementwise import sin as sin
from .ops.elementwise import sqrt as sqrt
from .ops.shape import stack as stack
from .ops.arithmetic import subtract as subtract
from .ops.reductions import sum as sum
from .ops.elementwise import tanh as tanh
from .ops.shape import transpose as transpose
from .ops.reductions import var as var
from .ops.arithmetic import where as where
# isort: on
# END GENERATED ag functions

# isort: split
# Built on the engine above: neural networks, optimizers, data, graph rendering.
from . import data as data
from . import nn as nn
from . import optim as optim
from .graph import draw_graph as draw_graph
from .nn import functional as F
from .serialization import load as load
from .serialization import save as save

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "randn",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "Step",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp",
    "numeric_grad", "gradcheck", "GradcheckError", "Function", "Context", "ops",
    "nn", "F", "optim", "data", "save", "load", "draw_graph",
]

# BEGIN GENERATED ag __all__ (python -m autograd_lite.ops.codegen; do not edit)
__all__ += [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "divide", "equal", "exp",
    "greater", "greater_equal", "less", "less_equal", "log", "matmul", "max", "maximum", "mean",
    "min", "minimum", "multiply", "negative", "not_equal", "power", "relu", "reshape", "sigmoid",
    "sin", "sqrt", "stack", "subtract", "sum", "tanh", "transpose", "var", "where"
]
# END GENERATED ag __all__
