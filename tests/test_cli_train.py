"""The `train` and `eval` commands: end to end runs, reproducibility, bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import datasets
from autograd_lite.cli import main
from autograd_lite.nn import layers

FILES = {"metrics.json", "curves.png", "graph.svg", "model.npz", "config.json"}
XOR = ["train", "--data", "xor", "--hidden", "8", "--epochs", "25", "--lr", "0.03"]


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short digits run shared by the tests that only read its outputs."""
    out = tmp_path_factory.mktemp("digits")
    assert main(["train", "--epochs", "4", "--hidden", "32", "--lr", "3e-3", "--out",
                 str(out)]) == 0
    return out


def test_digits_run_learns_and_writes_every_file(digits_run: Path) -> None:
    assert {p.name for p in digits_run.iterdir()} == FILES | {"mistakes.png"}
    m = metrics(digits_run)
    assert m["test_accuracy"] >= 0.9
    assert len(m["epochs"]) == 4 and m["epochs"][-1]["val_accuracy"] >= 0.9
    assert m["epochs"][-1]["train_loss"] < m["epochs"][0]["train_loss"]
    assert m["options"]["sizes"] == [64, 32, 10] and m["seed"] == 0
    for image in ("curves.png", "mistakes.png"):
        assert (digits_run / image).read_bytes().startswith(b"\x89PNG")
    svg = (digits_run / "graph.svg").read_text()
    assert "cluster_mlp.layers.0" in svg and "cluster_mlp.layers.2" in svg
    assert ">x</text>" in svg  # the batch is named in the graph


def test_eval_reports_the_test_accuracy_of_training(digits_run: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--model", str(digits_run / "model.npz")]) == 0
    expected = metrics(digits_run)["test_accuracy"]
    assert capsys.readouterr().out == f"test accuracy: {expected:.4f}\n"


def test_xor_is_learnt_and_the_check_line_is_printed(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert main([*XOR, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradient check: 42 parameters, max relative error ")
    assert "— ok\n" in out
    assert metrics(tmp_path)["test_accuracy"] >= 0.9
    assert {p.name for p in tmp_path.iterdir()} == FILES | {"boundary.png"}  # not images


def test_sine_regression_reports_test_mse(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--data", "sine", "--hidden", "16", "--activation", "tanh",
                 "--epochs", "40", "--lr", "0.01", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == FILES | {"fit.png"}
    m = metrics(tmp_path)
    assert m["options"]["loss"] == "mse" and "val_mse" in m["epochs"][0]
    assert m["test_mse"] < 0.05  # the variance of sin on [-pi, pi] is 0.5
    assert f"test MSE: {m['test_mse']:.4f}" in capsys.readouterr().out


def test_the_same_seed_gives_the_same_metrics(tmp_path: Path) -> None:
    runs = {name: tmp_path / name for name in ("a", "b", "c")}
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert main([*XOR, "--epochs", "3", "--seed", seed, "--out", str(runs[name])]) == 0
    text = {name: (out / "metrics.json").read_text() for name, out in runs.items()}
    assert text["a"] == text["b"]
    assert text["a"] != text["c"]


def test_the_split_is_stratified_and_seeded() -> None:
    data = datasets.load("digits", seed=3)
    assert sum(len(part.y) for part in (data.train, data.val, data.test)) == 1797
    for part in (data.train, data.val, data.test):
        share = np.bincount(part.y, minlength=10) / len(part.y)
        assert np.abs(share - 0.1).max() < 0.01
    assert np.array_equal(datasets.load("digits", seed=3).test.X, data.test.X)
    assert not np.array_equal(datasets.load("digits", seed=4).test.X, data.test.X)


class _WrongReLU(ag.Function):
    """ReLU whose backward doubles the gradient: the check must catch it."""

    @staticmethod
    def forward(ctx: ag.function.Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx: ag.function.Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return 2 * grad * (x > 0)


def test_a_wrong_gradient_fails_the_check_and_stops(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers.F, "relu", _WrongReLU.apply)
    assert main([*XOR, "--out", str(tmp_path)]) == 1
    assert "— FAILED" in capsys.readouterr().out
    assert not (tmp_path / "model.npz").exists()


def _other_architecture(tmp_path: Path) -> Path:
    """A run directory whose model.npz comes from a run with other layer sizes."""
    small, big = tmp_path / "small", tmp_path / "big"
    assert main([*XOR, "--epochs", "1", "--out", str(small)]) == 0
    assert main([*XOR, "--epochs", "1", "--hidden", "4,4", "--out", str(big)]) == 0
    shutil.copy(small / "model.npz", big / "model.npz")
    return big / "model.npz"


def _lone_model(tmp_path: Path) -> Path:
    """A model.npz without the config.json that train writes beside it."""
    ag.save({"w": np.zeros(2)}, tmp_path / "model.npz")
    return tmp_path / "model.npz"


def _file_in_the_way(tmp_path: Path) -> str:
    (tmp_path / "taken").write_text("a file, not a directory")
    return str(tmp_path / "taken" / "run")


BAD_TRAIN = {
    "unknown data set": (["--data", "mnist"], "unknown data set 'mnist'; choose one of digits"),
    "letters in --hidden": (["--hidden", "64,x"], "--hidden '64,x': expected comma-separated"),
    "zero in --hidden": (["--hidden", "64,0"], "--hidden '64,0': expected comma-separated"),
    "empty part in --hidden": (["--hidden", "64,,32"], "--hidden '64,,32'"),
    "cross entropy on regression": (["--data", "sine", "--loss", "cross_entropy"],
                                    "data set 'sine' is regression"),
    "negative --lr": (["--lr", "-1"], "--lr -1.0: must be a finite number > 0"),
    "zero --epochs": (["--epochs", "0"], "--epochs 0: must be a positive integer"),
}


@pytest.mark.parametrize(("options", "message"), BAD_TRAIN.values(), ids=BAD_TRAIN.keys())
def test_bad_train_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                  options: list[str], message: str) -> None:
    assert main(["train", *options, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_an_unwritable_out_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = _file_in_the_way(tmp_path)
    assert main([*XOR, "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"--out '{out}': cannot create the directory" in err


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "nowhere" / "model.npz", "no such file"),
    (_lone_model, "no config.json beside it"),
    (_other_architecture, "does not fit the architecture in config.json (sizes [2, 4, 4, 2]"),
], ids=["missing file", "missing config", "another architecture"])
def test_bad_eval_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture, make,
                                message: str) -> None:
    model = make(tmp_path)
    capsys.readouterr()
    assert main(["eval", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_digits_without_scikit_learn_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "data set 'digits' needs scikit-learn" in capsys.readouterr().err
