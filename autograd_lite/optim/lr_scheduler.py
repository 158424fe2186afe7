"""Learning-rate schedulers with ``torch.optim.lr_scheduler``'s chainable rules.

Create one on an optimizer (its ``lr`` becomes the base rate) and call ``step()`` once
per epoch after ``optimizer.step()``; ``get_last_lr()`` is a list (one entry per
parameter group, and these optimizers have one). Each rule computes the next rate from
the optimizer's current ``lr``, as PyTorch's do, so the sequences agree element for
element.
"""

from __future__ import annotations

import math

from .optimizers import Optimizer


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets ``optimizer.lr`` to
    ``get_lr()``. Construction takes the first step (epoch 0: the base rate)."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer from ag.optim, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [optimizer.lr]
        self.last_epoch = -1
        self._last_lr = [optimizer.lr]
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch``, from the current ones."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr")

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        (self.optimizer.lr,) = self.get_lr()
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The rates set by the last ``step()`` (a list, as PyTorch)."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """``lr * gamma`` at multiples of ``step_size``, else ``lr``."""
        lr = self.optimizer.lr
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return [lr]
        return [lr * self.gamma]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """``lr * gamma`` (the base rate at epoch 0)."""
        lr = self.optimizer.lr
        return [lr] if self.last_epoch == 0 else [lr * self.gamma]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs, then
    back up (the curve is periodic, as PyTorch's recursive rule makes it)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive form of ``eta_min + (base - eta_min) (1 + cos(pi t / T)) / 2``."""
        lr, base, t, period = self.optimizer.lr, self.base_lrs[0], self.last_epoch, self.T_max
        if t == 0:
            return [lr]
        if (t - 1 - period) % (2 * period) == 0:  # the bottom: the ratio below would be 0/0
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - self.eta_min) + self.eta_min]
