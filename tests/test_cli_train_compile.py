"""`autograd-lite train --compile`: the same run as eager, step for step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autograd_lite import load
from autograd_lite.cli import main

RUNS = {
    "digits mlp, cross-entropy, adam, last batch smaller": [
        "--epochs", "2", "--hidden", "32", "--batch-size", "50"],
    "xor mlp, mse on one-hot rows, sgd, cosine": [
        "--data", "xor", "--hidden", "8", "--epochs", "5", "--lr", "0.03", "--loss", "mse",
        "--optimizer", "sgd", "--schedule", "cosine"],
    "sine regression, tanh, float64": [
        "--data", "sine", "--hidden", "16", "--activation", "tanh", "--epochs", "3",
        "--dtype", "float64"],
    "digits cnn": ["--model", "cnn", "--channels", "4,8", "--epochs", "1"],
}


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
def test_a_compiled_run_writes_the_metrics_and_weights_of_the_eager_run(
        tmp_path: Path, options: list[str]) -> None:
    written = {}
    for mode in ("eager", "compiled"):
        out = tmp_path / mode
        flags = ["--compile"] if mode == "compiled" else []
        assert main(["train", *options, *flags, "--out", str(out)]) == 0
        written[mode] = (json.loads((out / "metrics.json").read_text()),
                         load(out / "model.npz"))
    (eager, eager_weights), (compiled, compiled_weights) = written["eager"], written["compiled"]
    assert compiled["options"].pop("compile") is True
    assert eager["options"].pop("compile") is False
    assert compiled == eager  # every epoch's losses and scores, bit for bit (JSON floats)
    assert eager_weights.keys() == compiled_weights.keys()
    for name, value in eager_weights.items():
        assert np.array_equal(value, compiled_weights[name]), name
