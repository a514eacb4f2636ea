import pytest

from model.architecture import Architecture
from model.config import PRESETS, TrainConfig
from model.functions import HIDDEN_ACTIVATIONS
from model.optim import OPTIMIZERS, SCHEDULES


def _message(**kwargs) -> str:
    with pytest.raises(ValueError) as info:
        TrainConfig(**kwargs)
    return str(info.value)


def test_refusals_list_the_names_from_the_registries() -> None:
    assert _message(activation="softmax") == (
        "activation must be one of sigmoid, relu, leaky_relu, tanh, got 'softmax'"
    )
    assert all(name in _message(activation="swish") for name in HIDDEN_ACTIVATIONS)
    assert all(name in _message(optimizer="rmsprop") for name in OPTIMIZERS)
    assert all(name in _message(schedule="warm") for name in SCHEDULES)
    assert "['cross_entropy', 'mse']" in _message(cost="hinge")


def test_every_registered_name_is_accepted() -> None:
    for activation in HIDDEN_ACTIVATIONS:
        assert TrainConfig(activation=activation).architecture().hidden_activation == activation
    for optimizer in OPTIMIZERS:
        assert TrainConfig(optimizer=optimizer).optimizer == optimizer
    for schedule in SCHEDULES:
        assert TrainConfig(schedule=schedule).schedule == schedule


def test_architecture_of_a_config_ends_in_softmax() -> None:
    arch = TrainConfig(hidden=(32, 16), cost="mse").architecture()
    assert arch == Architecture((784, 32, 16, 10), "relu", "softmax", "mse")


def test_presets_are_valid_configs() -> None:
    assert {"default", "seed"} <= set(PRESETS)
    for cfg in PRESETS.values():
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg
