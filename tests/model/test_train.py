from functools import partial

import numpy as np
import pytest

import model.train
from model.batches import as_float
from model.config import PRESETS, TrainConfig
from model.data.mnist import load_mnist
from model.images.augment import PIECE, AugmentConfig, augment_pieces
from model.train import BatchEnd, Cancelled, Dataset, Diverged, EpochEnd, Finished, evaluate, train
from tests.model.images.augment_reference import augment_whole


@pytest.fixture(scope="module")
def mnist(mnist_dir) -> Dataset:
    d = load_mnist(mnist_dir)
    return Dataset(d.train_images, d.train_labels, d.test_images, d.test_labels)


def _small(mnist: Dataset, n: int = 2000) -> Dataset:
    return Dataset(mnist.train_x[:n], mnist.train_y[:n], mnist.test_x[:1000], mnist.test_y[:1000])


def test_loss_falls_on_a_small_real_subset(mnist: Dataset) -> None:
    events = list(train(TrainConfig(hidden=(32,), epochs=5, lr=0.3), _small(mnist)))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5]
    assert epochs[-1].train_loss < epochs[0].train_loss < 2.3  # below chance level ln 10
    assert epochs[-1].test_accuracy > 0.8
    assert isinstance(events[-1], Finished)
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert len(batches) == 5 * 16 and batches[0].n_batches == 16  # 2000 / 128 rounded up


def test_same_seed_same_theta(mnist: Dataset) -> None:
    def final_theta(seed: int) -> bytes:
        cfg = TrainConfig(hidden=(16,), epochs=1, seed=seed, limit=500)
        last = list(train(cfg, _small(mnist)))[-1]
        assert isinstance(last, Finished)
        return last.network.theta.tobytes()

    assert final_theta(3) == final_theta(3)
    assert final_theta(3) != final_theta(4)


def test_huge_learning_rate_diverges_with_a_reason(mnist: Dataset) -> None:
    cfg = TrainConfig(hidden=(32,), epochs=5, lr=1e5, activation="relu")
    events = list(train(cfg, _small(mnist)))
    last = events[-1]
    assert isinstance(last, Diverged), last
    assert "loss became" in last.reason or "non-finite" in last.reason
    assert not any(isinstance(e, Finished) for e in events)


def test_cancel_between_batches(mnist: Dataset) -> None:
    seen = []
    events = train(TrainConfig(hidden=(16,), epochs=2), _small(mnist), should_stop=lambda: len(seen) >= 5)
    for event in events:
        seen.append(event)
    assert isinstance(seen[-1], Cancelled)
    assert sum(isinstance(e, BatchEnd) for e in seen) == 5


class StopAt:
    """A ``should_stop`` that counts its polls and answers True from poll ``k`` on (never if None)."""

    def __init__(self, k: int | None = None) -> None:
        self.k, self.polls = k, 0

    def __call__(self) -> bool:
        self.polls += 1
        return self.k is not None and self.polls >= self.k


def test_cancel_during_augmentation_ends_the_epoch_before_its_first_batch(mnist, monkeypatch) -> None:
    monkeypatch.setattr(model.train, "augment_pieces", partial(augment_pieces, piece=100))  # 20 pieces
    cfg = TrainConfig(hidden=(16,), epochs=2, augment=AugmentConfig())
    for k, epoch in [(3, 1), (20 + 16 + 3, 2)]:  # epoch 1 polls 20 times in pieces, 16 in batches
        stop = StopAt(k)
        events = list(train(cfg, _small(mnist), should_stop=stop))
        assert events[-1] == Cancelled(epoch, 0) and stop.polls == k
        assert {e.epoch for e in events if isinstance(e, BatchEnd | EpochEnd)} == set(range(1, epoch))


def test_should_stop_is_polled_at_least_once_per_piece_of_augmentation(mnist, monkeypatch) -> None:
    stop = StopAt()
    polls_while_distorting: list[int] = []

    def counted(*args, **kwargs):
        before = stop.polls
        yield from augment_pieces(*args, **kwargs)
        polls_while_distorting.append(stop.polls - before)

    monkeypatch.setattr(model.train, "augment_pieces", counted)
    n = 2 * PIECE + 100
    cfg = TrainConfig(hidden=(8,), epochs=2, limit=n, augment=AugmentConfig())
    events = list(train(cfg, _small(mnist, n), should_stop=stop))
    assert isinstance(events[-1], Finished)
    assert len(polls_while_distorting) == 2 and min(polls_while_distorting) >= 3  # ceil(n / PIECE)


def test_augmented_run_gives_the_theta_of_whole_set_distortions(mnist, monkeypatch) -> None:
    cfg = TrainConfig(hidden=(16,), epochs=2, limit=600, validation=100, augment=AugmentConfig(), seed=2)

    def whole_set(images, rng, aug, out):  # how the trainer distorted before it worked in pieces
        yield 0
        out[:] = augment_whole(as_float(images, np.dtype(cfg.dtype)), rng, aug)

    def final_theta() -> bytes:
        last = list(train(cfg, _small(mnist)))[-1]
        assert isinstance(last, Finished)
        return last.network.theta.tobytes()

    monkeypatch.setattr(model.train, "augment_pieces", whole_set)
    whole = final_theta()
    monkeypatch.setattr(model.train, "augment_pieces", partial(augment_pieces, piece=128))
    assert final_theta() == whole


def test_float64_network_trains_on_distorted_digits(mnist) -> None:
    cfg = TrainConfig(hidden=(16,), epochs=1, limit=300, dtype="float64", augment=AugmentConfig())
    last = list(train(cfg, _small(mnist)))[-1]
    assert isinstance(last, Finished) and last.network.theta.dtype == np.float64


def test_validation_split_is_reported(mnist: Dataset) -> None:
    events = list(train(TrainConfig(hidden=(16,), epochs=4, lr=0.3, validation=500), _small(mnist)))
    epoch = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert epoch.validation_accuracy is not None and 0.5 < epoch.validation_accuracy <= 1.0


def test_train_accuracy_counts_each_digit_as_read_before_its_batchs_step(mnist, monkeypatch) -> None:
    right: list[int] = []  # per training batch: its digits the network read right, before the step
    loss_and_gradient = model.train.Network.loss_and_gradient

    def counting(self, x, y, l2=0.0):
        loss, probs = loss_and_gradient(self, x, y, l2)
        right.append(int((probs.argmax(axis=1) == y).sum()))
        return loss, probs

    monkeypatch.setattr(model.train.Network, "loss_and_gradient", counting)
    cfg = TrainConfig(hidden=(16,), epochs=2, lr=0.3, batch_size=100, limit=1050, validation=50)
    epochs = [e for e in train(cfg, _small(mnist)) if isinstance(e, EpochEnd)]
    assert len(right) == 20  # 1000 digits an epoch, 10 batches
    assert [e.train_accuracy for e in epochs] == [sum(right[:10]) / 1000, sum(right[10:]) / 1000]
    assert 0.3 < epochs[0].train_accuracy < epochs[1].train_accuracy


def test_the_training_digits_stay_bytes_until_a_batch_reads_them(mnist: Dataset) -> None:
    (x, _), _ = model.train._training_data(TrainConfig(), _small(mnist), np.random.default_rng(0))
    assert x.dtype == np.uint8
    np.testing.assert_array_equal(x, mnist.train_x[:2000])


@pytest.mark.slow
def test_seed_preset_reaches_97_8_percent_in_10_epochs(mnist: Dataset) -> None:
    cfg = PRESETS["seed"]
    assert cfg.hidden == (128,) and cfg.epochs == 10 and cfg.optimizer == "sgd"
    last = list(train(cfg, mnist))[-1]
    assert isinstance(last, Finished)
    assert last.test_accuracy >= 0.978


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-1.0), "lr"),
        (dict(epochs=0), "epochs"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(activation="softmax"), "activation"),
        (dict(batch_size=0), "batch_size"),
        (dict(hidden=(0,)), "hidden"),
        (dict(cost="mse", schedule="warm"), "schedule"),
    ],
)
def test_bad_config_is_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_config_round_trips_through_a_dict() -> None:
    from model.images.augment import AugmentConfig

    cfg = TrainConfig(hidden=(64, 32), augment=AugmentConfig(rotation=5.0), seed=9)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert np.isfinite(cfg.lr)


def test_non_finite_weights_stop_the_run_at_the_next_batch(mnist: Dataset) -> None:
    from model.network import Network

    cfg = TrainConfig(hidden=(16,), epochs=1)
    net = Network(cfg.architecture())
    net.initialize(np.random.default_rng(0))
    net.theta[5] = np.nan  # one weight of one input pixel, which is 0 in most digits
    events = list(train(cfg, _small(mnist), net=net))
    assert isinstance(events[-1], Diverged) and events[-1].batch == 1
    assert "nan" in events[-1].reason


@pytest.mark.parametrize("output, cost", [("softmax", "cross_entropy"), ("sigmoid", "mse")])
def test_evaluate_reports_the_networks_own_cost(mnist: Dataset, output: str, cost: str) -> None:
    from model.architecture import Architecture
    from model.network import Network

    net = Network(Architecture((784, 16, 10), "relu", output, cost))
    net.initialize(np.random.default_rng(0))
    x, y = mnist.test_x[:300], mnist.test_y[:300].astype(np.int64)
    loss, accuracy, predicted = evaluate(net, x, y, batch=128)  # three batches, the last short
    xf = x / np.float32(255.0)
    assert loss == pytest.approx(net.loss(xf, y), rel=1e-5)
    np.testing.assert_array_equal(predicted, net.predict_proba(xf).argmax(axis=1))
    assert accuracy == pytest.approx(float((predicted == y).mean()))


def test_divergence_check_compares_with_the_first_loss_floored_at_chance() -> None:
    import math

    from model.train import DIVERGENCE_FACTOR, DivergenceCheck

    check = DivergenceCheck(10)
    assert check.loss(0.01, 1, 1) is None  # a good network's first loss: the floor ln 10 counts
    assert check.first_loss == pytest.approx(math.log(10))
    assert check.loss(DIVERGENCE_FACTOR * math.log(10), 1, 2) is None
    reason = check.loss(DIVERGENCE_FACTOR * math.log(10) * 1.01, 2, 7)
    assert reason is not None and "epoch 2, batch 7" in reason and "smaller learning rate" in reason
    assert "nan" in (check.loss(float("nan"), 1, 3) or "")
    high = DivergenceCheck(10)
    assert high.loss(50.0, 1, 1) is None and high.first_loss == 50.0
    assert high.loss(4000.0, 1, 2) is None and high.loss(5001.0, 1, 3) is not None


def test_divergence_check_of_the_weights() -> None:
    from model.train import DivergenceCheck

    check = DivergenceCheck(10)
    assert check.weights(np.ones(4, dtype=np.float32), 3) is None
    assert check.weights(np.array([1.0, np.inf]), 3) == "the weights became non-finite in epoch 3"
    with np.errstate(over="ignore"):
        assert check.weights(np.array([1e30, 1.0], dtype=np.float32), 1) is not None  # 1e60 overflows
