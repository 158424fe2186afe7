"""Render docs/graph_check.svg: ``draw_graph(check=True)`` finding a wrong VJP.

A small MLP feeds a custom ``Function`` whose backward is deliberately wrong (its
forward is x**3, its backward says 2x² instead of 3x²); every op is compared with
central differences and only that one is drawn red. Run from the repository root:
``python docs/graph_check.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_lite as ag


class Cube(ag.Function):
    """x**3 with a wrong backward: the bug the red node reveals."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x**2 * grad  # should be 3 * x**2 * grad


def main() -> None:
    """Build the loss, draw it with check=True, write the SVG next to this file."""
    rng = np.random.default_rng(0)
    model = ag.nn.MLP([4, 8, 2], activation="tanh", rng=rng)
    x = ag.tensor(rng.standard_normal((5, 4)), name="x")
    target = ag.tensor(rng.standard_normal((5, 2)), name="target")
    loss = ag.F.mse_loss(Cube.apply(model(x)), target)
    out = Path(__file__).with_name("graph_check.svg")
    out.write_bytes(ag.draw_graph(loss, check=True).pipe(format="svg"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
