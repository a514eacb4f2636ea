"""The ``digitnet`` command: train, evaluate, predict, serve, data download and verify.

This module only parses the arguments (app.cli.commands does the work), and parses them before NumPy
loads: ``serve`` must set BLAS's thread count first. So the names a user can choose come from
model.names, which the registries are keyed by and which imports nothing but the standard library.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from app.settings import SHIPPED_WEIGHTS
from model.names import (
    COSTS,
    DEFAULT_PRESET,
    HIDDEN_ACTIVATIONS,
    LAYER_FORMS,
    LAYER_PRESETS,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
)


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network on MNIST and save it")
    p.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET,
                   help=f"start from a preset; the options below override it (default: {DEFAULT_PRESET})")
    p.add_argument("--hidden", type=int, nargs="+", help="hidden layer sizes, e.g. --hidden 800 800")
    p.add_argument("--layers", help=f"the whole network instead: {', '.join(LAYER_PRESETS)}, or a list "
                                    f"of {LAYER_FORMS}, e.g. 'conv5x5x16, pool, dense128, dense10'")
    p.add_argument("--activation", choices=HIDDEN_ACTIVATIONS)
    p.add_argument("--cost", choices=COSTS)
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, help="(peak) learning rate")
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--l2", type=float, help="weight decay strength")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random distortions of the training digits")
    p.add_argument("--seed", type=int)
    p.add_argument("--validation", type=int, help="hold out this many training digits")
    p.add_argument("--limit", type=int, help="train on the first N digits only")
    p.add_argument("--data", help="MNIST directory (default: $DIGITNET_DATA, else the user cache)")
    p.add_argument("--pen-data", metavar="FILE",
                   help="also train on pen-drawn digits from a pendigits UNIPEN file, drawn like the canvas")
    p.add_argument("--pen-copies", type=int, default=3, help="drawings made of each pen sample (default: 3)")
    p.add_argument("--feedback", metavar="FILE",
                   help="also train on people's accepted drawings: a file from GET /feedback/export "
                        "(its held-out share is left out)")
    p.add_argument("--out", help="where to save the model (default: runs/model-<time>.npz)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitnet", description="A neural network from scratch in NumPy that reads digits."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="accuracy on the 10,000 MNIST test digits")
    p.add_argument("--weights", default=str(SHIPPED_WEIGHTS), help="model file (default: the shipped one)")
    p.add_argument("--data", help="MNIST directory (default: $DIGITNET_DATA, else the user cache)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("predict", help="read the digit in an image file")
    p.add_argument("image", help="a PNG or JPEG of one digit")
    p.add_argument("--weights", default=str(SHIPPED_WEIGHTS))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("serve", help="serve the drawing page and the /predict API")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, local only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="server processes (they share the state directory)")
    p.add_argument("--weights", help="model file (default: $DIGITNET_WEIGHTS, else the shipped one)")
    data = sub.add_parser("data", help="the MNIST files").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("download", help="download MNIST and verify its SHA-256 sums")
    p.add_argument("--data", help="target directory (default: $DIGITNET_DATA, else the user cache)")
    p.add_argument("--mirror", action="append", metavar="URL",
                   help="base URL holding the four .gz files (repeatable; default: public mirrors)")
    p = data.add_parser("verify", help="check the MNIST files against their SHA-256 sums")
    p.add_argument("--data", help="MNIST directory (default: $DIGITNET_DATA, else the user cache)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        # A request multiplies tiny matrices: BLAS threads only fight over the cores. This must be
        # set before NumPy loads, hence the late import of the commands below.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from app.cli import commands

    try:
        return commands.run(args)
    except commands.UserError as exc:
        print(f"digitnet: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1

