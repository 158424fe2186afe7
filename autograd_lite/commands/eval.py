"""``autograd-lite eval --model DIR/model.npz``: the test score of a trained model.

The architecture, data set, seed and dtype come from the ``config.json`` that ``train``
wrote beside the model; the split is recomputed from them, so the score equals the one
printed at the end of training. Every field of ``config.json`` that eval reads is checked,
and the model file is read by :func:`autograd_lite.load`, which validates every declared
size before allocating. Exit status: 0, or 2 (one line on stderr) for a missing,
unreadable or corrupt file, an invalid config, or a model that does not fit its config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import datasets
from ..serialization import load
from .train import (
    ACTIVATIONS,
    CONFIG_NAME,
    DTYPES,
    LOSSES,
    MODELS,
    UsageError,
    build_model,
    evaluate,
    parameter_count,
    score_name,
)


def _is_sizes(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 2 and \
        all(type(n) is int and n >= 1 for n in value)


# Every field eval reads from config.json: a check and what the check wants, for the message.
_CONFIG_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "data": (lambda v: isinstance(v, str) and v in datasets.NAMES,
             f"one of {', '.join(datasets.NAMES)}"),
    "sizes": (_is_sizes, "a list of at least two positive integers"),
    "activation": (lambda v: isinstance(v, str) and v in ACTIVATIONS,
                   f"one of {', '.join(ACTIVATIONS)}"),
    "loss": (lambda v: isinstance(v, str) and v in LOSSES, f"one of {', '.join(LOSSES)}"),
    "seed": (lambda v: type(v) is int and v >= 0, "a non-negative integer"),
    "dtype": (lambda v: isinstance(v, str) and v in DTYPES, f"one of {', '.join(DTYPES)}"),
}


# The fields of a CNN's config (configs without "model" are MLPs, as train wrote them).
_CNN_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (lambda v: v in MODELS, f"one of {', '.join(MODELS)}"),
    "channels": (lambda v: _is_sizes(v) and len(v) == 2, "two positive integers"),
    "image_shape": (lambda v: v == [8, 8], "[8, 8], the digits' image shape"),
}


def _config(model_path: Path) -> dict[str, Any]:
    """The training config stored beside ``model_path``, every field eval reads checked;
    UsageError naming the file and the field if absent or invalid."""
    path = model_path.parent / CONFIG_NAME
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--model {str(model_path)!r}: no {CONFIG_NAME} beside it; eval needs "
                         f"the directory written by autograd-lite train") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path}: not a config written by autograd-lite train (expected a "
                         f"JSON object, got {type(config).__name__})")
    fields = {**_CONFIG_FIELDS, **_CNN_FIELDS} if config.get("model") == "cnn" else \
        _CONFIG_FIELDS
    for key, (valid, wanted) in fields.items():
        if key not in config:
            raise UsageError(f"{path}: not a config written by autograd-lite train (missing "
                             f"{key!r})")
        if not valid(config[key]):
            raise UsageError(f"{path}: {key!r} is {_short(config[key])}; expected {wanted}")
    return config


def _short(value: Any) -> str:
    """``value`` as JSON, cut short: a config field can be arbitrarily long."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_fit(config: dict[str, Any], data: datasets.Dataset, state: dict[str, Any],
               model_path: Path) -> None:
    """Refuse a config that does not fit its data set or its model file before building
    the model: the file's size then bounds the model's, whatever ``sizes`` says."""
    sizes = config["sizes"]
    if (sizes[0], sizes[-1]) != (data.features, data.outputs):
        raise UsageError(f"{model_path.parent / CONFIG_NAME}: sizes {_short(sizes)} do not fit "
                         f"data set {data.name!r}, which has {data.features} features and "
                         f"{data.outputs} outputs")
    if config["loss"] == "cross_entropy" and not data.classes:
        raise UsageError(f"{model_path.parent / CONFIG_NAME}: loss 'cross_entropy' needs "
                         f"classes; data set {data.name!r} is regression")
    expected = parameter_count(config)
    stored = sum(arr.size for arr in state.values())
    if expected != stored:
        raise UsageError(f"--model {str(model_path)!r} does not fit the architecture in "
                         f"{CONFIG_NAME} (sizes {_short(sizes)}, activation "
                         f"{config['activation']!r}): the sizes need {expected:,} parameters, "
                         f"the file holds {stored:,}")


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
        except (OSError, ValueError) as exc:  # not a valid model file; digits without sklearn
            raise UsageError(str(exc)) from None
        _check_fit(config, data, state, model_path)
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
