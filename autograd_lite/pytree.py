"""Pytrees: nested tuples, lists and dicts whose leaves are arrays, numbers or Tensors.

The transforms differentiate with respect to every leaf of an argument and hand the
gradients back in the same structure (``{"w": (3, 2) array, "b": (2,) array}`` gets a
dict of a (3, 2) and a (2,) gradient), as JAX does. Tuples (named tuples included),
lists and dicts are containers; anything else is a leaf. Dicts keep their key order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A treedef is either LEAF or (container type, keys, child treedefs); keys are the
# dict's keys (None for sequences). Plain tuples keep it hashable and printable.
LEAF = None


def flatten(tree: Any) -> tuple[list, Any]:
    """The leaves of ``tree`` in a fixed order, and its structure for :func:`unflatten`.

    Shapes: a tree with n leaves gives a list of n leaves.
    """
    leaves: list = []
    treedef = _flatten_into(tree, leaves)
    return leaves, treedef


def _flatten_into(tree: Any, leaves: list) -> Any:
    if isinstance(tree, dict):
        keys = tuple(tree)
        return (type(tree), keys, tuple(_flatten_into(tree[k], leaves) for k in keys))
    if isinstance(tree, (tuple, list)):
        return (type(tree), None, tuple(_flatten_into(c, leaves) for c in tree))
    leaves.append(tree)
    return LEAF


def unflatten(treedef: Any, leaves: list) -> Any:
    """The tree of structure ``treedef`` (from :func:`flatten`) holding ``leaves`` in order."""
    it = iter(leaves)
    tree = _build(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError("unflatten: more leaves than the structure holds")
    return tree


_END = object()


def _build(treedef: Any, it: Any) -> Any:
    if treedef is LEAF:
        leaf = next(it, _END)
        if leaf is _END:
            raise ValueError("unflatten: fewer leaves than the structure holds")
        return leaf
    kind, keys, children = treedef
    built = [_build(c, it) for c in children]
    if keys is not None:
        return kind(zip(keys, built))
    if hasattr(kind, "_fields"):  # a named tuple takes its fields as arguments
        return kind(*built)
    return kind(built)


def leaf_paths(tree: Any) -> list[str]:
    """Where each leaf sits, in :func:`flatten` order: ``""`` for a bare leaf,
    ``"['w'][0]"`` inside containers. Used to name the leaf an error is about."""
    paths: list[str] = []
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack += [(node[k], f"{path}[{k!r}]") for k in reversed(tuple(node))]
        elif isinstance(node, (tuple, list)):
            stack += [(c, f"{path}[{i}]") for i, c in reversed(list(enumerate(node)))]
        else:
            paths.append(path)
    return paths


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with ``fn`` applied to every leaf (same structure)."""
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(leaf) for leaf in leaves])
