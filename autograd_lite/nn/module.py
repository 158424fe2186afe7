"""Modules: containers of parameters that know where they live.

A :class:`Module` registers, on attribute assignment, every :class:`Parameter` and every
leaf Tensor with ``requires_grad=True`` as a parameter and every Module as a child;
``register_buffer`` adds state that is saved but not trained (BatchNorm's running
statistics). Each parameter's
``.name`` is its dotted path (``layers.0.weight``), the key it has in ``state_dict()``,
so errors and rendered graphs say where a tensor lives. Calling a module runs its
``forward`` inside ``engine.scope`` so recorded ops carry the module path
(``mlp.layers.0``): the outermost module is named after its class, lowercased.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import engine
from ..engine import scope
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module's parameter: ``nn.Parameter(data, requires_grad=True)``.

    ``data`` as for ``Tensor`` (a Tensor's values are copied). Assigned to a Module
    attribute it is registered even with ``requires_grad=False``, as in PyTorch.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_parameter(value: Any) -> bool:
    # Only leaves: a module that caches an activation (a recorded, non-leaf Tensor) as
    # an attribute has not created a parameter.
    return isinstance(value, Parameter) or (
        isinstance(value, Tensor) and value.requires_grad and value.node is None)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class of layers and models: subclass, call ``super().__init__()`` first,
    assign parameters and sub-modules as attributes, define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_path", "")  # where this module sits under its root
        object.__setattr__(self, "_scope", type(self).__name__.lower())
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            if _is_parameter(value) or isinstance(value, Module):
                raise AttributeError(
                    f"cannot assign {name!r} before Module.__init__(); call "
                    f"super().__init__() first in {type(self).__name__}.__init__"
                )
            object.__setattr__(self, name, value)
            return
        params.pop(name, None)
        self._modules.pop(name, None)
        if name in self._buffers:  # a new value for a buffer (BatchNorm's running stats)
            self._buffers[name] = _buffer_array(value, name, type(self).__name__)
            object.__setattr__(self, name, self._buffers[name])
            return
        if _is_parameter(value):
            params[name] = value
            value.name = _join(self._path, name)
        elif isinstance(value, Module):
            self._modules[name] = value
            value._place(_join(self._path, name), f"{self._scope}.{name}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Any) -> None:
        """Keep ``value`` (an array) as ``self.<name>``: in ``state_dict()`` and loaded by
        ``load_state_dict``, but not a parameter (no gradient, not optimised)."""
        if name in self._parameters or name in self._modules:
            raise KeyError(f"{type(self).__name__}.register_buffer: {name!r} is already a "
                           f"parameter or a sub-module")
        self._buffers[name] = _buffer_array(value, name, type(self).__name__)
        object.__setattr__(self, name, self._buffers[name])

    def _place(self, path: str, scope_name: str) -> None:
        """Record that this module now sits at ``path`` (scope ``scope_name``) and rename
        every parameter below it accordingly."""
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_scope", scope_name)
        for name, p in self._parameters.items():
            p.name = _join(path, name)
        for name, child in self._modules.items():
            child._place(_join(path, name), f"{scope_name}.{name}")

    # ---- running -----------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if engine.tracer is not None:  # ag.compile: a replay needs the same train/eval mode
            engine.tracer.guard(self, "training")
        with scope(self._scope):
            return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it (call the module, not ``forward``)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ---- traversal ---------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted path, module)`` for this module (path ``prefix``) and every
        descendant, depth first in registration order, each module once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [(_join(path, n), m) for n, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in registration order."""
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, parameter)`` pairs (``layers.0.weight``), each parameter once
        (a shared one under its first name)."""
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield _join(path, name), p

    def parameters(self) -> Iterator[Tensor]:
        """Every parameter, each once, in the order of ``named_parameters``."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` of every buffer (``bn.running_mean``)."""
        for path, module in self.named_modules(prefix):
            for name, value in module._buffers.items():
                yield _join(path, name), value

    def buffers(self) -> Iterator[np.ndarray]:
        """Every buffer's array, in the order of ``named_buffers``."""
        for _, value in self.named_buffers():
            yield value

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: set it to None, or with ``set_to_none=False``
        to zeros of the parameter's shape (PyTorch's two behaviours)."""
        zero_grads(self.parameters(), set_to_none)

    # ---- modes -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all descendants (Dropout reads it)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode, recursively: same as ``train(False)``."""
        return self.train(False)

    # ---- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, tuple[Module, str, Any]]:
        """Every state entry in PyTorch's order (per module: parameters, then buffers):
        dotted name -> (owning module, attribute, value); a shared parameter once."""
        entries: dict[str, tuple[Module, str, Any]] = {}
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    entries[_join(path, name)] = (module, name, p)
            for name, value in module._buffers.items():
                entries[_join(path, name)] = (module, name, value)
        return entries

    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot: dotted name -> a copy of the array of every parameter and buffer
        (``layers.0.weight``, ``bn.running_mean``), in PyTorch's order."""
        return {name: (value.data if isinstance(value, Tensor) else value).copy()
                for name, (_, _, value) in self._state().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy arrays from ``state`` into the parameters and buffers of the same names.

        All checks run before anything is written: a missing or unexpected key raises
        ``KeyError`` and a shape mismatch ``ValueError``, each naming the key. Values
        are cast to each entry's dtype; parameters get new arrays, so graphs recorded
        earlier keep the values they saw.
        """
        own = self._state()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict into {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}; the state dict must come from a model of "
                f"the same architecture (expected keys {list(own)})"
            )
        arrays = {}
        for key, (_, _, current) in own.items():
            value = state[key]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"load_state_dict: {key!r} holds dtype {arr.dtype}, not numbers")
            if arr.shape != current.shape:
                raise ValueError(
                    f"load_state_dict: {key!r} has shape {arr.shape} in the state dict but "
                    f"{current.shape} in {type(self).__name__}; the layer sizes differ"
                )
            arrays[key] = arr
        for key, (module, name, current) in own.items():
            if isinstance(current, Tensor):
                current.data = np.array(arrays[key], dtype=current.dtype)
            else:
                setattr(module, name, np.array(arrays[key], dtype=current.dtype))

    # ---- display -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's own settings, shown inside its repr (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {child!r}".replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _buffer_array(value: Any, name: str, owner: str) -> np.ndarray:
    arr = value.data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: buffer {name!r} must be a numeric array, got {arr.dtype}")
    return np.array(arr)  # its own writable copy: batch norm updates it in place


def zero_grads(params: Iterable[Tensor], set_to_none: bool) -> None:
    """Clear the ``.grad`` of each of ``params``: None, or zeros of the parameter's shape."""
    if engine.tracer is not None:  # ag.compile: the replay clears them again
        return engine.tracer.host(zero_grads, list(params), set_to_none)
    for p in params:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad = Tensor(np.zeros(p.shape, dtype=p.dtype))


class _ModuleSequence(Module):
    """Modules held in order under the names ``"0"``, ``"1"``, ... (shared list behaviour
    of :class:`Sequential` and :class:`ModuleList`)."""

    def __init__(self, modules: tuple | list = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> _ModuleSequence:
        """Add ``module`` at the end (named by its index); returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: expected a Module, got "
                            f"{type(module).__name__} (wrap functions in a Module subclass)")
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules: list | tuple) -> _ModuleSequence:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int) -> Module:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be integers, got "
                            f"{type(index).__name__}")
        items = list(self._modules.values())
        if not -len(items) <= index < len(items):
            raise IndexError(f"{type(self).__name__}: index {index} out of range for "
                             f"{len(items)} modules")
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class Sequential(_ModuleSequence):
    """``Sequential(m0, m1, ...)``: calling it feeds each module's output to the next."""

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            raise TypeError("Sequential takes modules as separate arguments: "
                            "Sequential(*layers), not Sequential(layers)")
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        """``x`` through every module in order (shapes as the modules define)."""
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (``layers.0.weight``...).

    It has no forward of its own: iterate over it in the parent's ``forward``.
    """

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Not callable: a ModuleList only holds modules."""
        raise TypeError("ModuleList is not callable; iterate over it in the parent's "
                        "forward (or use Sequential to chain modules)")
