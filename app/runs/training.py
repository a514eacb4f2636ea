"""What ``digitnet train`` and the server's training runs share.

A run's hyperparameters are a preset with the user's changes on top (``config_from``); the data is
MNIST, checked to be there before a run starts (``require_mnist``), with any extra digits joined
to it (``dataset``); and the model a run makes is saved
with the same metadata whichever way it was started (``run_meta``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.feedback.accepted import AcceptedDrawings
from app.pen.digits import draw_strokes
from model.architecture import layer_list
from model.config import PRESETS, TrainConfig, layer_fields
from model.data.mnist import FILES, DataError, Mnist, find_data_dir
from model.images.augment import AugmentConfig
from model.train import Dataset, Finished


def config_from(preset: str, changes: Mapping[str, Any], augment: bool | None = None) -> TrainConfig:
    """The preset's config with every value in ``changes`` that is not None put in its place.

    ``augment`` True distorts the training digits as the preset does (the default distortions if
    the preset has none), False trains on them as they are, None keeps the preset's choice. Raises
    ValueError with a message naming the value when the result is not a valid config.
    """
    values = {name: value for name, value in changes.items() if value is not None}
    if "layers" in values:  # a whole layer list, or its preset's name: it sets hidden and image_layers
        if "hidden" in values:
            raise ValueError("give either the hidden sizes or the whole layer list, not both")
        values.update(layer_fields(layer_list(values.pop("layers"))))
    if "hidden" in values:
        values["hidden"] = tuple(values["hidden"])
    base = PRESETS[preset]
    if augment is not None:
        values["augment"] = (base.augment or AugmentConfig()) if augment else None
    return dataclasses.replace(base, **values)


# What a run started from the server may ask for: it trains on the server's CPU, between predictions,
# and each finished run is kept as a version file (4 bytes a parameter). The default preset (1.28 M
# parameters, 40 epochs) is well inside; docs/training.md has its time.
MAX_RUN_PARAMETERS = 3_000_000
MAX_RUN_EPOCHS = 100
# A convolution's cost is not in its parameters (conv-large, the shipped weights/digitnet.npz: 857,738 of
# them, yet 11.5 M multiply-adds a digit against the dense preset's 1.3 M), so runs are capped on that
# too, and on the patch matrix a batch copies into memory (4 bytes a number); conv-large at batch 128:
# 11.5 M and 77 MiB. The cap lets the admin and the feedback loop retrain the shipped network.
MAX_RUN_MULTIPLY_ADDS = 12_000_000
MAX_RUN_PATCH_BYTES = 512 << 20


class RunConfigError(ValueError):
    """A run the server was asked for cannot be: its config is not valid, or too big to train here."""


def server_config(preset: str, changes: Mapping[str, Any], augment: bool | None) -> TrainConfig:
    """``config_from``, checked to be small enough for the server (``check_run_size``);
    RunConfigError saying why not."""
    try:
        config = config_from(preset, changes, augment)
        check_run_size(config)
    except ValueError as exc:
        raise RunConfigError(str(exc)) from exc
    return config


def check_run_size(cfg: TrainConfig) -> None:
    """ValueError, saying why, if a run from the server would be too big to train in reasonable time."""
    arch = cfg.architecture()
    n = arch.n_params
    if n > MAX_RUN_PARAMETERS:
        raise ValueError(
            f"this network has {n:,} parameters; a run on the server may have at most "
            f"{MAX_RUN_PARAMETERS:,} (about {4 * MAX_RUN_PARAMETERS / 1e6:.0f} MB a version, and it must "
            "train in reasonable time): use fewer or smaller hidden layers, or 'digitnet train' on a "
            "machine of your own")
    work = arch.multiply_adds()
    if work > MAX_RUN_MULTIPLY_ADDS:
        raise ValueError(
            f"this network does {work:,} multiply-adds for each digit it reads; a run on the server may do "
            f"at most {MAX_RUN_MULTIPLY_ADDS:,} (an epoch is 60,000 of them, three times over with "
            "backpropagation): use fewer channels or layers, or 'digitnet train' on a machine of your own")
    patches = 4 * arch.patch_numbers() * cfg.batch_size
    if patches > MAX_RUN_PATCH_BYTES:
        raise ValueError(f"a batch of {cfg.batch_size} copies {patches / 2**20:,.0f} MiB of image patches "
                         f"for its largest convolution; at most {MAX_RUN_PATCH_BYTES >> 20} MiB: use a "
                         "smaller batch")
    if cfg.epochs > MAX_RUN_EPOCHS:
        raise ValueError(f"a run on the server may have at most {MAX_RUN_EPOCHS} epochs, not {cfg.epochs}")


def require_mnist(explicit: str | None) -> Path:
    """The directory a run will read MNIST from; DataError naming what is missing if it is not all
    there (the files are checked against their SHA-256 when the run reads them)."""
    data_dir = find_data_dir(explicit)
    missing = [n for n in FILES if not (data_dir / n).is_file()
               and not (data_dir / n.removesuffix(".gz")).is_file()]
    if missing:
        raise DataError(f"MNIST is not in {data_dir} (missing {', '.join(missing)}); "
                        "run 'digitnet data download' on the server")
    return data_dir


def dataset(mnist: Mnist, extra_x: np.ndarray | None = None, extra_y: np.ndarray | None = None) -> Dataset:
    """MNIST's training and test digits, with extra training digits joined to the training ones.

    ``extra_x`` is (n, 784) in MNIST form, floats in [0, 1] (e.g. pen-drawn digits); with extras the
    training images become float32 too (uint8 MNIST alone stays uint8, a quarter of the memory).
    """
    if extra_x is None or extra_y is None:
        return Dataset(mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels)
    train_x = np.concatenate([mnist.train_images / np.float32(255.0), extra_x.astype(np.float32)])
    train_y = np.concatenate([mnist.train_labels, extra_y.astype(mnist.train_labels.dtype)])
    return Dataset(train_x, train_y, mnist.test_images, mnist.test_labels)


# Each accepted drawing joins the training set this many times, drawn again from its strokes with a
# random pen, size and place each time (or as it was seen, without strokes): a few hundred real
# drawings then weigh against 60,000 MNIST digits. The figure was chosen by measurement
# (benchmarks/feedback_lift.py; docs/feedback.md).
FEEDBACK_COPIES = 20


def feedback_examples(drawings: AcceptedDrawings, copies: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Training examples from people's drawings (``FeedbackReader.drawings`` or an export's
    training part): ``copies`` renderings of each, (n * copies, 784) float32 in [0, 1] and their
    labels."""
    images, labels = [], []
    every = zip(drawings.digits, drawings.labels, drawings.strokes, strict=True)
    for digit, label, sent in every:
        strokes = [[(x, y) for x, y in stroke] for stroke in sent] if sent else None
        for _ in range(copies):
            drawn = draw_strokes(strokes, rng) if strokes else None
            images.append(drawn if drawn is not None else digit.reshape(784) / np.float32(255.0))
            labels.append(label)
    if not images:
        return np.empty((0, 784), np.float32), np.empty(0, np.uint8)
    return np.stack(images).astype(np.float32), np.array(labels, dtype=np.uint8)


def run_meta(cfg: TrainConfig, done: Finished, history: list[dict[str, Any]],
             data_sha256: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The metadata saved in a trained model's file: enough to know how it was made and to make it
    again (config, seed, the data's checksums), and how it learned (accuracy after every epoch).
    ``extra`` adds what only one way of starting a run knows (the command typed, the run id)."""
    return {
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "data_sha256": data_sha256,
        "test_accuracy": done.test_accuracy,
        "history": history,
        "training_seconds": round(done.seconds, 1),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "numpy": np.__version__,
        **extra,
    }
