"""Moving models to and from PyTorch: ``to_torch(module)`` and ``from_torch(torch_module)``.

Each layer maps to the PyTorch layer of the same name with the same settings; weights
and buffers travel through the state dicts, whose keys are the same on both sides
(``layers.0.weight``, ``bn.running_mean``), with their dtypes, and the train/eval mode
is copied. ``MLP`` and other models whose ``forward`` is ``self.layers`` (the ``train``
command's CNN) become a small PyTorch module holding ``layers``, so the keys, and a
state dict saved from either side, fit the other. PyTorch is imported only when one of
these functions runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import nn
from .tensor import Tensor

# One row per layer: our class, PyTorch's class name (in torch.nn), and the constructor
# keywords read off a module. Both sides use the same attribute and keyword names, so
# one function serves both directions.
_LAYERS: list[tuple[type, str, Callable[[Any], dict[str, Any]]]] = [
    (nn.Linear, "Linear", lambda m: dict(in_features=m.in_features,
                                         out_features=m.out_features, bias=m.bias is not None)),
    (nn.Conv2d, "Conv2d", lambda m: dict(in_channels=m.in_channels,
                                         out_channels=m.out_channels,
                                         kernel_size=m.kernel_size, stride=m.stride,
                                         padding=m.padding, bias=m.bias is not None)),
    (nn.MaxPool2d, "MaxPool2d", lambda m: dict(kernel_size=m.kernel_size, stride=m.stride,
                                               padding=m.padding)),
    (nn.AvgPool2d, "AvgPool2d", lambda m: dict(kernel_size=m.kernel_size, stride=m.stride,
                                               padding=m.padding)),
    (nn.Flatten, "Flatten", lambda m: dict(start_dim=m.start_dim, end_dim=m.end_dim)),
    (nn.Unflatten, "Unflatten", lambda m: dict(dim=m.dim, unflattened_size=m.unflattened_size)),
    (nn.Embedding, "Embedding", lambda m: dict(num_embeddings=m.num_embeddings,
                                               embedding_dim=m.embedding_dim)),
    (nn.LayerNorm, "LayerNorm", lambda m: dict(normalized_shape=m.normalized_shape, eps=m.eps,
                                               elementwise_affine=m.weight is not None)),
    (nn.BatchNorm1d, "BatchNorm1d", lambda m: dict(num_features=m.num_features, eps=m.eps,
                                                   momentum=m.momentum,
                                                   affine=m.weight is not None)),
    (nn.BatchNorm2d, "BatchNorm2d", lambda m: dict(num_features=m.num_features, eps=m.eps,
                                                   momentum=m.momentum,
                                                   affine=m.weight is not None)),
    (nn.ReLU, "ReLU", lambda m: {}),
    (nn.Tanh, "Tanh", lambda m: {}),
    (nn.Sigmoid, "Sigmoid", lambda m: {}),
    (nn.SiLU, "SiLU", lambda m: {}),
    (nn.GELU, "GELU", lambda m: dict(approximate=m.approximate)),
    (nn.Softplus, "Softplus", lambda m: dict(beta=m.beta, threshold=m.threshold)),
    (nn.ELU, "ELU", lambda m: dict(alpha=m.alpha)),
    (nn.LeakyReLU, "LeakyReLU", lambda m: dict(negative_slope=m.negative_slope)),
    (nn.Dropout, "Dropout", lambda m: dict(p=m.p)),
]
# Layers whose constructors take a dtype (they hold weights or buffers).
_WEIGHTED = {"Linear", "Conv2d", "Embedding", "LayerNorm", "BatchNorm1d", "BatchNorm2d"}
# PyTorch settings without a counterpart here: converting a layer that uses another
# value than this would silently change what it computes.
_TORCH_ONLY = {
    "Conv2d": {"dilation": (1, 1), "groups": 1, "padding_mode": "zeros"},
    "MaxPool2d": {"dilation": 1, "ceil_mode": False, "return_indices": False},
    "AvgPool2d": {"ceil_mode": False, "count_include_pad": True, "divisor_override": None},
    "Embedding": {"padding_idx": None, "max_norm": None},
    "BatchNorm1d": {"track_running_stats": True},
    "BatchNorm2d": {"track_running_stats": True},
    "ELU": {"inplace": False},
}


class LayersModel(nn.Module):
    """What ``from_torch`` makes of a converted ``MLP`` or CNN: ``forward`` is
    ``self.layers`` (a Sequential), so state-dict keys stay ``layers.0.weight``..."""

    def __init__(self, layers: nn.Sequential) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, x: Any) -> Tensor:
        """``self.layers(x)``."""
        return self.layers(x)


def _has_layers_forward(module: nn.Module) -> bool:
    """True for models that are just ``self.layers`` (MLP, LayersModel, train's CNN)."""
    children = dict(module._modules)
    return list(children) == ["layers"] and isinstance(children["layers"], nn.Sequential) \
        and not module._parameters and not module._buffers


def _dtype_of(module: nn.Module) -> np.dtype:
    for _, p in module.named_parameters():
        return p.dtype
    return np.dtype(np.float64)


def _torch_layers_model(torch: Any) -> type:
    """PyTorch's side of :class:`LayersModel`, defined once torch is imported."""
    global _TorchLayersModel
    if _TorchLayersModel is None:
        class TorchLayersModel(torch.nn.Module):
            """A converted ``MLP``/CNN: ``forward`` is ``self.layers``."""

            def __init__(self, layers: Any) -> None:
                super().__init__()
                self.layers = layers

            def forward(self, x: Any) -> Any:
                return self.layers(x)

        _TorchLayersModel = TorchLayersModel
    return _TorchLayersModel


_TorchLayersModel: type | None = None


def _build_torch(module: nn.Module, torch: Any) -> Any:
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(*(_build_torch(m, torch) for m in module))
    if _has_layers_forward(module):
        return _torch_layers_model(torch)(_build_torch(module.layers, torch))
    for ours, name, settings in _LAYERS:
        if type(module) is ours:
            dtype = getattr(torch, str(_dtype_of(module)))
            return getattr(torch.nn, name)(**_with_dtype(settings(module), dtype,
                                                         name in _WEIGHTED))
    raise TypeError(f"to_torch: no PyTorch counterpart for {type(module).__name__}; "
                    f"convertible: Sequential, MLP, {', '.join(n for _, n, _ in _LAYERS)}")


def to_torch(module: nn.Module) -> Any:
    """A ``torch.nn.Module`` computing what ``module`` computes, with copies of its
    weights and buffers (same keys, same dtypes) and its train/eval mode."""
    import torch

    converted = _build_torch(module, torch)
    converted.load_state_dict({k: torch.from_numpy(np.array(v))
                               for k, v in module.state_dict().items()})
    return converted.train(module.training)


def _supported(value: Any, expected: Any) -> bool:
    if expected is None or isinstance(expected, str):
        return value == expected
    return bool(np.all(np.asarray(value) == np.asarray(expected)))  # 1 and (1, 1) alike


def _with_dtype(kwargs: dict[str, Any], dtype: Any, has_weights: bool) -> dict[str, Any]:
    return {**kwargs, "dtype": dtype} if has_weights else kwargs


def _build_ours(module: Any, torch: Any) -> nn.Module:
    if isinstance(module, torch.nn.Sequential):
        return nn.Sequential(*(_build_ours(m, torch) for m in module))
    if _TorchLayersModel is not None and isinstance(module, _TorchLayersModel):
        return LayersModel(_build_ours(module.layers, torch))
    name = type(module).__name__
    for ours, torch_name, settings in _LAYERS:
        if type(module) is getattr(torch.nn, torch_name):
            for option, expected in _TORCH_ONLY.get(name, {}).items():
                value = getattr(module, option)
                if not _supported(value, expected):
                    raise ValueError(f"from_torch: {name} with {option}={value!r} has no "
                                     f"counterpart here (only {option}={expected!r})")
            weight = getattr(module, "weight", None)
            dtype = None if weight is None else weight.detach().numpy().dtype
            return ours(**_with_dtype(settings(module), dtype, name in _WEIGHTED))
    raise TypeError(f"from_torch: no counterpart for torch.nn.{name}; convertible: "
                    f"Sequential, {', '.join(n for _, n, _ in _LAYERS)}")


def from_torch(torch_module: Any) -> nn.Module:
    """An autograd_lite module computing what ``torch_module`` computes, with copies of
    its weights and buffers (same keys and dtypes) and its train/eval mode."""
    import torch

    ours = _build_ours(torch_module, torch)
    ours.load_state_dict({k: v.detach().cpu().numpy()
                          for k, v in torch_module.state_dict().items()})
    return ours.train(torch_module.training)
