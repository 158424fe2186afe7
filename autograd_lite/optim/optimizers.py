"""Optimizers with ``torch.optim``'s documented update rules: SGD, Adam, AdamW, RMSprop,
Adagrad.

An update never writes into a parameter's array: it computes a new array and rebinds
``p.data`` to it, because the old array may be saved (read-only) by a graph that is
still retained, whose backward must keep seeing the values of its forward pass.
Per-parameter state (momentum buffers, moments) belongs to the optimizer alone, so it is
updated in place.

``state_dict()`` is flat, name -> ndarray, so it goes through ``ag.save``/``ag.load``:
``"optimizer"`` (the class name), ``"hyper.<name>"`` for each hyperparameter and
``"state.<i>.<name>"`` for the state of the i-th parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import engine
from ..nn.module import zero_grads
from ..tensor import Tensor


def _param_list(params: Iterable[Tensor], owner: str) -> list[Tensor]:
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: got no parameters (an exhausted generator? pass "
                         f"model.parameters() afresh)")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.requires_grad or p.node is not None:
            raise TypeError(f"{owner}: parameter {i} must be a leaf Tensor with "
                            f"requires_grad=True, got {p!r}")
    return params


def _check_range(owner: str, name: str, value: float, low: float, high: float = np.inf) -> None:
    if not low <= value < high:
        raise ValueError(f"{owner}: {name} must be in [{low}, {high}), got {value}")


def _descend(p: np.ndarray, lr: float, direction: np.ndarray) -> np.ndarray:
    """A new array ``p - lr * direction`` (one temporary, reused for the result)."""
    step = np.multiply(direction, lr)
    return np.subtract(p, step, out=step)


class Optimizer:
    """Base class: holds the parameters, per-parameter state and hyperparameters
    (attributes named in ``_hyper``, e.g. ``opt.lr``, which may be changed between steps)."""

    _hyper: tuple[str, ...] = ()
    _state_names: tuple[str, ...] = ()  # the per-parameter state a state dict may hold

    def __init__(self, params: Iterable[Tensor]) -> None:
        self.params = _param_list(params, type(self).__name__)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's ``.grad`` to None (the next backward starts afresh), or
        with ``set_to_none=False`` to zeros, as PyTorch."""
        zero_grads(self.params, set_to_none)

    def step(self) -> None:
        """Update every parameter that has a gradient (others are skipped, as in PyTorch)."""
        if engine.tracer is not None:  # ag.compile: the replay calls this step again
            return engine.tracer.host(self.step)
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                p.data = self._update(p.data, p.grad.data, state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> np.ndarray:
        """The new value of one parameter ``p`` given its gradient ``g`` (same shape)."""
        raise NotImplementedError(f"{type(self).__name__} must define _update")

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat snapshot (copies) of hyperparameters and per-parameter state."""
        out: dict[str, np.ndarray] = {"optimizer": np.array(type(self).__name__)}
        for name in self._hyper:
            out[f"hyper.{name}"] = np.array(getattr(self, name))
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = np.array(value)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict()`` of an optimizer of
        the same class over parameters of the same shapes; training then continues
        exactly as it would have. Everything is checked before anything changes."""
        owner = f"{type(self).__name__}.load_state_dict"
        kind = str(np.asarray(state_dict.get("optimizer", "<missing>")))
        if kind != type(self).__name__:
            raise ValueError(f"{owner}: the state dict is for optimizer {kind!r}")
        hyper = {}
        hyper_keys = {f"hyper.{name}" for name in self._hyper}
        for name in self._hyper:
            key = f"hyper.{name}"
            if key not in state_dict:
                raise KeyError(f"{owner}: missing key {key!r}")
            hyper[name] = _like(getattr(self, name), state_dict[key])
        states: list[dict[str, Any]] = [{} for _ in self.params]
        for key, value in state_dict.items():
            if key == "optimizer" or key in hyper_keys:
                continue
            index, name = self._state_key(key, owner)
            states[index][name] = self._state_value(index, name, value, owner, key)
        for name, value in hyper.items():
            setattr(self, name, value)
        self.state = states

    def _state_key(self, key: str, owner: str) -> tuple[int, str]:
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit() or \
                parts[2] not in self._state_names:
            raise KeyError(f"{owner}: unexpected key {key!r}")
        index = int(parts[1])
        if index >= len(self.params):
            raise KeyError(f"{owner}: key {key!r} is for parameter {index}, but this optimizer "
                           f"has {len(self.params)} parameters")
        return index, parts[2]

    def _state_value(self, index: int, name: str, value: Any, owner: str, key: str) -> Any:
        arr = np.asarray(value)
        if name == "step":
            return int(arr)
        p = self.params[index]
        if arr.shape != p.shape:
            raise ValueError(f"{owner}: {key!r} has shape {arr.shape} but parameter {index} "
                             f"({p.name or 'unnamed'}) has shape {p.shape}")
        return np.array(arr, dtype=p.dtype)


def _like(current: Any, saved: Any) -> Any:
    """A saved hyperparameter back in the Python type of the current one."""
    arr = np.asarray(saved)
    if isinstance(current, tuple):
        return tuple(float(v) for v in arr)
    if isinstance(current, bool):
        return bool(arr)
    return float(arr)


class SGD(Optimizer):
    """Stochastic gradient descent, ``torch.optim.SGD``'s rule. At each step, with
    gradient ``g`` of parameter ``p``::

        g = g + weight_decay * p                        (if weight_decay)
        b = g at the first step, else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b         (if momentum)
        p = p - lr * g
    """

    _hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay")
    _state_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            _check_range("SGD", name, value, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        self.lr, self.momentum, self.dampening = float(lr), float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> np.ndarray:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()  # a copy: it is updated in place
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        return _descend(p, self.lr, g)


class Adam(Optimizer):
    """Adam, ``torch.optim.Adam``'s rule. At step ``t`` (counted per parameter)::

        g = g + weight_decay * p                        (L2 through the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v); v = v_max               (if amsgrad)
        p = p - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    AMSGrad keeps the maximum of the raw ``v`` and bias-corrects it afterwards, as
    PyTorch's code and its corrected documentation do.
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False  # AdamW: weight decay shrinks p directly instead of entering g

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params)
        name = type(self).__name__
        for hyper, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            _check_range(name, hyper, value, 0.0)
        _check_range(name, "betas[0]", betas[0], 0.0, 1.0)
        _check_range(name, "betas[1]", betas[1], 0.0, 1.0)
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.amsgrad = bool(amsgrad)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> np.ndarray:
        beta1, beta2 = self.betas
        if self.weight_decay and self._decoupled:
            p = p * (1.0 - self.lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * p
        t = state["step"] = state.get("step", 0) + 1
        m = state.setdefault("exp_avg", np.zeros_like(p))
        v = state.setdefault("exp_avg_sq", np.zeros_like(p))
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * (g * g)
        if self.amsgrad:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            v = np.maximum(v_max, v, out=v_max)
        denom = np.sqrt(v / (1.0 - beta2**t)) + self.eps
        return _descend(p, self.lr, (m / (1.0 - beta1**t)) / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay, ``torch.optim.AdamW``'s rule: first
    ``p = p * (1 - lr * weight_decay)``, then the Adam step without decay in ``g``.
    ``weight_decay`` defaults to 0.01, as in PyTorch."""

    _decoupled = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop, ``torch.optim.RMSprop``'s rule. With gradient ``g`` of parameter ``p``::

        g = g + weight_decay * p                           (if weight_decay)
        v = alpha * v + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g; d = sqrt(v - a**2) + eps   (if centered)
        d = sqrt(v) + eps                                  (otherwise)
        b = momentum * b + g / d; p = p - lr * b           (if momentum)
        p = p - lr * g / d                                 (otherwise)
    """

    _hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    _state_names = ("step", "square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params)
        for name, value in (("lr", lr), ("alpha", alpha), ("eps", eps),
                            ("weight_decay", weight_decay), ("momentum", momentum)):
            _check_range("RMSprop", name, value, 0.0)
        self.lr, self.alpha, self.eps = float(lr), float(alpha), float(eps)
        self.weight_decay, self.momentum = float(weight_decay), float(momentum)
        self.centered = bool(centered)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> np.ndarray:
        if self.weight_decay:
            g = g + self.weight_decay * p
        state["step"] = state.get("step", 0) + 1
        v = state.setdefault("square_avg", np.zeros_like(p))
        v *= self.alpha
        v += (1.0 - self.alpha) * (g * g)
        if self.centered:
            a = state.setdefault("grad_avg", np.zeros_like(p))
            a *= self.alpha
            a += (1.0 - self.alpha) * g
            denom = np.sqrt(v - a * a) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        if self.momentum:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= self.momentum
            buf += g / denom
            return _descend(p, self.lr, buf)
        return _descend(p, self.lr, g / denom)


class Adagrad(Optimizer):
    """Adagrad, ``torch.optim.Adagrad``'s rule. At step ``t`` (per parameter)::

        g = g + weight_decay * p                           (if weight_decay)
        s = s + g**2             (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    _hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    _state_names = ("step", "sum")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params)
        for name, value in (("lr", lr), ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("eps", eps)):
            _check_range("Adagrad", name, value, 0.0)
        self.lr, self.lr_decay, self.eps = float(lr), float(lr_decay), float(eps)
        self.weight_decay = float(weight_decay)
        self.initial_accumulator_value = float(initial_accumulator_value)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> np.ndarray:
        if self.weight_decay:
            g = g + self.weight_decay * p
        t = state["step"] = state.get("step", 0) + 1
        total = state.setdefault("sum", np.full_like(p, self.initial_accumulator_value))
        total += g * g
        lr = self.lr / (1.0 + (t - 1) * self.lr_decay)
        return _descend(p, lr, g / (np.sqrt(total) + self.eps))
