"""Version reports: made with each version and for the shipped model at start, and served by the API;
every figure checked against a direct evaluation of the model file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import reports
from app.feedback import FeedbackStore
from app.settings import Settings
from app.store import Store
from model.mnist import load_mnist
from model.serialize import load_model
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS
from tests.app.test_feedback import TINY_RUN, UNLIMITED, accepted_ones, app_client, wait_until_ended

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Home:
    """A state directory with held-out drawings, a finished tiny run and its app."""

    def __init__(self, client: TestClient, home: Path, version: str) -> None:
        self.client, self.home, self.version = client, home, version


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Iterator[Home]:
    home = tmp_path_factory.mktemp("reports")
    with app_client(home, feedback_rate=UNLIMITED, data_dir=str(mnist_dir)) as c:
        accepted_ones(c, held=3, trained=1)
        started = c.post("/train", json=TINY_RUN, headers=AUTH)
        assert started.status_code == 202, started.text
        run = wait_until_ended(c, started.json()["id"])
        assert run["status"] == "finished", run
        yield Home(c, home, run["version_id"])


def direct(model_file: Path, x: np.ndarray, y: np.ndarray) -> dict:
    """The figures counted one example at a time from the model file's answers."""
    probs = load_model(model_file).network.predict_proba(np.asarray(x, np.float32))
    confusion = np.zeros((10, 10), np.int64)
    misread = []
    for n, (label, p) in enumerate(zip(y, probs, strict=True)):
        read = int(p.argmax())
        confusion[label, read] += 1
        if read != label:
            misread.append((n, read, float(p[read])))
    return {"confusion": confusion.tolist(), "misread": misread}


def held_out_now(home: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    kept = FeedbackStore(Store(home), 0, 0).accepted()
    keep = kept["held_out"]
    ids = [i for i, k in zip(kept["ids"], keep, strict=True) if k]
    return ids, kept["digits"][keep] / 255.0, kept["labels"][keep]


def assert_agrees(figures: dict, expected: dict) -> None:
    assert figures["confusion"] == expected["confusion"]
    got = list(zip(figures["misread"], figures["read"], figures["sure"], strict=True))
    assert [(n, r) for n, r, _ in got] == [(n, r) for n, r, _ in expected["misread"]]
    assert np.allclose([s for *_, s in got], [s for *_, s in expected["misread"]], atol=1e-3)


def test_a_run_stores_its_report_with_its_version(made: Home, mnist_dir: Path) -> None:
    mnist = load_mnist(mnist_dir)
    version = Store(made.home).versions.get(made.version)
    model_file = Store(made.home).versions.file(made.version)
    stored = version["meta"]["report"]
    assert set(stored) == {"mnist_test", "held_out"}  # no pen digits configured
    assert_agrees(stored["mnist_test"], direct(model_file, mnist.test_images / 255.0, mnist.test_labels))
    _, x, y = held_out_now(made.home)
    assert_agrees(stored["held_out"], direct(model_file, x, y))
    confusion = np.array(stored["mnist_test"]["confusion"])
    assert np.trace(confusion) / 10_000 == pytest.approx(version["test_accuracy"])  # as training measured
    assert version["meta"]["scores"]["held_out"]["count"] == len(y) >= 3


def wait_for_default(home: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        value = reports._get(Store(home), reports.DEFAULT_KEY)
        if value:
            return json.loads(value)
        time.sleep(0.1)
    raise AssertionError("the shipped model's report was not stored")


def test_the_shipped_models_report_is_made_at_start_once(made: Home, mnist_dir: Path) -> None:
    stored = wait_for_default(made.home)
    mnist = load_mnist(mnist_dir)
    expected = direct(WEIGHTS, mnist.test_images / 255.0, mnist.test_labels)
    assert_agrees(stored["report"]["mnist_test"], expected)
    assert stored["report"]["held_out"]["key"]
    settings = Settings(weights=WEIGHTS, home=made.home, data_dir=str(mnist_dir))
    assert not reports.compute_default(Store(made.home), settings)  # there already: not again
