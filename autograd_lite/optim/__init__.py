"""Optimizers (``SGD Adam AdamW RMSprop Adagrad``) and learning-rate schedulers
(``optim.lr_scheduler``), with ``torch.optim``'s names, defaults and update rules."""

from __future__ import annotations

from . import lr_scheduler
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
