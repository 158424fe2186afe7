"""``autograd-lite eval --model DIR/model.npz``: the test score of a trained model.

The architecture, data set, seed and dtype come from the ``config.json`` that ``train``
wrote beside the model; the split is recomputed from them, so the score equals the one
printed at the end of training. Exit status: 0, or 2 (one line on stderr) for a missing
or unreadable file or a model that does not fit its config.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import datasets
from ..serialization import load
from .train import CONFIG_NAME, DTYPES, UsageError, build_model, evaluate, score_name

_CONFIG_KEYS = ("data", "sizes", "activation", "loss", "seed", "dtype")


def _config(model_path: Path) -> dict[str, Any]:
    """The training config stored beside ``model_path``; UsageError if absent or invalid."""
    path = model_path.parent / CONFIG_NAME
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--model {str(model_path)!r}: no {CONFIG_NAME} beside it; eval needs "
                         f"the directory written by autograd-lite train") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON config ({exc})") from None
    missing = [key for key in _CONFIG_KEYS if key not in config] if isinstance(config, dict) \
        else list(_CONFIG_KEYS)
    if missing or config["dtype"] not in DTYPES:
        raise UsageError(f"{path}: not a config written by autograd-lite train (missing or "
                         f"invalid: {', '.join(missing) or 'dtype'})")
    return config


def run(args: argparse.Namespace) -> int:
    """Run ``eval`` with parsed ``args``; returns the exit status."""
    model_path = Path(args.model)
    try:
        if not model_path.is_file():
            raise UsageError(f"--model {str(model_path)!r}: no such file")
        config = _config(model_path)
        try:
            state = load(model_path)
            data = datasets.load(config["data"], config["seed"], DTYPES[config["dtype"]])
        except (OSError, ValueError) as exc:  # not an archive; an unknown data set
            raise UsageError(str(exc)) from None
        try:
            model = build_model(config)
            model.load_state_dict(state)
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if exc.args else exc
            raise UsageError(f"--model {str(model_path)!r} does not fit the architecture in "
                             f"{CONFIG_NAME} (sizes {config['sizes']}, activation "
                             f"{config['activation']!r}): {message}") from None
    except UsageError as exc:
        print(f"autograd-lite eval: error: {exc}", file=sys.stderr)
        return 2
    _, score = evaluate(model, data.test, config["loss"], data.classes)
    print(f"test {score_name(data.classes)}: {score:.4f}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``eval`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "eval", help="report the test score of a model written by train",
        description="Rebuild a model written by autograd-lite train and report its test "
                    "score on the same split.")
    parser.add_argument("--model", required=True, metavar="DIR/model.npz",
                        help="the model.npz of a training run (config.json must be beside it)")
    parser.set_defaults(func=run)
    return parser
