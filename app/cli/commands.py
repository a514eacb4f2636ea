"""What each ``digitnet`` subcommand does; app.cli.arguments only parses the arguments."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from app.cli.progress import ProgressBar
from app.reading.images import InputError, open_images
from app.reading.predictor import Predictor
from app.runs.pipeline import RunSpec, build_data, execute
from app.runs.training import config_from
from app.settings import Settings
from app.state.store import StoreError
from model.config import TrainConfig
from model.data.download import MIRRORS, download_mnist
from model.data.mnist import DataError, find_data_dir, load_mnist
from model.serialize import ModelFileError, load_model
from model.train import Cancelled, Diverged, evaluate

# httptools with a deadline for a request's head: less server time a request than h11; asyncio's own
# event loop, even where uvloop is installed: uvloop measured no faster here, with a worse p99
# (docs/performance.md, Serving)
HTTP_PROTOCOL = "app.web.protocol:HeadDeadlineHttpToolsProtocol"
EVENT_LOOP = "asyncio"
OVERRIDES = ("hidden", "layers", "activation", "cost", "optimizer", "lr", "schedule", "epochs",
             "batch_size", "l2", "seed", "validation", "limit")


class UserError(Exception):
    """Something the user can fix: a missing file, a bad value. Printed without a traceback."""


def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "train":
            return train_command(args)
        if args.command == "evaluate":
            return evaluate_command(args)
        if args.command == "predict":
            return predict_command(args)
        if args.command == "serve":
            return serve_command(args)
        return data_command(args)
    except (DataError, ModelFileError, InputError, StoreError, ValueError, OSError) as exc:
        raise UserError(str(exc)) from exc


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset, with every option the user gave replacing the preset's value."""
    return config_from(args.preset, {k: getattr(args, k) for k in OVERRIDES}, args.augment)


def train_command(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    spec = RunSpec(cfg, args.data, args.pen_data, args.pen_copies if args.pen_data else 0, args.feedback)
    if args.pen_data:
        print(f"drawing the pen digits of {args.pen_data} ({args.pen_copies} copies)", file=sys.stderr)
    data = build_data(spec)
    out = Path(args.out or f"runs/model-{datetime.now():%Y%m%d-%H%M%S}.npz")
    stop = {"requested": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(requested=True))
    origin = {"preset": args.preset, "command": _command()}
    ended = execute(spec, data, ProgressBar(cfg.epochs, sys.stderr), lambda: stop["requested"], out,
                    lambda network: origin)
    if isinstance(ended, Diverged):
        raise UserError(f"training diverged: {ended.reason}")
    if isinstance(ended, Cancelled):
        print(f"\ncancelled at epoch {ended.epoch}, batch {ended.batch}; nothing saved", file=sys.stderr)
        return 130
    print(f"test accuracy {ended.event.test_accuracy:.4f}; saved {out}", file=sys.stderr)
    return 0


def _command() -> str:
    """The command as typed (when called as a library, the options are not known: just "train")."""
    argv = sys.argv[1:] if sys.argv[1:2] == ["train"] else ["train"]
    return "digitnet " + shlex.join(argv)


def evaluate_command(args: argparse.Namespace) -> int:
    saved = load_model(args.weights)
    mnist = load_mnist(args.data)
    y = mnist.test_labels.astype(np.int64)
    loss, accuracy, predicted = evaluate(saved.network, mnist.test_images, y)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    per_class = (np.diag(confusion) / confusion.sum(axis=1)).round(4).tolist()
    if args.json:
        print(json.dumps({"accuracy": accuracy, "n": int(len(y)), "loss": round(loss, 5),
                          "per_class": per_class, "confusion": confusion.tolist(),
                          "weights": str(args.weights)}))
        return 0
    print(f"test accuracy {accuracy:.4f} on {len(y)} digits (mean cross-entropy {loss:.4f})")
    print("per digit: " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(per_class)))
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("     " + "".join(f"{d:>6}" for d in range(10)))
    for d, row in enumerate(confusion):
        print(f"{d:>5}" + "".join(f"{n:>6}" for n in row))
    return 0


def predict_command(args: argparse.Namespace) -> int:
    """Read the digit in an image file with the server's own ``Predictor``, as ``POST /predict`` reads
    a drawing: the same file gets the same digit and probabilities from both (a blank one: None and
    ten 0.1s). The header is read first, so a file that is no image is said before the model loads."""
    try:
        data = Path(args.image).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.image}: {exc.strerror}") from exc
    opened = open_images([data])  # the server's checks; its pixel budget is for requests, not files
    answer = Predictor.from_file(args.weights).predict_images(opened)[0]
    digit, probs = answer.digit, answer.probabilities
    if args.json:
        print(json.dumps({"digit": digit, "probabilities": probs}))
    elif digit is None:
        print("no digit found (the image is blank)")
    else:
        print(f"digit {digit}  ({probs[digit]:.1%})")
        print("  ".join(f"{d}:{v:.3f}" for d, v in enumerate(probs)))
    return 0


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn  # here, so that the other commands start without loading the web stack

    from app.main import check_can_start

    if args.weights:
        os.environ["DIGITNET_WEIGHTS"] = str(Path(args.weights).resolve())  # for every worker
    check_can_start(Settings.from_env())  # what would stop a worker is one line here, not a traceback
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                timeout_graceful_shutdown=5, http=HTTP_PROTOCOL, loop=EVENT_LOOP)
    return 0


def data_command(args: argparse.Namespace) -> int:
    target = find_data_dir(args.data)
    if args.data_command == "verify":
        load_mnist(target)
        print(f"MNIST in {target} is complete and matches the official SHA-256 sums")
        return 0
    last = {"t": 0.0}

    def progress(name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last["t"] > 0.2 or (total is not None and done == total):
            last["t"] = now
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"\r{name}: {size}", end="", file=sys.stderr, flush=True)

    paths = download_mnist(target, mirrors=args.mirror or MIRRORS, progress=progress)
    print(f"\nMNIST is in {target} ({len(paths)} files, SHA-256 verified)", file=sys.stderr)
    return 0
