"""Arrays saved for backward: read-only while a live graph needs them, checked at backward.

A recorded op's VJP reads arrays later (its inputs, its output). Writing into one of them
in between would silently change the gradient, so:

- **Locking.** The engine clears the ``writeable`` flag of each saved array and of every
  array it is a view of, and counts per array how many live graph nodes need it
  (``_counts``). The count drops when backward frees a node or when a node is garbage
  collected; at zero the flag is restored, so ``w.data -= lr * w.grad.data`` works again
  once no graph needs ``w``. Arrays that were read-only already are never unlocked.
- **Views made before the op.** NumPy cannot revoke the write access of a view that
  already exists (``v = x.data.reshape(-1)`` before ``x * x``). Such a view holds a
  reference to the array that owns the memory, so when the owner has references the
  engine cannot account for, it takes a CRC-32 of the saved bytes and backward compares
  it. Proving there are none costs one ``sys.getrefcount``, so the common case (no
  outside references) pays no checksum; the rare one pays one pass over the bytes at save
  and one at backward. The test runs when the owner gets locked (once locked, no new
  writeable view of it can be made); an owner that failed it is remembered
  (``_exposed``), so every later save of its memory is checksummed too, until it is
  unlocked. Hot paths: an output the forward just allocated is locked with no test, and
  an array the engine locked already only has its count raised.

Updates are serialised by a mutex; nodes dropped by the garbage collector release their
arrays when it is free and otherwise queue the release instead of waiting for it (a
finalizer may run while this thread holds it).
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

_counts: dict[int, int] = {}  # id(array) -> live saves, for arrays the engine made read-only
# id(owner) -> ids of its saved arrays that were checksummed, for each engine-locked memory
# owner that may have had writeable views when it was locked (every save of its memory is
# then checksummed, until the owner is unlocked)
_exposed: dict[int, list] = {}
_checksums: dict[int, tuple] = {}  # id(array) -> (array, CRC-32 at its first save)
_mutex = threading.Lock()
_acquire, _unlock = _mutex.acquire, _mutex.release  # bound once: cheaper than `with` per op
_release_queue: list = []  # arrays of collected nodes, released when the mutex is free

def _chain(a: np.ndarray) -> list:
    """``a`` and every ndarray it is a view of, innermost first."""
    chain = []
    while type(a) is np.ndarray:
        chain.append(a)
        a = a.base
    return chain


def _aliases_possible(a: np.ndarray, owner: np.ndarray, arrays: Sequence, saved: Sequence,
                      args: Sequence, tensor: type, held: int) -> bool:
    """Whether something the engine cannot account for holds ``owner``, the memory owner
    of ``a``.

    A view made before the op holds a reference to the owner, so it shows up in the
    owner's reference count. The references the op being recorded can vouch for: its
    saved arrays, the ``.data`` of its Tensor arguments, what their producing nodes hold,
    and the distinct views of the owner among those. Anything beyond that may be a
    writeable view (or a harmless variable: then a checksum is taken needlessly).
    """
    known = 0  # references to the owner the op vouches for
    views = set()  # ids of the distinct views of the owner among them: one reference each
    if owner is not a:
        views.add(id(a))
    # Plain loops and id sets (no generators, no calls): this runs for every saved array
    # the engine has not locked yet, e.g. each interior result W4's mul reads.
    for arrs in (saved, args, arrays):
        for s in arrs:
            if s is owner:
                known += 1
            elif type(s) is np.ndarray and s.base is owner:
                views.add(id(s))
    # First what the op's Tensor arguments hold directly (their data, their producers'
    # outputs): usually all there is, and a subset of what is vouched for, so enough to
    # clear the owner. Only otherwise look further (what the producers saved and their
    # Tensor inputs' data).
    own = 5 + held if owner is a else 3  # see below
    seen = set()
    producers = []
    for t in args:
        if isinstance(t, tensor) and id(t) not in seen:
            seen.add(id(t))
            s = t.data
            if s is owner:
                known += 1
            elif type(s) is np.ndarray and s.base is owner:
                views.add(id(s))
            node = t.node
            if node is not None and node.saved is not None:
                producers.append(node)
                s = node.out
                if s is owner:
                    known += 1
                elif type(s) is np.ndarray and s.base is owner:
                    views.add(id(s))
    s = t = None  # the loop variables may hold the owner
    if sys.getrefcount(owner) <= known + len(views) + own:
        return False
    for node in producers:
        for s in node.saved:
            if s is owner:
                known += 1
            elif type(s) is np.ndarray and s.base is owner:
                views.add(id(s))
        for u in node.inputs:
            # isinstance, not type(): a Parameter (W in ``x @ W.T``) is a Tensor subclass
            # sharing its ``data`` slot, and its reference is vouched for like any tensor's.
            if isinstance(u, tensor) and id(u) not in seen:
                seen.add(id(u))
                s = u.data
                if s is owner:
                    known += 1
                elif type(s) is np.ndarray and s.base is owner:
                    views.add(id(s))
    s = u = None
    # `own`: the references of the calls themselves: getrefcount's argument, `owner` here
    # and in _lock_chain; when `a` is the owner also `a` here, in _lock_chain and in the
    # `held` frames above (protect; or _protect_all and _lock). Tests hold this both ways:
    # one view made before the op is caught, and no outside reference means no checksum.
    return sys.getrefcount(owner) > known + len(views) + own


def _checksum(a: np.ndarray) -> int:
    return zlib.crc32(a if a.flags.c_contiguous else a.tobytes())


def protect(op: Any, saved: Sequence, out: np.ndarray, params: Any, args: Sequence,
            tensor: type) -> Any:
    """Lock the arrays a node being recorded reads at backward (its saved inputs, its
    output, a Function's saves) and their bases, until :func:`release` gets the guard
    returned here: the one guarded array, a tuple of several, or None when there is none
    (then nothing needs releasing).

    ``out`` is the op's result: when the forward just allocated it (it owns its memory and
    is none of the inputs), nobody can hold a view of it yet.
    """
    arrays = []  # built here, not by a helper: a call per op costs more than the loop
    for i in op.saves:
        s = saved[i]
        if type(s) is np.ndarray:
            arrays.append(s)
    s = None  # the loop variable must not hold an array the alias test counts
    if op.needs_out:
        arrays.append(out)
    if op.keeps is not None:
        arrays.extend(k for k in op.keeps(params) if type(k) is np.ndarray)
    if len(arrays) != 1:
        return _protect_all(arrays, saved, out, args, tensor) if arrays else None
    a = arrays[0]
    _acquire()
    try:
        # _lock inline: a call per op costs more than its common cases.
        if a.base is None:
            key = id(a)
            n = _counts.get(key)
            if n is not None:  # an owner the engine locked already: one more save
                _counts[key] = n + 1
                if _exposed and key in _exposed and key not in _checksums:
                    _note(a, key)
                return a
            if a is out and a.flags.writeable:
                for s in saved:
                    if s is a:
                        break
                else:  # just allocated: writeable, no views yet
                    a.setflags(False)  # positional: half the cost of write=
                    _counts[key] = 1
                    return a
        _lock_chain(a, arrays, saved, args, tensor, 1)
    finally:
        _unlock()
        if _release_queue:
            _drain()
    return a


def _protect_all(arrays: list, saved: Sequence, out: np.ndarray, args: Sequence,
                 tensor: type) -> tuple:
    """:func:`protect` of a node guarding several arrays."""
    _acquire()
    try:
        for a in arrays:
            _lock(a, arrays, saved, out, args, tensor)
    finally:
        _unlock()
    if _release_queue:
        _drain()
    return tuple(arrays)


def _lock(a: np.ndarray, arrays: Sequence, saved: Sequence, out: np.ndarray, args: Sequence,
          tensor: type) -> None:
    """Count one more save of ``a`` (locking it if needed); the caller holds the mutex."""
    if a.base is None:
        key = id(a)
        n = _counts.get(key)
        if n is not None:  # an owner the engine locked already: one more save
            _counts[key] = n + 1
            if _exposed and key in _exposed and key not in _checksums:
                _note(a, key)
            return
        if a is out and a.flags.writeable:
            for s in saved:
                if s is a:
                    break
            else:  # just allocated: writeable, no views yet
                a.setflags(False)  # positional: half the cost of write=
                _counts[key] = 1
                return
    _lock_chain(a, arrays, saved, args, tensor, 2)


def _lock_chain(a: np.ndarray, arrays: Sequence, saved: Sequence, args: Sequence,
                tensor: type, held: int) -> None:
    """:func:`protect` of one array in general: a view, or an owner not locked yet.

    ``held``: how many frames above this one hold ``a`` (for the alias test's count).
    """
    owner = a
    while type(owner.base) is np.ndarray:
        owner = owner.base
    okey = id(owner)
    if okey in _counts:
        # Locked, so read-only: no writeable view of it was made since; those made before
        # were looked for when it was locked.
        exposed = okey in _exposed
    else:
        # Owners read-only before the graph are trusted (never locked, never unlocked).
        exposed = (owner.flags.writeable
                   and _aliases_possible(a, owner, arrays, saved, args, tensor, held))
    arr = a
    while type(arr) is np.ndarray:
        key = id(arr)
        n = _counts.get(key)
        if n is not None:
            _counts[key] = n + 1
        elif arr.flags.writeable:
            arr.setflags(False)
            _counts[key] = 1
        arr = arr.base
    if exposed and id(a) not in _checksums:
        _note(a, okey)


def _note(a: np.ndarray, okey: int) -> None:
    """Checksum ``a``, whose owner (locked) may have writeable views; the caller holds the
    mutex. The entry keeps ``a`` alive until the owner is unlocked, so its id stays its."""
    _checksums[id(a)] = (a, _checksum(a))
    _exposed.setdefault(okey, []).append(id(a))


def _release(a: np.ndarray) -> None:
    """Undo one :func:`protect` of ``a``; the caller holds the mutex."""
    if a.base is None:  # an array owning its memory: the common case, no chain to build
        key = id(a)
        n = _counts.get(key)
        if n is None:  # read-only before the graph: never locked, never unlocked
            return
        if n > 1:
            _counts[key] = n - 1
            return
        _unlocked(key)
        a.setflags(True)
        return
    # The owner first: a view can be made writeable only after its base.
    for arr in reversed(_chain(a)):
        key = id(arr)
        n = _counts.get(key)
        if n is None:
            continue
        if n > 1:
            _counts[key] = n - 1
            continue
        _unlocked(key)
        base = arr.base
        if type(base) is not np.ndarray or base.flags.writeable:
            arr.setflags(True)
        # else: a view whose base another graph still locks stays read-only (NumPy
        # forbids a writeable view of a read-only base).


def _unlocked(key: int) -> None:
    """Forget the count of an array no live node needs any more; the caller holds the mutex."""
    del _counts[key]
    if _exposed and key in _exposed:  # an owner: its memory's checksums go with it
        for k in _exposed.pop(key):
            del _checksums[k]
    if not _counts:  # dicts never shrink: drop the table a long graph grew
        _counts.clear()
        _exposed.clear()
        _checksums.clear()


def release(guard: Any, wait: bool = True) -> None:
    """A node's arrays are no longer needed by it (backward freed it, or it was collected):
    undo its :func:`protect`. ``guard``: what protect returned (not None).

    ``wait`` False (a finalizer: this thread may hold the mutex already): when the mutex is
    taken, queue the release for whoever holds it instead of waiting.
    """
    if not _acquire(wait):
        _release_queue.append(guard)
        _drain()  # the holder may have let go (and looked at the queue) meanwhile
        return
    try:
        if type(guard) is tuple:
            for a in guard:
                _release(a)
        elif guard.base is None:  # _release's common case inline: measured ~0.1 us/op on W1
            key = id(guard)
            n = _counts.get(key)
            if n is not None:
                if n > 1:
                    _counts[key] = n - 1
                else:
                    _unlocked(key)
                    guard.setflags(True)
        else:
            _release(guard)
    finally:
        _unlock()
        if _release_queue:
            _drain()


def _drain() -> None:
    # Whoever holds the mutex checks the queue after letting go of it, so an entry queued
    # while it was held is never stranded.
    while _release_queue and _acquire(False):
        try:
            while _release_queue:
                guard = _release_queue.pop()
                if type(guard) is tuple:
                    for a in guard:
                        _release(a)
                else:
                    _release(guard)
        finally:
            _unlock()


def check(name: str, guard: Any) -> Any:
    """Raise RuntimeError if an array a node of op ``name`` saved was modified since it
    was saved; else return ``guard`` (what :func:`protect` returned, not None)."""
    if type(guard) is tuple:
        for a in guard:
            _check(name, a)
    elif guard.base is None and not _checksums:  # _check's common case inline
        if guard.flags.writeable:
            raise modified_error(name, "was made writeable and may have been modified")
    else:
        _check(name, guard)
    return guard


def _check(name: str, a: np.ndarray) -> None:
    arr = a
    while type(arr) is np.ndarray:  # the chain was locked (or was read-only already)
        if arr.flags.writeable:
            raise modified_error(name, "was made writeable and may have been modified")
        arr = arr.base
    if _checksums:
        entry = _checksums.get(id(a))
        if entry is not None and _checksum(a) != entry[1]:
            raise modified_error(name, "was modified in place (through a view made "
                                       "before the op)")


def modified_error(name: str, what: str) -> RuntimeError:
    """The in-place modification error, naming the op and how to fix it."""
    return RuntimeError(
        f"one of the arrays needed for gradient computation by '{name}' {what} since the "
        f"forward pass; gradients would be wrong. Recompute the forward pass after modifying "
        f"inputs, or modify a copy (x.data.copy())."
    )
