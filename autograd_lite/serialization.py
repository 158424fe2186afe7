"""``save``/``load`` of state dicts (name -> array) as ``.npz`` archives, without pickle."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor


def _arrays(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validate ``state_dict`` and return its values as arrays (Tensors give their data)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a dict of name -> array such as model.state_dict(), "
                        f"got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind not in "biufcUS":
            raise TypeError(f"save: the value for {key!r} has dtype {arr.dtype}; only numeric, "
                            f"boolean and string arrays can be saved (no pickled objects)")
        arrays[key] = arr
    return arrays


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (name -> array or Tensor) to ``path`` as an ``.npz`` archive.

    The file is written next to its destination and then moved into place, so an
    interrupted save never leaves a truncated checkpoint behind.
    """
    arrays = _arrays(state_dict)
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: directory {path.parent} does not exist; create it first")
    # Written member by member rather than with np.savez, whose own parameter names
    # ("file", "allow_pickle") would clash with keys of the same names.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", allowZip64=True) as archive:
            for key, arr in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an archive written by :func:`save`: a dict of name -> ndarray, in saved order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no file at {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise _not_an_archive(path, exc) from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path} holds a single array (.npy), not an .npz archive of "
                         f"named arrays written by ag.save")
    with archive:
        try:
            return {key: archive[key] for key in archive.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise _not_an_archive(path, exc) from exc


def _not_an_archive(path: Path, exc: Exception) -> ValueError:
    return ValueError(f"load: {path} is not an .npz archive of arrays written by ag.save "
                      f"({type(exc).__name__}: {exc})")
