"""`eval` on hostile run directories: every config field and every model file defect gives
one line on stderr and exit status 2, never a traceback or a large allocation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.cli import main


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xor")
    assert main(["train", "--data", "xor", "--hidden", "4", "--epochs", "1",
                 "--out", str(out)]) == 0
    return out


def run_with(xor_run: Path, tmp_path: Path, **config_changes: Any) -> Path:
    """A copy of the xor run with ``config.json`` fields replaced (None deletes one)."""
    run = tmp_path / "run"
    shutil.copytree(xor_run, run)
    config = json.loads((run / "config.json").read_text())
    for key, value in config_changes.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    (run / "config.json").write_text(json.dumps(config))
    return run / "model.npz"


def eval_error(model: Path, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    assert main(["eval", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_the_untouched_run_evaluates(xor_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--model", str(xor_run / "model.npz")]) == 0
    assert capsys.readouterr().out.startswith("test accuracy: ")


BAD_CONFIG = {
    "dtype a list": ({"dtype": ["float32"]}, "'dtype' is [\"float32\"]; expected one of "
                                             "float32, float64"),
    "seed a string": ({"seed": "0"}, "'seed' is \"0\"; expected a non-negative integer"),
    "seed negative": ({"seed": -1}, "'seed' is -1; expected a non-negative integer"),
    "seed a bool": ({"seed": True}, "'seed' is true"),
    "sizes 1e6": ({"sizes": [2, 1e6, 2]}, "'sizes' is [2, 1000000.0, 2]; expected a list of "
                                          "at least two positive integers"),
    "sizes a string": ({"sizes": "2,4,2"}, "'sizes' is \"2,4,2\""),
    "huge hidden layer": ({"sizes": [2, 1_000_000, 1_000_000, 2]},
                          "the sizes need 1,000,006,000,002 parameters, the file holds 22"),
    "sizes off the data": ({"sizes": [3, 4, 2]}, "sizes [3, 4, 2] do not fit data set 'xor', "
                                                 "which has 2 features and 2 outputs"),
    "unknown data set": ({"data": "mnist"}, "'data' is \"mnist\"; expected one of digits"),
    "data a dict": ({"data": {}}, "'data' is {}"),
    "activation": ({"activation": "gelu"}, "'activation' is \"gelu\"; expected one of relu"),
    "loss": ({"loss": 3}, "'loss' is 3; expected one of cross_entropy, mse"),
    "missing field": ({"loss": None}, "not a config written by autograd-lite train "
                                      "(missing 'loss')"),
    "long value": ({"activation": "x" * 500}, "'activation' is \"xxxxx"),
}


@pytest.mark.parametrize(("changes", "message"), BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_every_config_field_is_validated(xor_run: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture, changes: dict,
                                         message: str) -> None:
    err = eval_error(run_with(xor_run, tmp_path, **changes), capsys)
    assert message in err
    assert len(err) < 400


def test_a_config_that_is_not_an_object_exits_2(xor_run: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    model = run_with(xor_run, tmp_path)
    (model.parent / "config.json").write_text("[1, 2]")
    assert "expected a JSON object, got list" in eval_error(model, capsys)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated or corrupt .npz archive"),
    (lambda p: p.write_text("not a model"), "is not an .npz archive"),
], ids=["empty", "truncated", "text"])
def test_a_damaged_model_file_exits_2(xor_run: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture, damage,
                                      message: str) -> None:
    model = run_with(xor_run, tmp_path)
    damage(model)
    err = eval_error(model, capsys)
    assert message in err and str(model) in err


def test_a_safetensors_model_file_evaluates_like_the_npz(xor_run: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    model = run_with(xor_run, tmp_path)
    state = ag.load(model)
    ag.save(state, tmp_path / "model.safetensors")
    (tmp_path / "model.safetensors").replace(model)  # same name, other content
    assert main(["eval", "--model", str(model)]) == 0
    expected = capsys.readouterr().out
    assert main(["eval", "--model", str(xor_run / "model.npz")]) == 0
    assert capsys.readouterr().out == expected
    assert set(state) and all(isinstance(v, np.ndarray) for v in state.values())
