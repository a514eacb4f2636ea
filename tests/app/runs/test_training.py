"""What the command line and the server's runs share: a config from a preset, MNIST's place, metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.runs.training import config_from, dataset, require_mnist, run_meta
from model.architecture import Architecture
from model.config import PRESETS
from model.data.mnist import DataError, Mnist
from model.images.augment import AugmentConfig
from model.network import Network
from model.train import Finished


def test_given_values_replace_the_presets_and_none_keeps_it() -> None:
    cfg = config_from("seed", {"hidden": [64, 32], "lr": 0.2, "epochs": None})
    assert cfg.hidden == (64, 32) and cfg.lr == 0.2
    assert cfg.epochs == PRESETS["seed"].epochs and cfg.optimizer == PRESETS["seed"].optimizer


def test_augment_turns_distortions_on_off_or_keeps_the_presets() -> None:
    assert PRESETS["seed"].augment is None and PRESETS["default"].augment is not None
    assert config_from("seed", {}, augment=True).augment == AugmentConfig()
    assert config_from("default", {}, augment=False).augment is None
    assert config_from("default", {}, augment=None).augment == PRESETS["default"].augment


def test_a_bad_value_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="lr"):
        config_from("seed", {"lr": -1.0})


def test_missing_mnist_files_are_named(tmp_path: Path, mnist_dir: Path) -> None:
    assert require_mnist(str(mnist_dir)) == mnist_dir
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError) as info:
        require_mnist(str(tmp_path))
    assert "train-labels-idx1-ubyte.gz" in str(info.value) and "train-images" not in str(info.value)
    assert "digitnet data download" in str(info.value)


def test_run_metadata_says_how_to_make_the_model_again_and_how_it_learned() -> None:
    cfg = PRESETS["seed"]
    done = Finished(Network(Architecture((784, 10))), test_accuracy=0.9, seconds=12.345)
    history = [{"epoch": 1, "test_accuracy": 0.9}]
    meta = run_meta(cfg, done, history, {"f.gz": "abc"}, run_id="r1")
    assert meta["config"] == cfg.to_dict() and meta["seed"] == cfg.seed
    assert meta["data_sha256"] == {"f.gz": "abc"} and meta["history"] == history
    assert (meta["test_accuracy"], meta["training_seconds"], meta["run_id"]) == (0.9, 12.3, "r1")
    assert meta["created_at"].endswith("+00:00")


def test_extra_digits_join_the_training_set_only() -> None:
    mnist = Mnist(np.full((3, 784), 255, np.uint8), np.array([1, 2, 3], np.uint8),
                  np.zeros((2, 784), np.uint8), np.array([4, 5], np.uint8), {})
    plain = dataset(mnist)
    assert plain.train_x is mnist.train_images and plain.train_x.dtype == np.uint8
    joined = dataset(mnist, np.full((2, 784), 0.5), np.array([7, 8]))
    assert joined.train_x.dtype == np.float32 and joined.train_x.shape == (5, 784)
    assert joined.train_x[0, 0] == 1.0 and joined.train_x[4, 0] == 0.5
    assert joined.train_y.tolist() == [1, 2, 3, 7, 8] and joined.train_y.dtype == np.uint8
    assert joined.test_x is mnist.test_images and joined.test_y.tolist() == [4, 5]
