"""autograd_lite: a tape-based reverse-mode automatic differentiation engine on NumPy.

    import autograd_lite as ag
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""

from __future__ import annotations

from . import ops
from .checkpoint import checkpoint
from .compile import compile
from .engine import Step, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .function import Context, Function, once_differentiable
from .gradcheck import GradcheckError, gradcheck, numeric_grad
from .random import manual_seed
from .tensor import Tensor, tensor
from .transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad

# The ag.* functions of the op table (see autograd_lite/ops/table.py).
# BEGIN GENERATED ag functions (python -m autograd_lite.ops.codegen; do not edit)
# isort: off
from .ops.elementwise import abs as abs
from .ops.arithmetic import add as add
from .ops.creation import arange as arange
from .ops.unary import arccos as arccos
from .ops.unary import arccosh as arccosh
from .ops.unary import arcsin as arcsin
from .ops.unary import arcsinh as arcsinh
from .ops.unary import arctan as arctan
from .ops.binary import arctan2 as arctan2
from .ops.unary import arctanh as arctanh
from .ops.statistics import argmax as argmax
from .ops.statistics import argmin as argmin
from .ops.joining import array_split as array_split
from .ops.shape import astype as astype
from .ops.joining import atleast_1d as atleast_1d
from .ops.joining import atleast_2d as atleast_2d
from .ops.joining import atleast_3d as atleast_3d
from .ops.shape import broadcast_to as broadcast_to
from .ops.joining import cat as cat
from .ops.unary import ceil as ceil
from .ops.elementwise import clip as clip
from .ops.joining import column_stack as column_stack
from .ops.shape import concatenate as concatenate
from .ops.elementwise import cos as cos
from .ops.unary import cosh as cosh
from .ops.statistics import cumsum as cumsum
from .ops.contractions import diag as diag
from .ops.contractions import diagonal as diagonal
from .ops.arithmetic import divide as divide
from .ops.contractions import dot as dot
from .ops.joining import dstack as dstack
from .ops.contractions import einsum as einsum
from .ops.arithmetic import equal as equal
from .ops.elementwise import exp as exp
from .ops.unary import exp2 as exp2
from .ops.layout import expand_dims as expand_dims
from .ops.unary import expm1 as expm1
from .ops.creation import eye as eye
from .ops.layout import flip as flip
from .ops.layout import fliplr as fliplr
from .ops.layout import flipud as flipud
from .ops.unary import floor as floor
from .ops.binary import floor_divide as floor_divide
from .ops.binary import fmod as fmod
from .ops.creation import full as full
from .ops.creation import full_like as full_like
from .ops.arithmetic import greater as greater
from .ops.arithmetic import greater_equal as greater_equal
from .ops.joining import hstack as hstack
from .ops.binary import hypot as hypot
from .ops.contractions import inner as inner
from .ops.arithmetic import less as less
from .ops.arithmetic import less_equal as less_equal
from .ops.creation import linspace as linspace
from .ops.elementwise import log as log
from .ops.unary import log10 as log10
from .ops.unary import log1p as log1p
from .ops.unary import log2 as log2
from .ops.statistics import logsumexp as logsumexp
from .ops.arithmetic import matmul as matmul
from .ops.reductions import max as max
from .ops.arithmetic import maximum as maximum
from .ops.reductions import mean as mean
from .ops.reductions import min as min
from .ops.arithmetic import minimum as minimum
from .ops.binary import mod as mod
from .ops.layout import moveaxis as moveaxis
from .ops.arithmetic import multiply as multiply
from .ops.arithmetic import negative as negative
from .ops.arithmetic import not_equal as not_equal
from .ops.creation import ones as ones
from .ops.creation import ones_like as ones_like
from .ops.contractions import outer as outer
from .ops.layout import pad as pad
from .ops.arithmetic import power as power
from .ops.statistics import prod as prod
from .ops.creation import rand as rand
from .ops.creation import randn as randn
from .ops.layout import ravel as ravel
from .ops.unary import reciprocal as reciprocal
from .ops.elementwise import relu as relu
from .ops.layout import repeat as repeat
from .ops.shape import reshape as reshape
from .ops.layout import roll as roll
from .ops.layout import rot90 as rot90
from .ops.unary import round as round
from .ops.elementwise import sigmoid as sigmoid
from .ops.unary import sign as sign
from .ops.elementwise import sin as sin
from .ops.unary import sinc as sinc
from .ops.unary import sinh as sinh
from .ops.unary import softplus as softplus
from .ops.layout import sort as sort
from .ops.joining import split as split
from .ops.elementwise import sqrt as sqrt
from .ops.unary import square as square
from .ops.layout import squeeze as squeeze
from .ops.shape import stack as stack
from .ops.statistics import std as std
from .ops.arithmetic import subtract as subtract
from .ops.reductions import sum as sum
from .ops.layout import swapaxes as swapaxes
from .ops.layout import take as take
from .ops.layout import take_along_axis as take_along_axis
from .ops.unary import tan as tan
from .ops.elementwise import tanh as tanh
from .ops.contractions import tensordot as tensordot
from .ops.layout import tile as tile
from .ops.contractions import trace as trace
from .ops.shape import transpose as transpose
from .ops.contractions import tril as tril
from .ops.contractions import triu as triu
from .ops.unary import trunc as trunc
from .ops.reductions import var as var
from .ops.joining import vstack as vstack
from .ops.arithmetic import where as where
from .ops.creation import zeros as zeros
from .ops.creation import zeros_like as zeros_like
# isort: on
# END GENERATED ag functions

# isort: split
# Built on the engine above: neural networks, optimizers, data, graph rendering.
from . import data as data
from . import interop as interop
from . import linalg as linalg
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
    "Tensor", "tensor", "manual_seed", "linalg", "interop",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "Step",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp", "checkpoint",
    "numeric_grad", "gradcheck", "GradcheckError", "Function", "Context", "ops",
    "once_differentiable", "compile",
    "nn", "F", "optim", "data", "save", "load", "CheckpointError", "draw_graph",
    "animate_backward",
]

# BEGIN GENERATED ag __all__ (python -m autograd_lite.ops.codegen; do not edit)
__all__ += [
    "abs", "add", "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "argmax", "argmin", "array_split", "astype", "atleast_1d", "atleast_2d",
    "atleast_3d", "broadcast_to", "cat", "ceil", "clip", "column_stack", "concatenate", "cos",
    "cosh", "cumsum", "diag", "diagonal", "divide", "dot", "dstack", "einsum", "equal", "exp",
    "exp2", "expand_dims", "expm1", "eye", "flip", "fliplr", "flipud", "floor", "floor_divide",
    "fmod", "full", "full_like", "greater", "greater_equal", "hstack", "hypot", "inner", "less",
    "less_equal", "linspace", "log", "log10", "log1p", "log2", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mod", "moveaxis", "multiply", "negative", "not_equal",
    "ones", "ones_like", "outer", "pad", "power", "prod", "rand", "randn", "ravel", "reciprocal",
    "relu", "repeat", "reshape", "roll", "rot90", "round", "sigmoid", "sign", "sin", "sinc", "sinh",
    "softplus", "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum",
    "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile", "trace", "transpose",
    "tril", "triu", "trunc", "var", "vstack", "where", "zeros", "zeros_like"
]
# END GENERATED ag __all__
