"""Tensor hooks and retained gradients, kept in a registry beside the tensors.

``register_hook(t, fn)`` and ``retain_grad(t)`` record here, keyed by the tensor's id
(the entry goes when the tensor does); the backward walk consults the registry only when
it is non-empty, so tensors without hooks cost nothing.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import Any


class _TensorHooks:
    """The hooks of one tensor and whether it retains its gradient."""

    __slots__ = ("fns", "retain", "ref", "__weakref__")

    def __init__(self, t: Any) -> None:
        self.fns: dict = {}
        self.retain = False
        key = id(t)
        self.ref = weakref.ref(t, lambda _ref: registry.pop(key, None))

    def run(self, g: Any) -> Any:
        """Call each hook on ``g`` in registration order; a non-None result replaces it."""
        for fn in list(self.fns.values()):
            result = fn(g)
            if result is not None:
                g = result
        return g


registry: dict = {}  # id(tensor) -> _TensorHooks; the entry goes when the tensor does
_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by ``Tensor.register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_entry", "_id")

    def __init__(self, hooks: _TensorHooks, hook_id: int) -> None:
        self._entry = weakref.ref(hooks)
        self._id = hook_id

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        hooks = self._entry()
        if hooks is None:
            return
        hooks.fns.pop(self._id, None)
        t = hooks.ref()
        if t is not None and not hooks.fns and not hooks.retain and registry.get(id(t)) is hooks:
            del registry[id(t)]


def _hooks_of(t: Any) -> _TensorHooks:
    hooks = registry.get(id(t))
    if hooks is None:
        hooks = registry[id(t)] = _TensorHooks(t)
    return hooks


def register_hook(t: Any, fn: Callable) -> RemovableHandle:
    """Call ``fn(grad)`` when ``t``'s gradient is complete in a backward pass; a non-None
    return value replaces the gradient. See ``Tensor.register_hook``."""
    if not t.requires_grad:
        raise RuntimeError(
            "register_hook: cannot register a hook on a tensor that does not require grad; "
            "create it with requires_grad=True or call requires_grad_() first"
        )
    if not callable(fn):
        raise TypeError(f"register_hook: expected a callable, got {type(fn).__name__}")
    hooks = _hooks_of(t)
    hook_id = next(_hook_ids)
    hooks.fns[hook_id] = fn
    return RemovableHandle(hooks, hook_id)


def retain_grad(t: Any) -> None:
    """Keep ``t``'s gradient in ``t.grad`` after backward (leaves do already)."""
    if not t.requires_grad:
        raise RuntimeError(
            "retain_grad: cannot retain the gradient of a tensor that does not require grad"
        )
    if t.node is not None:
        _hooks_of(t).retain = True
