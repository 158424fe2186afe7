"""`train --model cnn` end to end, the defaults a newcomer relies on, and every way to
misuse `train`: a message and an exit status, never a traceback or a NumPy warning."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.cli import main

ROOT = Path(__file__).resolve().parent.parent
CNN = ["train", "--model", "cnn", "--channels", "4,8", "--epochs", "3"]
XOR = ["train", "--data", "xor", "--hidden", "8", "--epochs", "2"]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m autograd_lite ARGS`` in a fresh process (what a user runs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "autograd_lite", *args], capture_output=True,
                          text=True, env=env, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cnn")
    assert main([*CNN, "--out", str(out)]) == 0
    return out


def test_the_cnn_learns_digits_and_writes_every_file(cnn_run: Path) -> None:
    assert {p.name for p in cnn_run.iterdir()} == {
        "metrics.json", "model.npz", "config.json", "curves.png", "graph.svg", "mistakes.png"}
    m = json.loads((cnn_run / "metrics.json").read_text())
    assert m["test_accuracy"] >= 0.85 and m["stopped"] is None
    assert m["options"]["model"] == "cnn" and m["options"]["channels"] == [4, 8]
    state = ag.load(cnn_run / "model.npz")
    assert state["layers.1.weight"].shape == (4, 1, 3, 3)
    assert state["layers.7.weight"].shape == (10, 8 * 4 * 4)
    svg = (cnn_run / "graph.svg").read_text()
    assert "cluster_cnn.layers.1" in svg and "cluster_cross_entropy" in svg


def test_the_cnn_is_reproducible_by_seed(cnn_run: Path, tmp_path: Path) -> None:
    assert main([*CNN, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "metrics.json").read_text() == (cnn_run / "metrics.json").read_text()


def test_eval_rebuilds_the_cnn(cnn_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--model", str(cnn_run / "model.npz")]) == 0
    expected = json.loads((cnn_run / "metrics.json").read_text())["test_accuracy"]
    assert capsys.readouterr().out == f"test accuracy: {expected:.4f}\n"


def test_pictures_are_titled_and_sized_to_their_content(cnn_run: Path, tmp_path: Path) -> None:
    width, height = png_size(cnn_run / "mistakes.png")
    wrong = round((1 - json.loads((cnn_run / "metrics.json").read_text())["test_accuracy"])
                  * 270)
    assert width <= 900 and height <= 100 * (1.0 * -(-min(wrong, 40) // 10) + 0.5) + 1
    assert main([*XOR, "--out", str(tmp_path / "xor")]) == 0
    assert main(["train", "--data", "sine", "--hidden", "8", "--epochs", "2",
                 "--out", str(tmp_path / "sine")]) == 0
    # sine's loss is its score: one panel, half as wide as loss + accuracy
    assert png_size(tmp_path / "sine" / "curves.png")[0] * 2 == \
        png_size(tmp_path / "xor" / "curves.png")[0]
    assert png_size(tmp_path / "xor" / "boundary.png") == (550, 500)
    assert png_size(tmp_path / "sine" / "fit.png") == (600, 400)


def test_each_optimizer_gets_its_own_default_lr(tmp_path: Path) -> None:
    for optimizer, lr in (("sgd", 0.1), ("adam", 1e-3), ("rmsprop", 1e-3), ("adagrad", 1e-2)):
        out = tmp_path / optimizer
        assert main([*XOR, "--epochs", "1", "--optimizer", optimizer, "--out", str(out)]) == 0
        config = json.loads((out / "config.json").read_text())
        assert config["lr"] == lr and config["schedule"] == "constant"


def test_the_cnn_defaults_to_adam_at_3e_3(cnn_run: Path) -> None:
    config = json.loads((cnn_run / "config.json").read_text())
    assert config["lr"] == 3e-3 and config["optimizer"] == "adam"


def test_a_cosine_schedule_ends_lower(tmp_path: Path) -> None:
    for schedule in ("constant", "cosine"):
        assert main([*XOR, "--epochs", "3", "--schedule", schedule, "--out",
                     str(tmp_path / schedule)]) == 0
    constant, cosine = (json.loads((tmp_path / s / "metrics.json").read_text())
                        for s in ("constant", "cosine"))
    # the same first epoch (the rate starts at --lr), then different ones
    assert constant["epochs"][0] == cosine["epochs"][0]
    assert constant["epochs"][2] != cosine["epochs"][2]


BAD = {
    "negative seed": (["--seed", "-1"], "--seed -1: must be an integer in 0..4294967295"),
    "two huge layers": (["--hidden", "100000,100000"],
                        "the model would have 10,007,600,010 parameters, more than"),
    "one huge layer": (["--hidden", "1000000"], "the model would have 75,000,010 parameters"),
    "cnn without images": (["--model", "cnn", "--data", "xor"],
                           "--model cnn needs images; data set 'xor' has none"),
    "one channel size": (["--model", "cnn", "--channels", "8"],
                         "--channels '8': expected two sizes"),
    "nan lr": (["--lr", "nan"], "--lr nan: must be a finite number > 0"),
}


@pytest.mark.parametrize(("options", "message"), BAD.values(), ids=BAD.keys())
def test_bad_options_exit_2_with_one_line(tmp_path: Path, options: list[str],
                                          message: str) -> None:
    result = cli("train", *options, "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_with_exit_3_and_valid_json(tmp_path: Path) -> None:
    result = cli(*XOR, "--lr", "1e308", "--optimizer", "sgd", "--out", str(tmp_path))
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"autograd-lite train: error: the loss became NaN or inf in epoch 1; try a smaller "
        f"--lr than 1e+308 (files so far in {tmp_path}/)"]
    m = json.loads((tmp_path / "metrics.json").read_text(),
                   parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert m["stopped"] == "diverged" and len(m["epochs"]) == 1
    assert m["epochs"][0]["train_loss"] is None and m["test_loss"] is None


def test_chance_level_accuracy_is_warned_about(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--data", "spiral", "--optimizer", "sgd", "--lr", "1e-6",
                 "--epochs", "1", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: test accuracy" in err and "is at chance level" in err


def test_ctrl_c_finishes_the_epoch_writes_the_files_and_exits_130(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "autograd_lite", "train", "--hidden", "16",
         "--epochs", "500", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().startswith("gradient check:")  # training starts now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and "Traceback" not in err
    m = json.loads((tmp_path / "metrics.json").read_text())
    epochs = int(lines[0].split("after epoch ")[1].split(" ")[0])
    assert m["stopped"] == "interrupted" and len(m["epochs"]) == epochs < 500
    state = ag.load(tmp_path / "model.npz")
    assert set(state) == {"layers.0.weight", "layers.0.bias", "layers.2.weight",
                          "layers.2.bias"}
    assert np.isfinite(m["test_accuracy"])


@pytest.mark.parametrize(("change", "message"), [
    ({"channels": [4, 9]}, "the sizes need 1,823 parameters, the file holds 1,626"),
    ({"channels": [4]}, "'channels' is [4]; expected two positive integers"),
    ({"image_shape": [4, 16]}, "'image_shape' is [4, 16]; expected [8, 8]"),
], ids=["other channels", "one channel size", "other image shape"])
def test_eval_refuses_a_cnn_config_that_does_not_fit(cnn_run: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture, change,
                                                     message: str) -> None:
    for name in ("model.npz", "config.json"):
        (tmp_path / name).write_bytes((cnn_run / name).read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
    assert main(["eval", "--model", str(tmp_path / "model.npz")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
