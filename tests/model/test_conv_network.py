"""Convolutional networks: named layers, theta, whole-network gradients, saving, and training."""

import json

import numpy as np
import pytest

from model.architecture import LAYER_PRESETS, Architecture, layer_list
from model.config import TrainConfig
from model.conv import Conv2D
from model.data.mnist import load_mnist
from model.functions import log_softmax
from model.network import Network
from model.pool import MaxPool
from model.serialize import ModelFileError, load_model, save_model
from model.train import Dataset, EpochEnd, Finished, evaluate, train
from tests.model.gradcheck import numerical_gradient, relative_error

# a 6x6 image: conv 3x3 (same) -> 6x6x2, pool -> 3x3x2, conv 3x3 valid -> 1x1x3, then 4 and 3 units
TINY = ["conv3x3x2", "pool", "conv3x3x3-valid", "dense4", "dense3"]


def _net(activation: str = "tanh", seed: int = 0, layers=TINY, image=(6, 6, 1)) -> Network:
    net = Network(Architecture.from_layers(layers, image, hidden_activation=activation), np.float64)
    net.initialize(np.random.default_rng(seed))
    net.theta += np.random.default_rng(seed + 1).normal(0, 0.1, net.theta.shape)  # nonzero biases
    return net


def test_conv_small_preset_has_the_parameters_of_its_layers() -> None:
    arch = Architecture.from_layers(LAYER_PRESETS["conv-small"])
    assert arch.sizes == (784, 128, 10) and arch.dense_sizes() == (1568, 128, 10)  # 7 x 7 x 32 = 1568
    conv1, conv2 = 5 * 5 * 1 * 16 + 16, 5 * 5 * 16 * 32 + 32
    assert arch.n_params == conv1 + conv2 + 1568 * 128 + 128 + 128 * 10 + 10 == 215_370
    assert arch.layers() == list(LAYER_PRESETS["conv-small"])
    assert layer_list("conv-small") == LAYER_PRESETS["conv-small"]
    assert layer_list(" conv3x3x8-valid, pool,dense10 ") == ("conv3x3x8-valid", "pool", "dense10")


def test_theta_is_laid_out_layer_by_layer_and_every_kernel_is_a_view() -> None:
    net = _net()
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Reshape", "Conv2D", "MaxPool", "Conv2D", "Reshape", "Dense", "Dense"]
    conv1, conv2 = (layer for layer in net.layers if isinstance(layer, Conv2D))
    assert conv1.W.shape == (3, 3, 1, 2) and conv2.W.shape == (3, 3, 2, 3)
    net.theta[:] = np.arange(net.theta.size)
    np.testing.assert_array_equal(conv1.W.reshape(-1), np.arange(18))
    np.testing.assert_array_equal(conv1.b, [18, 19])
    assert conv2.W.reshape(-1)[0] == 20 and net.layers[-1].b[-1] == net.theta.size - 1
    assert net.theta.size == net.arch.n_params == 20 + 57 + 16 + 15
    assert all(np.shares_memory(layer.dW, net.grad) for layer in net.weighted)


@pytest.mark.parametrize("activation, l2", [("tanh", 0.0), ("sigmoid", 0.1), ("relu", 0.0)])
def test_conv_network_gradient_through_theta(activation: str, l2: float) -> None:
    net = _net(activation)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(5, 36)), rng.integers(0, 3, 5)
    net.loss_and_gradient(x, y, l2)
    analytic = net.grad.copy()

    def loss_at(theta: np.ndarray) -> float:
        net.theta[:] = theta
        return net.loss(x, y, l2)

    assert relative_error(analytic, numerical_gradient(loss_at, net.theta.copy())) < 1e-6


@pytest.mark.parametrize("layers, image", [
    (TINY, (6, 6, 1)),
    (["conv3x3x2-valid", "conv2x2x2-valid", "pool", "dense3"], (5, 5, 2)),  # two channels in
])
def test_conv_network_input_gradient(layers, image) -> None:
    net = _net("tanh", 3, layers, image)
    rng = np.random.default_rng(11)
    x, k = rng.normal(size=(3, int(np.prod(image)))), rng.integers(0, 3, 3)

    def log_p(x_: np.ndarray) -> float:
        z = net.predict_proba(x_)
        return float(np.log(z[np.arange(3), k]).sum())

    result = net.input_gradient(x, k)
    assert result.dx.shape == x.shape
    assert relative_error(result.dx, numerical_gradient(log_p, x.copy())) < 1e-6
    np.testing.assert_allclose(log_softmax(result.z), np.log(result.a[-1]))
    # the first feature maps (after the input read as an image) and their gradient
    assert result.a[1].shape == result.da[1].shape == (3, *net.layers[1].step(result.a[0])[1].shape[1:])


def test_predict_and_explain_keep_nothing_and_stay_float32() -> None:
    net = Network(Architecture.from_layers(LAYER_PRESETS["conv-small"]))
    net.initialize(np.random.default_rng(0))
    x = np.random.default_rng(1).random((3, 784), dtype=np.float32)
    probs = net.predict_proba(x)
    assert probs.dtype == np.float32 and net.input_gradient(x).dx.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(net.forward(x), probs)
    fresh = Network(net.arch, theta=net.theta)
    fresh.predict_proba(x)
    fresh.input_gradient(x)
    caches = ("cols", "where", "x")
    assert all(getattr(layer, name, None) is None for layer in fresh.layers for name in caches)


@pytest.mark.parametrize("layers, message", [
    (["conv5x5x16", "pool", "dense10", "pool"], "where a dense layer is due"),
    (["conv5x5x16", "pool"], "ends with dense"),
    (["conv5x3x16", "dense10"], "square"),
    (["conv4x4x16", "dense10"], "odd kernel size"),
    (["conv3x3x0", "dense10"], ">= 1"),
    (["convolution", "dense10"], "unknown image layer 'convolution'"),
    (["pool", "pool", "pool", "dense10"], r"pool \(layer 3\) halves an even height and width, it gets 7x7"),
    (["conv29x29x4-valid", "dense10"], "needs an image of at least 29x29, it gets 28x28"),
    (["conv5x5x8", "dense0"], "positive"),
])
def test_bad_layer_lists_are_refused_with_a_clear_message(layers, message) -> None:
    with pytest.raises(ValueError, match=message):
        Architecture.from_layers(layers)


def test_image_must_hold_the_inputs() -> None:
    with pytest.raises(ValueError, match=r"holds 784 numbers, not the 100 inputs"):
        Architecture((100, 10), image_layers=("pool",))
    with pytest.raises(ValueError, match="list the layers"):
        layer_list(" , ")


def test_a_dense_architecture_and_config_read_as_before() -> None:
    arch = Architecture((784, 128, 10))
    assert arch.to_dict() == {"sizes": [784, 128, 10], "hidden_activation": "relu",
                              "output_activation": "softmax", "cost": "cross_entropy"}
    assert arch.layers() == ["dense128", "dense10"] and arch.dense_sizes() == arch.sizes
    assert "image_layers" not in TrainConfig().to_dict()
    cfg = TrainConfig(image_layers=["conv3x3x4", "pool"], hidden=(16,))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.architecture().layers() == ["conv3x3x4", "pool", "dense16", "dense10"]
    with pytest.raises(ValueError, match="unknown image layer"):
        TrainConfig(image_layers=("conv3",))


def test_a_conv_model_file_round_trips_and_a_wrong_theta_is_named(tmp_path) -> None:
    net = _net()
    saved = load_model(save_model(tmp_path / "conv.npz", net, {"seed": 1}))
    assert saved.network.arch == net.arch and saved.meta["architecture"]["image"] == [6, 6, 1]
    x = np.random.default_rng(0).normal(size=(4, 36))
    np.testing.assert_array_equal(saved.network.predict_proba(x), net.predict_proba(x))
    path = tmp_path / "cut.npz"
    np.savez(path, theta=net.theta[:100], meta=np.array(json.dumps(saved.meta)))
    layers = "conv3x3x2, pool, conv3x3x3-valid, dense4, dense3"
    with pytest.raises(ModelFileError, match=layers + r" needs \(108,\)"):
        load_model(path)


def test_a_tiny_conv_network_learns_real_digits(mnist_dir) -> None:
    digits = load_mnist(mnist_dir)
    data = Dataset(digits.train_images[:400], digits.train_labels[:400],
                   digits.test_images[:300], digits.test_labels[:300])
    cfg = TrainConfig(image_layers=("conv5x5x4", "pool", "pool"), hidden=(32,), optimizer="adam",
                      lr=3e-3, epochs=4, batch_size=40, seed=0)
    events = list(train(cfg, data))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert isinstance(events[-1], Finished)
    assert any(isinstance(layer, MaxPool) for layer in events[-1].network.layers)
    # seeds 0-3 measured: the loss from 2.18-2.30 to 0.88-0.99, test accuracy 0.66-0.72 after 4 epochs
    assert epochs[-1].train_loss < 0.6 * epochs[0].train_loss and epochs[0].train_loss < 2.4
    assert epochs[-1].test_accuracy > 0.5  # chance is 0.1


def test_long_batches_go_through_a_convolution_in_parts() -> None:
    """conv-small copies 14 * 14 * 5 * 5 * 16 = 78,400 numbers an example into its second layer's
    patches, so 2^24 of them (64 MB) hold 213 examples (an evaluation's batch) and 2^20 (4 MB) 13
    (a prediction's run); a dense network takes any batch at once."""
    net = Network(Architecture.from_layers(LAYER_PRESETS["conv-small"]))
    assert net.arch.patch_numbers() == 78_400 and net.rows_per_pass() == 213 and net.rows_per_step() == 13
    dense = Network(Architecture((784, 10)))
    assert dense.rows_per_pass() > 10**9 and dense.rows_per_step() > 10**9
    net.initialize(np.random.default_rng(0))
    x = np.random.default_rng(1).random((500, 784), dtype=np.float32)
    z, probs = net.outputs(x)  # 38 runs of 13 rows and one of 6
    assert probs.shape == z.shape == (500, 10)
    np.testing.assert_allclose(probs[200:300], net.predict_proba(x[200:300]), rtol=1e-5, atol=1e-7)
    one_by_one = [net.outputs(x[i : i + 1]) for i in (0, 12, 13, 499)]
    np.testing.assert_allclose(z[[0, 12, 13, 499]], np.concatenate([z1 for z1, _ in one_by_one]), rtol=1e-5,
                               atol=1e-6)
    y = np.arange(500) % 10
    loss, accuracy, predicted = evaluate(net, x, y)
    np.testing.assert_array_equal(predicted, probs.argmax(axis=1))
    by_hundreds = np.mean([net.loss(x[i : i + 100], y[i : i + 100]) for i in range(0, 500, 100)])
    assert accuracy == np.mean(predicted == y) and loss == pytest.approx(by_hundreds, rel=1e-5)
    assert net.layers[3].scratch.arrays["cols"].shape[0] <= 213 * 14 * 14  # never all 500 at once


def test_multiply_adds_by_hand_and_the_presets_layer_fields() -> None:
    """conv 2x2 valid on a 4x4 image: a 3x3 output, each a 4-term dot product (36); then 9 -> 10 (90)."""
    from model.config import PRESETS, layer_fields

    assert Architecture.from_layers(["conv2x2x1-valid", "dense10"], image=(4, 4, 1)).multiply_adds() == 126
    assert PRESETS["seed"].architecture().multiply_adds() == 784 * 128 + 128 * 10
    assert PRESETS["conv"].architecture().layers() == list(LAYER_PRESETS["conv-large"])
    with pytest.raises(ValueError, match="dense10, not dense5"):
        layer_fields(["conv3x3x4", "dense5"])
