"""``ag.save``/``ag.load``: atomic writes, modes and symlinks, keys that must round-trip,
safetensors both ways with PyTorch, and hostile files refused before anything is inflated."""

from __future__ import annotations

import io
import os
import random
import re
import stat
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import serialization
from autograd_lite.serialization import CheckpointError

STATE = {"layers.0.weight": np.arange(6.0).reshape(2, 3), "layers.0.bias": np.ones(2),
         "steps": np.array(3, dtype=np.int64), "half": np.zeros((2, 2), dtype=np.float32)}
TEMPORARY = re.compile(r"^\.model\.(npz|safetensors)\.tmp[0-9a-f]{8}$")


def assert_same(loaded: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(loaded) == sorted(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ---- save: round trip, keys ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.npz", "model.safetensors"])
def test_round_trip_keeps_names_dtypes_shapes_and_npz_order(tmp_path: Path, name: str) -> None:
    ag.save({k: ag.Tensor(v) if k == "half" else v for k, v in STATE.items()}, tmp_path / name)
    loaded = ag.load(tmp_path / name)
    assert_same(loaded, STATE)
    if name.endswith(".npz"):
        assert list(loaded) == list(STATE)
    assert all(arr.flags.writeable for arr in loaded.values())


def test_the_suffix_picks_the_format_and_load_reads_the_content(tmp_path: Path) -> None:
    ag.save(STATE, tmp_path / "a.safetensors")
    ag.save(STATE, tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes()[:4] == b"PK\x03\x04"
    assert (tmp_path / "a.safetensors").read_bytes()[8:9] == b"{"
    # Renamed to the other suffix, each still loads: the content decides.
    os.replace(tmp_path / "a.safetensors", tmp_path / "b.npz")
    os.replace(tmp_path / "a.npz", tmp_path / "b.safetensors")
    assert_same(ag.load(tmp_path / "b.npz"), STATE)
    assert_same(ag.load(tmp_path / "b.safetensors"), STATE)


@pytest.mark.parametrize(("key", "message"), [
    ("k\x00z", "NUL byte"),
    ("k\udc80", "not valid Unicode"),
    ("", "non-empty strings"),
])
@pytest.mark.parametrize("name", ["model.npz", "model.safetensors"])
def test_keys_that_cannot_round_trip_are_refused(tmp_path: Path, key: object, message: str,
                                                 name: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        ag.save({key: np.zeros(2)}, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_safetensors_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="reserved by the safetensors format"):
        ag.save({"__metadata__": np.zeros(2)}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="has dtype complex128"):
        ag.save({"z": np.zeros(2, complex)}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="keys must be non-empty strings, got 3"):
        ag.save({3: np.zeros(2)}, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="never pickled objects"):
        ag.save({"o": np.array([None])}, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# ---- save: PyTorch reads and writes safetensors ------------------------------------------


def test_pytorch_reads_what_ag_saves_and_ag_reads_what_pytorch_saves(tmp_path: Path) -> None:
    import torch  # the dev extra's: imported here so the other tests do not pay for it
    from safetensors.torch import load_file, save_file

    big_endian = np.arange(4, dtype=">f4")
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]  # not contiguous
    ag.save({**STATE, "be": big_endian, "strided": strided}, tmp_path / "ag.safetensors")
    theirs = load_file(tmp_path / "ag.safetensors")
    for key, value in {**STATE, "be": big_endian, "strided": strided}.items():
        np.testing.assert_array_equal(theirs[key].numpy(), value)
        assert theirs[key].numpy().dtype == value.dtype.newbyteorder("=")

    tensors = {"w": torch.randn(3, 2, dtype=torch.float64), "i": torch.arange(5),
               "f": torch.ones(2, dtype=torch.float16)}
    save_file(tensors, tmp_path / "torch.safetensors")
    assert_same(ag.load(tmp_path / "torch.safetensors"),
                {k: v.numpy() for k, v in tensors.items()})
    save_file({"b": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf16.safetensors")
    with pytest.raises(CheckpointError, match="dtype 'BF16', which NumPy cannot hold"):
        ag.load(tmp_path / "bf16.safetensors")


# ---- save: atomic writes, modes, symlinks ---------------------------------------------------


def test_a_new_file_gets_the_umask_mode_and_an_overwritten_one_keeps_its_mode(
        tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "model.npz"
    ag.save(STATE, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o640)
    ag.save(STATE, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    os.umask(0o077)
    ag.save(STATE, tmp_path / "private.safetensors")
    assert stat.S_IMODE((tmp_path / "private.safetensors").stat().st_mode) == 0o600


def test_saving_to_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    ag.save({"old": np.zeros(1)}, target)
    link = tmp_path / "model.npz"
    link.symlink_to(target)
    ag.save(STATE, link)
    assert link.is_symlink() and link.resolve() == target
    assert_same(ag.load(target), STATE)
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["model.npz"]


def test_the_data_and_the_directory_are_synced_around_the_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: object) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    ag.save(STATE, tmp_path / "model.npz")
    assert events == ["fsync file", "rename", "fsync dir"]


def test_a_failing_save_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.npz"
    ag.save({"old": np.zeros(3)}, path)
    before = path.read_bytes()

    def fail_midway(member: io.IOBase, arr: np.ndarray, allow_pickle: bool) -> None:
        member.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", fail_midway)
    with pytest.raises(OSError, match="No space left"):
        ag.save(STATE, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_sigkill_at_random_points_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """A child saves two large state dicts in turn over one path; killed at random moments,
    the path always holds one of them whole. A leftover temporary is recognisable."""
    path = tmp_path / "model.npz"
    child = textwrap.dedent(f"""
        import sys
        import numpy as np
        import autograd_lite as ag
        states = [{{"w": np.full(2_000_000, float(i))}} for i in (1, 2)]
        print("ready", flush=True)
        for n in range(10_000):
            ag.save(states[n % 2], {str(path)!r})
    """)
    ag.save({"w": np.full(2_000_000, 1.0)}, path)
    rng = random.Random(0)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.5))
        except subprocess.TimeoutExpired:
            proc.kill()
        assert proc.wait() == -9, "the child was meant to be killed mid-loop"
        w = ag.load(path)["w"]
        assert w.shape == (2_000_000,) and w[0] in (1.0, 2.0) and np.all(w == w[0])
        for leftover in tmp_path.iterdir():
            assert leftover == path or TEMPORARY.match(leftover.name), leftover.name


# ---- load: hostile and broken files ---------------------------------------------------------


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def zip_with(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def duplicate_member(path: Path) -> Path:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns: the duplicate is the point
        for value in (1.0, 2.0):
            archive.writestr(zipfile.ZipInfo("w.npy"), npy_bytes(np.full(2, value)))
    return path


def header_declaring(shape: tuple[int, ...]) -> bytes:
    """A .npy header for float64 ``shape`` followed by only 16 bytes of data."""
    buf = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + bytes(16)


def deflate_bomb(path: Path, inflated: int) -> Path:
    """A zip whose one member is a valid .npy of ``inflated`` zero bytes, deflated to about
    1/1000 of that. Built from one compressed block repeated: after a full flush, deflate
    output depends only on the next input, so the stream stays valid."""
    chunk = bytes(1 << 24)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (inflated,)})
    head = header.getvalue()
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [co.compress(head) + co.flush(zlib.Z_FULL_FLUSH)]
    block = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    assert inflated % len(chunk) == 0
    parts += [block] * (inflated // len(chunk)) + [co.flush()]
    crc = zlib.crc32(head)
    for _ in range(inflated // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    data, name, size = b"".join(parts), b"bomb.npy", len(head) + inflated
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(data),
                        size, len(name), 0) + name
    central = struct.pack("<4sBBBBHHHHIIIHHHHHII", b"PK\x01\x02", 20, 3, 20, 0, 0, 8, 0, 33,
                          crc, len(data), size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    return path


def test_a_deflate_bomb_is_refused_before_it_inflates(tmp_path: Path) -> None:
    small = deflate_bomb(tmp_path / "small.npz", 1 << 24)
    assert ag.load(small)["bomb"].shape == (1 << 24,)  # a valid archive, within budget
    bomb = deflate_bomb(tmp_path / "bomb.npz", 1 << 31)
    assert bomb.stat().st_size < 3_000_000
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="declares 2,147,483,776 bytes of data, "
                                                  "more than the limit of 1,073,741,824"):
            ag.load(bomb)
        assert tracemalloc.get_traced_memory()[1] < 10_000_000
    finally:
        tracemalloc.stop()
    with pytest.raises(CheckpointError, match="pass max_bytes"):
        ag.load(small, max_bytes=1000)


def corrupt_member(path: Path) -> Path:
    np.savez_compressed(path, w=np.random.default_rng(0).standard_normal(1000))
    raw = bytearray(path.read_bytes())
    raw[200:260] = bytes(60)  # inside the deflated data
    path.write_bytes(bytes(raw))
    return path


def truncated(path: Path) -> Path:
    ag.save(STATE, path)
    path.write_bytes(path.read_bytes()[:300])
    return path


def truncated_safetensors(path: Path) -> Path:
    ag.save(STATE, path)
    path.write_bytes(path.read_bytes()[:-10])
    return path


def safetensors_with_header(path: Path, header: bytes, size: int | None = None) -> Path:
    size = len(header) if size is None else size
    path.write_bytes(struct.pack("<Q", size) + header)
    return path


BROKEN = {
    "empty": (lambda p: (p.write_bytes(b""), p)[1], "is empty (0 bytes)"),
    "not a checkpoint": (lambda p: (p.write_text("hello world"), p)[1],
                         "is not an .npz archive or a safetensors file"),
    "a single .npy": (lambda p: (np.save(p, np.zeros(2)), p.with_suffix(".npz.npy"))[1],
                      "holds a single array"),
    "truncated": (truncated, "truncated or corrupt .npz archive"),
    "corrupt member": (corrupt_member, "truncated or corrupt .npz archive"),
    "shape 1e10": (lambda p: zip_with(p, {"w.npy": header_declaring((10**10,))}),
                   "declares shape (10000000000,) of float64 (80,000,000,000 bytes)"),
    "wrapping shape": (lambda p: zip_with(p, {"w.npy": header_declaring((2**32, 2**32))}),
                       "declares shape (4294967296, 4294967296)"),
    "no .npy magic": (lambda p: zip_with(p, {"w.npy": b"just some bytes"}),
                      "member 'w.npy' is not an .npy array (no .npy magic bytes)"),
    "not a .npy member": (lambda p: zip_with(p, {"notes.txt": b"hello"}),
                          "member 'notes.txt' is not an .npy array"),
    "object array": (lambda p: zip_with(p, {"o.npy": npy_bytes(np.array([{}], dtype=object))}),
                     "never pickled objects"),
    "duplicate member": (duplicate_member, "w.npy appear more than once"),
    "bzip2 member": (lambda p: zip_with(p, {"w.npy": npy_bytes(np.zeros(2))},
                                        zipfile.ZIP_BZIP2), "compression method 12"),
    "safetensors truncated": (truncated_safetensors, "truncated or corrupt"),
    "safetensors huge header": (lambda p: safetensors_with_header(p, b"{}", 10**15),
                                "the safetensors header declares 1,000,000,000,000,000 bytes"),
    "safetensors bad json": (lambda p: safetensors_with_header(p, b"{nope"), "not valid JSON"),
    "safetensors shape 1e10": (
        lambda p: safetensors_with_header(
            p, b'{"w": {"dtype": "F64", "shape": [10000000000], "data_offsets": [0, 8]}}'),
        "declares shape [10000000000] of F64"),
    "safetensors bad entry": (
        lambda p: safetensors_with_header(p, b'{"w": {"dtype": "F64", "shape": "3"}}'),
        "expected an entry with dtype, shape and data_offsets"),
}


@pytest.mark.parametrize(("make", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_files_raise_one_clear_error_naming_the_file(tmp_path: Path, make,
                                                            message: str) -> None:
    path = make(tmp_path / "model.npz")
    with pytest.raises(CheckpointError, match=re.escape(message)) as info:
        ag.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    path = zip_with(tmp_path / "m.npz", {"o.npy": npy_bytes(np.array([{}], dtype=object))})
    with pytest.raises(CheckpointError):
        ag.load(path)


def test_the_budget_is_a_module_default_callers_can_raise(tmp_path: Path) -> None:
    ag.save({"w": np.zeros(1000)}, tmp_path / "m.npz")
    with pytest.raises(CheckpointError, match="8,128 bytes of data, more than the limit"):
        ag.load(tmp_path / "m.npz", max_bytes=8127)
    assert ag.load(tmp_path / "m.npz", max_bytes=8128)["w"].shape == (1000,)
    assert serialization.MAX_LOAD_BYTES == 1 << 30
