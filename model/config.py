"""Hyperparameters of a training run, validated when constructed, and the presets that name a few.

The names a config may hold (activations, optimisers, schedules) are checked against ``names``, the
one spelling of them, so that this module needs none of the optimisers themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from model.architecture import Architecture
from model.images.augment import AugmentConfig
from model.names import DEFAULT_PRESET as DEFAULT_PRESET  # the preset a run starts from, beside PRESETS
from model.names import HIDDEN_ACTIVATIONS, LAYER_PRESETS, OPTIMIZERS, SCHEDULES


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's result, so that the same config and seed give the same theta.

    ``hidden`` lists the hidden layer sizes (784 inputs and 10 outputs are fixed by MNIST).
    ``image_layers`` (empty: a dense network) are the convolutions and poolings before them, named as
    in architecture.py, e.g. ("conv5x5x16", "pool"); they use ``activation`` too.
    ``lr`` is the peak learning rate; ``schedule`` shapes it over the run ("step" multiplies it by
    ``lr_gamma`` every ``lr_step_epochs`` epochs). ``l2`` is the weight-decay strength.
    ``validation`` holds out that many training digits to report accuracy on (0: none).
    """

    hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    cost: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    schedule: str = "constant"
    lr_step_epochs: int = 10
    lr_gamma: float = 0.1
    min_lr: float = 0.0
    epochs: int = 10
    batch_size: int = 128
    l2: float = 0.0
    augment: AugmentConfig | None = None
    seed: int = 0
    validation: int = 0
    limit: int = 0  # train on the first ``limit`` digits only (0: all), for quick runs and tests
    dtype: str = "float32"
    image_layers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "image_layers", tuple(self.image_layers))
        checks = [
            (all(h >= 1 for h in self.hidden), f"hidden sizes must be >= 1, got {self.hidden}"),
            (self.activation in HIDDEN_ACTIVATIONS,
             f"activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}, got {self.activation!r}"),
            (self.optimizer in OPTIMIZERS,
             f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.schedule in SCHEDULES,
             f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}"),
            (0 < self.lr < 1e6, f"lr must be positive, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.lr_step_epochs >= 1, f"lr_step_epochs must be >= 1, got {self.lr_step_epochs}"),
            (0 < self.lr_gamma <= 1, f"lr_gamma must be in (0, 1], got {self.lr_gamma}"),
            (0 <= self.min_lr <= self.lr, f"min_lr must be in [0, lr], got {self.min_lr}"),
            (1 <= self.epochs <= 10_000, f"epochs must be in 1..10000, got {self.epochs}"),
            (1 <= self.batch_size <= 60_000,
             f"batch_size must be in 1..60000, got {self.batch_size}"),
            (0 <= self.l2 < 1, f"l2 must be in [0, 1), got {self.l2}"),
            (0 <= self.seed < 2**63, f"seed must be a non-negative integer, got {self.seed}"),
            (0 <= self.validation < 60_000, f"validation must be in 0..59999, got {self.validation}"),
            (self.limit >= 0, f"limit must be >= 0, got {self.limit}"),
            (self.dtype in ("float32", "float64"), f"dtype must be float32 or float64, got {self.dtype!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.architecture()  # validates the activation/cost pairing and the image layers

    def architecture(self, n_in: int = 784, n_out: int = 10) -> Architecture:
        output = "softmax"
        return Architecture((n_in, *self.hidden, n_out), self.activation, output, self.cost,
                            self.image_layers)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        if self.image_layers:
            d["image_layers"] = list(self.image_layers)
        else:  # a dense run's config reads as it always did
            del d["image_layers"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> TrainConfig:
        values: dict[str, Any] = dict(d)  # checked field by field in __post_init__
        augment = values.get("augment")
        if isinstance(augment, dict):
            values["augment"] = AugmentConfig(**augment)
        for name in ("hidden", "image_layers"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


def layer_fields(layers: Sequence[str]) -> dict[str, Any]:
    """``image_layers`` and ``hidden`` of a config for a whole layer list (architecture.layer_list), e.g.
    ("conv5x5x16", "pool", "dense128", "dense10"): its last layer is the output, one unit a digit."""
    arch = Architecture.from_layers(layers)
    if arch.sizes[-1] != 10:
        raise ValueError(f"the last layer is the output, one unit for each digit: dense10, not "
                         f"dense{arch.sizes[-1]}")
    return {"image_layers": arch.image_layers, "hidden": arch.sizes[1:-1]}


# The conv preset's distortions: two thirds of the default rotation, scale and elastic field, half its
# shear, the same shift, no stroke-thickness change
MILD_AUGMENT = AugmentConfig(rotation=8.0, scale=0.08, shear=0.1, shift=2.0, elastic_alpha=0.8,
                             elastic_sigma=3.0, thickness=0.0)

# keyed by names.PRESETS; a run that names none starts from names.DEFAULT_PRESET, "seed": the small,
# fast network
PRESETS: dict[str, TrainConfig] = {
    # The shipped model: two wide hidden layers trained on distorted digits (see docs/training.md).
    "default": TrainConfig(
        hidden=(800, 800), optimizer="adam", lr=1e-3, schedule="cosine", epochs=40,
        augment=AugmentConfig(),
    ),
    # The seed document's network: 784-128-10, ReLU, softmax + cross-entropy, gradient descent.
    "seed": TrainConfig(
        hidden=(128,), optimizer="sgd", lr=0.8, schedule="cosine", epochs=10, batch_size=128
    ),
    # The convolutional network (names.LAYER_PRESETS["conv-large"]: conv 5x5 32, pool, conv 5x5 64,
    # pool, 256, 10) trained with Adam and the cosine schedule as "default" is, on milder distortions:
    # a step costs many times the dense network's per digit (docs/performance.md, docs/training.md)
    "conv": TrainConfig(
        **layer_fields(LAYER_PRESETS["conv-large"]), optimizer="adam", lr=1e-3, schedule="cosine",
        epochs=18, augment=MILD_AUGMENT,
    ),
}
