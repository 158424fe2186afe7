"""Inline NumPy forms of the hottest ops' forward and VJP, for ``ag.compile``'s replay."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np


@functools.cache
def inline_forms() -> tuple[dict, dict]:
    """Inline forms of the hottest ops' forward and VJP, so a replay line is the NumPy
    expression itself instead of a call through the op's generic function (each such call
    costs ~0.5-2 us on small arrays: W2's step is ~40 of them).

    Keyed by the very functions they mirror, so an op whose forward or VJP is rewritten no
    longer matches and falls back to the generic call; and each form is also checked
    bitwise against the generic result on the traced values before it is used. (No
    ``out=`` buffers: measured, NumPy's allocator already reuses the memory, e.g.
    ``np.maximum`` on (128, 256) float64 15.3 us fresh vs 15.4 us into a buffer, ``tanh``
    on (32, 16) 8.4 vs 8.3 us, so buffers would only add aliasing hazards.) A form is
    ``form(params, arrays) -> str | None`` for a forward, ``form(params, arrays, index) ->
    str | None`` for the gradient of input ``index``, with ``{a0}``, ``{a1}``, ``{g}``,
    ``{out}`` standing for the arguments, the incoming gradient and the output.
    """
    from ..nn import functional as fn
    from ..ops import arithmetic as ar
    from ..ops import elementwise as el
    from ..ops import reductions as rd
    from ..ops import shape as sh

    def flat(arrays: list) -> bool:  # linear's forms are for (N, in) inputs only
        return arrays[0].ndim == 2

    def count(params: dict, arrays: list) -> int:
        return int(np.prod([arrays[0].shape[i] for i in params.get("axes", ())]))

    def reduced(params: dict, arrays: list, mean: bool) -> str:
        # np.full, not np.broadcast_to: the same values, at half the cost on small arrays
        shape, axes = arrays[0].shape, params.get("axes", ())
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = f"({{g}} / {count(params, arrays)})" if mean else "{g}"
        return f"np.full({shape!r}, {g}.reshape({kept!r}))"

    def reduction(mean: bool) -> Callable:
        # np.add.reduce, not .sum()/.mean(): the ufunc NumPy's methods call, without their
        # Python wrappers (~2 of ~5 us on small arrays); the same values
        def form(params: dict, arrays: list) -> str:
            total = (f"np.add.reduce({{a0}}, axis={params.get('axes', ())!r}, "
                     f"keepdims={params.get('keepdims', False)!r})")
            return f"{total} / {count(params, arrays)}" if mean else total
        return form

    forward = {
        ar.add_op.forward: lambda params, arrays: "{a0} + {a1}",
        ar.sub_op.forward: lambda params, arrays: "{a0} - {a1}",
        ar.mul_op.forward: lambda params, arrays: "{a0} * {a1}",
        ar.matmul_op.forward: lambda params, arrays: "{a0} @ {a1}",
        el.tanh_op.forward: lambda params, arrays: "np.tanh({a0})",
        el.relu_op.forward: lambda params, arrays: "np.maximum({a0}, 0)",
        sh.transpose_op.forward: lambda params, arrays:
            f"{{a0}}.transpose({params.get('axes')!r})",
        sh.reshape_op.forward: lambda params, arrays: f"{{a0}}.reshape({params['shape']!r})",
        rd.sum_op.forward: reduction(False),
        rd.mean_op.forward: reduction(True),
        fn._linear_op.forward: lambda params, arrays: (
            None if not flat(arrays) else "{a0} @ {a1}.T" if arrays[2] is None
            else "_iadd({a0} @ {a1}.T, {a2})"),  # in place into the fresh product, as the op
    }
    vjp = {
        ar.add_op.vjp: lambda params, arrays, i: "{g}",
        ar.sub_op.vjp: lambda params, arrays, i: "-{g}" if i else "{g}",
        ar.mul_op.vjp: lambda params, arrays, i: "{g} * {a1}" if i == 0 else "{g} * {a0}",
        ar.matmul_op.vjp: lambda params, arrays, i: (
            None if arrays[0].ndim != 2 or arrays[1].ndim != 2
            else "{g} @ {a1}.T" if i == 0 else "{a0}.T @ {g}"),
        el.tanh_op.vjp: lambda params, arrays, i: "{g} * (1 - {out} * {out})",
        el.relu_op.vjp: lambda params, arrays, i: "{g} * ({a0} > 0)",
        sh.transpose_op.vjp: lambda params, arrays, i: "{{g}}.transpose({!r})".format(
            None if params.get("axes") is None
            else tuple(int(k) for k in np.argsort(params["axes"]))),
        sh.reshape_op.vjp: lambda params, arrays, i: f"{{g}}.reshape({arrays[0].shape!r})",
        rd.sum_op.vjp: lambda params, arrays, i: reduced(params, arrays, False),
        rd.mean_op.vjp: lambda params, arrays, i: reduced(params, arrays, True),
        fn._linear_op.vjp: lambda params, arrays, i: (
            None if not flat(arrays) else ("{g} @ {a1}", "{g}.T @ {a0}", "{g}.sum(axis=0)")[i]),
    }
    return forward, vjp
