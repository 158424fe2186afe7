"""Draw the recorded graph of a tensor with Graphviz, and step through its backward pass.

``draw_graph(t)`` walks the tape behind ``t`` and returns a ``graphviz.Digraph``;
``animate_backward(t)`` runs ``t.backward()`` and returns a self-contained HTML page
that replays it one VJP at a time. The package is split by concern:

- ``labels``: the text of every node (numbers via ``autograd_lite.numbers``);
- ``layout``: items and edges from the tape, shrinking large graphs, wrapping long ones;
- ``dot``: styles, clusters and the DOT output (``draw_graph``);
- ``player``: the step-through page (``animate_backward``).

The per-op check ``check=True`` uses is ``gradcheck.check_op``, re-exported here.
"""

from __future__ import annotations

from ..gradcheck import OpCheck, check_op
from .dot import draw_graph
from .labels import SMALL
from .player import StepThrough, animate_backward

__all__ = ["draw_graph", "animate_backward", "StepThrough", "check_op", "OpCheck", "SMALL"]
