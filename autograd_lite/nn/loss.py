"""Loss modules: the functions of ``nn.functional`` with their options stored, as
``torch.nn``'s ``MSELoss``, ``CrossEntropyLoss``...; called as ``loss(input, target)``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss with a ``reduction`` (``"mean"``, ``"sum"`` or ``"none"``) and options."""

    _function: Any = None
    _options: tuple[str, ...] = ()

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (shapes as the function requires)."""
        options = {k: getattr(self, k) for k in self._options}
        return type(self)._function(input, target, reduction=self.reduction, **options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in ("reduction", *self._options))


class MSELoss(_Loss):
    """Mean squared error, ``F.mse_loss``."""

    _function = F.mse_loss


class L1Loss(_Loss):
    """Mean absolute error, ``F.l1_loss``."""

    _function = F.l1_loss


class HuberLoss(_Loss):
    """Quadratic within ``delta``, linear beyond, ``F.huber_loss``."""

    _function = F.huber_loss
    _options = ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, ``F.binary_cross_entropy``."""

    _function = F.binary_cross_entropy


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, ``F.binary_cross_entropy_with_logits``."""

    _function = F.binary_cross_entropy_with_logits


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits ``(N, C, ...)``, ``F.cross_entropy``."""

    _function = F.cross_entropy
    _options = ("ignore_index", "label_smoothing")

    def __init__(self, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
