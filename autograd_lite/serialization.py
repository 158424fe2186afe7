"""``save``/``load`` of state dicts (name -> array): ``.npz`` archives or safetensors files.

Nothing here ever unpickles, and ``load`` trusts nothing it reads: every size a file
declares (zip members, ``.npy`` headers, the safetensors header) is checked against the
file and against a byte budget *before* anything is inflated or allocated.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .tensor import Tensor

MAX_LOAD_BYTES = 1 << 30  # default budget of array bytes one load may allocate (1 GiB)
# The safetensors library's own limit on the JSON header; a larger one is not a real file.
MAX_SAFETENSORS_HEADER = 100_000_000
SAFETENSORS_SUFFIX = ".safetensors"

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with members; an empty one
_NPY_MAGIC = b"\x93NUMPY"
_NPY_SAVE_KINDS = "biufcUS"  # numbers, booleans, strings: never objects (pickles)
# safetensors dtype names <-> NumPy; others (BF16, F8_*) have no NumPy equivalent.
_SAFETENSORS_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
    "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
    "F16": np.float16, "F32": np.float32, "F64": np.float64,
}
_SAFETENSORS_METADATA = "__metadata__"


class CheckpointError(ValueError):
    """A file that ``load`` refuses (corrupt, truncated, oversized, not a checkpoint), or a
    key that ``save`` cannot write so that it reads back the same."""


# ---------------------------------------------------------------------------------
# save


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (name -> array or Tensor) to ``path``.

    A path ending in ``.safetensors`` gets the safetensors format (readable by
    ``safetensors.torch.load_file``); any other path gets an ``.npz`` archive.

    The write is atomic: the data goes to ``.NAME.tmpXXXXXXXX`` in the destination's
    directory, is flushed to disk (``fsync``) and renamed over ``path``, and the directory
    is synced; on any failure the temporary file is removed, so ``path`` holds either the
    old file or the new one, never a partial one. A new file gets the mode the caller's
    umask gives (0644 under the usual 022); an overwritten file keeps its mode. If ``path``
    is a symlink, the file it points to is replaced and the link is kept.

    Raises TypeError for keys that are not strings and values the format cannot hold
    (object arrays; for safetensors also strings and complex numbers), and
    CheckpointError for keys that would not read back identically (empty, NUL bytes,
    unencodable text; for safetensors the reserved ``__metadata__``).
    """
    safetensors_format = os.fspath(path).endswith(SAFETENSORS_SUFFIX)
    arrays = _arrays(state_dict, safetensors_format)
    if safetensors_format:
        _atomic_write(Path(path), lambda fh: fh.write(_safetensors_bytes(arrays)))
    else:
        _atomic_write(Path(path), lambda fh: _write_npz(fh, arrays))


def _arrays(state_dict: Mapping[str, Any], safetensors_format: bool) -> dict[str, np.ndarray]:
    """Validate ``state_dict`` and return its values as arrays (Tensors give their data)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a dict of name -> array such as model.state_dict(), "
                        f"got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        _check_key(key, safetensors_format)
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        kinds, what = ("biuf", "numeric and boolean") if safetensors_format else \
            (_NPY_SAVE_KINDS, "numeric, boolean and string")
        if arr.dtype.kind not in kinds or arr.dtype.names is not None:
            raise TypeError(f"save: the value for {key!r} has dtype {arr.dtype}; this "
                                  f"format holds {what} arrays only (never pickled objects); "
                                  f"convert it with .astype(...)")
        arrays[key] = arr
    return arrays


def _check_key(key: Any, safetensors_format: bool) -> None:
    """Refuse keys that could not come back unchanged from the file."""
    if not isinstance(key, str):
        raise TypeError(f"save: keys must be non-empty strings, got {key!r}")
    if not key:
        raise CheckpointError("save: keys must be non-empty strings, got ''")
    if "\x00" in key:
        # zip member names end at a NUL byte: "k\x00z" would read back as "k".
        raise CheckpointError(f"save: key {key!r} contains a NUL byte, which the file format "
                              f"cannot store; rename the entry")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(f"save: key {key!r} is not valid Unicode text (a lone "
                              f"surrogate?); rename the entry") from None
    if safetensors_format and key == _SAFETENSORS_METADATA:
        raise CheckpointError(f"save: the key {key!r} is reserved by the safetensors format; "
                              f"rename the entry or save to an .npz path")


def _write_npz(fh: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    # Written member by member rather than with np.savez, whose own parameter names
    # ("file", "allow_pickle") would clash with keys of the same names.
    with zipfile.ZipFile(fh, "w", allowZip64=True) as archive:
        for key, arr in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _safetensors_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save as safetensors_save

    # The format is little-endian and dense; the library wants both from its input.
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one.)
    return safetensors_save({key: arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
                             for key, arr in arrays.items()})


def _atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through a synced temporary file renamed into place (see :func:`save`)."""
    target = Path(os.path.realpath(path))  # through a symlink: replace its target
    if not target.parent.is_dir():
        raise FileNotFoundError(f"save: directory {target.parent} does not exist; create it "
                                f"first")
    if target.is_dir():
        raise IsADirectoryError(f"save: {target} is a directory; give a file name")
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None  # a new file: the kernel applies the umask to 0o666 at creation
    fd, tmp = _create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # already gone: nothing to clean up
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)


def _create_temporary(target: Path) -> tuple[int, str]:
    """Create ``.NAME.tmpXXXXXXXX`` beside ``target`` exclusively: never an existing file."""
    while True:
        tmp = str(target.parent / f".{target.name}.tmp{secrets.token_hex(4)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # a name taken by a concurrent save: draw another
            continue


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable: sync the directory entry."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------
# load


def load(path: str | os.PathLike, *, max_bytes: int = MAX_LOAD_BYTES) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save`: a dict of name -> ndarray.

    The format (``.npz`` or safetensors) is recognised by the file's content, not its
    name; ``.npz`` entries come back in saved order. Raises FileNotFoundError for a
    missing file and CheckpointError (a ValueError) for anything that is not a valid
    checkpoint: empty, truncated or corrupt files, members that are not ``.npy`` arrays,
    object arrays (never unpickled), and arrays whose declared sizes exceed the file or
    add up to more than ``max_bytes`` (checked before anything is inflated; pass a larger
    ``max_bytes`` for a bigger file you trust).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no file at {path}")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if not head:
        raise CheckpointError(f"load: {path} is empty (0 bytes), not a checkpoint written by "
                              f"ag.save")
    if head.startswith(_ZIP_MAGICS):
        return _load_npz(path, max_bytes)
    if len(head) == 9 and head[8:9] == b"{":
        return _load_safetensors(path, max_bytes)
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"load: {path} holds a single array (.npy), not a checkpoint of "
                              f"named arrays written by ag.save")
    raise CheckpointError(f"load: {path} is not an .npz archive or a safetensors file written "
                          f"by ag.save (it starts with {head[:8]!r})")


def _load_npz(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            for info in members:
                _check_member(path, info)
            names = [info.filename for info in members]
            if len(set(names)) != len(names):  # which one would be "the" array is ambiguous
                twice = sorted({name for name in names if names.count(name) > 1})
                raise CheckpointError(f"load: {path}: member(s) {', '.join(twice)} appear more "
                                      f"than once; the archive was not written by ag.save")
            _check_budget(path, sum(info.file_size for info in members), max_bytes)
            return {info.filename[:-len(".npy")]: _read_member(path, archive, info)
                    for info in members}
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise CheckpointError(f"load: {path} is a truncated or corrupt .npz archive "
                              f"({type(exc).__name__}: {exc})") from None


def _check_member(path: Path, info: zipfile.ZipInfo) -> None:
    """Refuse zip members ag.save never writes, before reading any of their bytes."""
    if not info.filename.endswith(".npy") or info.filename == ".npy":
        raise CheckpointError(f"load: {path}: member {info.filename!r} is not an .npy array")
    if info.flag_bits & 0x1:
        raise CheckpointError(f"load: {path}: member {info.filename!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(f"load: {path}: member {info.filename!r} uses zip compression "
                              f"method {info.compress_type}; only stored and deflated members "
                              f"(what NumPy writes) are read")


def _check_budget(path: Path, declared: int, max_bytes: int) -> None:
    if declared > max_bytes:
        raise CheckpointError(f"load: {path} declares {declared:,} bytes of data, more than "
                              f"the limit of {max_bytes:,}; pass max_bytes=... to load a "
                              f"larger file you trust")


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, its header checked against the zip's declared size first."""
    where = f"load: {path}: member {info.filename!r}"
    with archive.open(info) as member:
        if member.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise CheckpointError(f"{where} is not an .npy array (no .npy magic bytes)")
        version = tuple(member.read(2))
        readers = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise CheckpointError(f"{where}: unsupported .npy format version {version}")
        try:
            shape, fortran_order, dtype = readers[version](member)
        except ValueError as exc:
            raise CheckpointError(f"{where}: invalid .npy header ({exc})") from None
        if dtype.hasobject or dtype.kind not in _NPY_SAVE_KINDS or dtype.names is not None:
            raise CheckpointError(f"{where} has dtype {dtype}; only numeric, boolean and "
                                  f"string arrays are loaded (never pickled objects)")
        # Python ints: a product of declared dimensions must not wrap around.
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise CheckpointError(f"{where} declares shape {shape} of {dtype} ({nbytes:,} "
                                  f"bytes) but holds {info.file_size - member.tell():,}: "
                                  f"the file is corrupt")
        buffer = bytearray(nbytes)
        if member.readinto(buffer) != nbytes:
            raise CheckpointError(f"{where} is truncated")
    order = "F" if fortran_order else "C"
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order)


def _load_safetensors(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    names = _check_safetensors_header(path, max_bytes)
    try:
        arrays = load_file(path)
    except SafetensorError as exc:
        raise CheckpointError(f"load: {path} is not a valid safetensors file ({exc})") from None
    return {name: arrays[name] for name in names}


def _check_safetensors_header(path: Path, max_bytes: int) -> list[str]:
    """Validate the JSON header's every size against the file and ``max_bytes``; returns
    the tensor names in header order."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header_size = int.from_bytes(fh.read(8), "little")
        if header_size > min(MAX_SAFETENSORS_HEADER, size - 8):
            raise CheckpointError(f"load: {path}: the safetensors header declares "
                                  f"{header_size:,} bytes; the file has {size - 8:,} after "
                                  f"the size field (truncated or not a safetensors file)")
        try:
            header = json.loads(fh.read(header_size))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise CheckpointError(f"load: {path}: the safetensors header is not valid "
                                  f"JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path}: the safetensors header is not a JSON object")
    data_size = size - 8 - header_size
    total = 0
    for name, entry in header.items():
        if name != _SAFETENSORS_METADATA:
            total += _check_safetensors_entry(path, name, entry, data_size)
    _check_budget(path, total, max_bytes)
    return [name for name in header if name != _SAFETENSORS_METADATA]


def _check_safetensors_entry(path: Path, name: str, entry: Any, data_size: int) -> int:
    """The byte size of one tensor entry, after checking its dtype, shape and offsets."""
    where = f"load: {path}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: expected an entry with dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _SAFETENSORS_DTYPES:
        raise CheckpointError(f"{where} has dtype {dtype!r}, which NumPy cannot hold; "
                              f"convert it before saving (e.g. .float() in PyTorch)")
    if not _is_int_list(shape) or not _is_int_list(offsets) or len(offsets) != 2:
        raise CheckpointError(f"{where}: shape and data_offsets must be lists of "
                              f"non-negative integers")
    nbytes = math.prod(shape) * np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize
    begin, end = offsets
    if not begin <= end <= data_size or end - begin != nbytes:
        raise CheckpointError(f"{where} declares shape {shape} of {dtype} ({nbytes:,} bytes) "
                              f"at bytes {begin}..{end} of {data_size:,}: the file is "
                              f"truncated or corrupt")
    return nbytes


def _is_int_list(value: Any) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)
