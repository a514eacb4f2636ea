"""Does a change to the trainer keep its results bit for bit? Record a run's results, or compare.

Speed work on ``model/`` must not change what training computes. This script runs a handful of
short trainings on real MNIST (a few hundred batches each) that between them take every path of the
trainer: SGD, momentum, Adam; relu, tanh, leaky_relu, sigmoid; cross-entropy and squared error; L2;
the constant, step and cosine schedules; float32 and float64; uint8 and float digits; augmentation
(several pieces); a validation split; a last batch smaller than the rest; two hidden layers; a run
that diverges; a convolutional network (two convolutions, same and valid, two poolings). For each it
keeps every event (batch losses and learning rates, epoch metrics, the reason of a stop; not the
timings) and the final theta. A run missing from an older recording is said so and not compared.

    python benchmarks/train_identity.py --save DIR    # record, e.g. with the code before a change
    python benchmarks/train_identity.py --check DIR   # the same runs now: every value equal?

``--model-root`` imports ``model`` from another tree, e.g. ``git archive HEAD model | tar -x -C
/tmp/ref`` for the code as committed (run from outside the repository, so that the current
directory does not shadow it). Values are compared with ``np.array_equal`` (floats: the same bits
up to the sign of zero; NaN equals NaN).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def configs() -> dict[str, Any]:
    """name -> (TrainConfig, float digits?): short runs that cover the trainer's paths."""
    from model.config import PRESETS, TrainConfig
    from model.images.augment import AugmentConfig

    return {
        "seed": (replace(PRESETS["seed"], epochs=3, limit=12_000), False),
        "default": (replace(PRESETS["default"], epochs=2, limit=3_000, validation=500), False),
        "momentum_tanh_l2_step": (TrainConfig(
            hidden=(64, 32), activation="tanh", optimizer="momentum", lr=0.05, l2=1e-4,
            schedule="step", lr_step_epochs=1, lr_gamma=0.5, epochs=3, batch_size=100,
            limit=10_050, validation=1_000, seed=7), False),
        "adam_augment_leaky": (TrainConfig(
            hidden=(64,), activation="leaky_relu", optimizer="adam", lr=2e-3, epochs=3,
            batch_size=64, limit=5_000, augment=AugmentConfig(), seed=3), False),
        "float64": (TrainConfig(
            hidden=(48,), dtype="float64", lr=0.2, schedule="cosine", epochs=2, batch_size=50,
            limit=6_010, validation=500, seed=11), False),
        "mse_sigmoid": (TrainConfig(
            hidden=(32,), activation="sigmoid", cost="mse", lr=0.5, epochs=2, limit=10_000, seed=5), False),
        "float_digits_momentum": (TrainConfig(
            hidden=(40,), optimizer="momentum", lr=0.02, epochs=2, batch_size=96, limit=8_000,
            seed=2), True),
        "float64_augment_adam": (TrainConfig(
            hidden=(24, 24), dtype="float64", optimizer="adam", lr=1e-3, epochs=2, limit=2_500,
            augment=AugmentConfig(), validation=300, seed=9), False),
        "diverges": (TrainConfig(hidden=(32,), lr=1e5, epochs=3, limit=4_000, seed=1), False),
        "conv_adam_augment": (TrainConfig(
            image_layers=("conv5x5x8", "pool", "conv3x3x8-valid", "pool"), hidden=(32,),
            optimizer="adam", lr=2e-3, epochs=2, batch_size=64, limit=1_500, augment=AugmentConfig(),
            validation=200, seed=4), False),
    }


def record(cfg: Any, data: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every event of a run as (class name, fields), without timings; Finished keeps theta."""
    from model.train import train

    events = []
    for event in train(cfg, data):
        values = {f.name: getattr(event, f.name) for f in fields(event)}
        for timing in ("seconds", "samples_per_s"):
            values.pop(timing, None)
        if "network" in values:
            values["network"] = values["network"].theta.copy()
        events.append((type(event).__name__, values))
    return events


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray | float | np.floating):
        return np.array_equal(a, b, equal_nan=True) and np.asarray(a).dtype == np.asarray(b).dtype
    return a == b


def compare(name: str, old: list, new: list) -> list[str]:
    """What differs between two recordings of one run (empty: identical)."""
    if [kind for kind, _ in old] != [kind for kind, _ in new]:
        return [f"{name}: the events differ in kind or number ({len(old)} against {len(new)})"]
    problems = []
    for i, ((kind, a), (_, b)) in enumerate(zip(old, new, strict=True)):
        for key in a:
            if not same(a[key], b[key]):
                problems.append(f"{name}: event {i} ({kind}) field {key}: {a[key]!r} != {b[key]!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="record the runs into this directory")
    what.add_argument("--check", type=Path, help="compare the runs with those recorded here")
    parser.add_argument("--model-root", type=Path, default=ROOT, help="where to import model from")
    default_data = os.environ.get("DIGITNET_DATA") or str(ROOT.parent / "shared" / "mnist")
    parser.add_argument("--data", default=default_data, help="MNIST directory (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="run only these configs")
    args = parser.parse_args()
    sys.path.insert(0, str(args.model_root.resolve()))
    import model
    from model.data.mnist import load_mnist
    from model.train import Dataset, as_float

    print(f"model from {Path(model.__file__).parent}")
    mnist = load_mnist(args.data)
    problems: list[str] = []
    for name, (cfg, float_digits) in configs().items():
        if args.only and name not in args.only:
            continue
        train_x = as_float(mnist.train_images, np.dtype(cfg.dtype)) if float_digits else mnist.train_images
        data = Dataset(train_x, mnist.train_labels, mnist.test_images, mnist.test_labels)
        events = record(cfg, data)
        path = (args.save or args.check) / f"{name}.pickle"
        if args.save:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(events))
            print(f"{name}: {len(events)} events saved, last {events[-1][0]}")
            continue
        if not path.exists():  # a recording made before this run was added
            print(f"{name}: {len(events)} events, not recorded in {path.parent}")
            continue
        found = compare(name, pickle.loads(path.read_bytes()), events)
        print(f"{name}: {len(events)} events, {'identical' if not found else f'{len(found)} differences'}")
        problems += found
    if problems:
        sys.exit("\n".join(problems[:20]))


if __name__ == "__main__":
    main()
