"""Version reports: made with each version and for the shipped model at start, and served by the API;
every figure checked against a direct evaluation of the model file."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.feedback.reader import FeedbackReader
from app.main import create_app
from app.reports import compute as reports
from app.settings import Settings
from app.state.store import Store
from model.data.mnist import load_mnist
from model.serialize import load_model
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS
from tests.app.feedback.test_store import TINY_RUN, UNLIMITED, accepted_ones, app_client, wait_until_ended
from tests.waiting import wait_until

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
    held = FeedbackReader(Store(home)).accepted().held_out_part()
    return held.ids, held.digits / 255.0, held.labels


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
    wait_until(lambda: reports._get(Store(home), reports.DEFAULT_KEY), 120, "the default report stored")
    return json.loads(reports._get(Store(home), reports.DEFAULT_KEY))


def test_the_shipped_models_report_is_made_at_start_once(made: Home, mnist_dir: Path) -> None:
    stored = wait_for_default(made.home)
    mnist = load_mnist(mnist_dir)
    expected = direct(WEIGHTS, mnist.test_images / 255.0, mnist.test_labels)
    assert_agrees(stored["report"]["mnist_test"], expected)
    assert stored["report"]["held_out"]["key"]
    settings = Settings(weights=WEIGHTS, home=made.home, data_dir=str(mnist_dir))
    assert not reports.compute_default(Store(made.home), settings)  # there already: not again


def direct_per_digit(expected: dict) -> list[float | None]:
    confusion = np.array(expected["confusion"])
    return [confusion[d, d] / confusion[d].sum() if confusion[d].sum() else None for d in range(10)]


def test_the_report_route_shows_the_figures_of_the_model_file(made: Home, mnist_dir: Path) -> None:
    mnist = load_mnist(mnist_dir)
    model_file = Store(made.home).versions.file(made.version)
    got = made.client.get(f"/versions/{made.version}/report?shown=5", headers=AUTH)
    assert got.status_code == 200, got.text
    sets = {s["name"]: s for s in got.json()["sets"]}
    expected = direct(model_file, mnist.test_images / 255.0, mnist.test_labels)
    test = sets["mnist_test"]
    assert test["confusion"] == expected["confusion"] and test["count"] == 10_000
    assert [d["accuracy"] for d in test["per_digit"]] == pytest.approx(direct_per_digit(expected), abs=1e-6)
    surest = sorted(expected["misread"], key=lambda m: -m[2])
    assert [m["item"] for m in test["misread"][:20]] == [n for n, *_ in surest[:20]]
    first = test["misread"][0]
    assert first["label"] == mnist.test_labels[first["item"]] and first["read"] == surest[0][1]
    assert base64.b64decode(first["digit28"]) == mnist.test_images[first["item"]].tobytes()
    assert all(m["digit28"] is None for m in test["misread"][5:])  # only the first `shown` have pixels
    ids, x, y = held_out_now(made.home)
    held = sets["held_out"]
    expected = direct(model_file, x, y)
    assert held["confusion"] == expected["confusion"] and held["count"] == len(ids)
    assert sorted(m["item"] for m in held["misread"]) == sorted(ids[n] for n, *_ in expected["misread"])


def test_compare_gives_per_digit_changes_and_what_each_reads_right(made: Home, mnist_dir: Path) -> None:
    wait_for_default(made.home)
    mnist = load_mnist(mnist_dir)
    got = made.client.get(f"/versions/compare?a=default&b={made.version}&shown=3", headers=AUTH)
    assert got.status_code == 200, got.text
    body = got.json()
    test = next(s for s in body["sets"] if s["name"] == "mnist_test")
    a = direct(WEIGHTS, mnist.test_images / 255.0, mnist.test_labels)
    b = direct(Store(made.home).versions.file(made.version), mnist.test_images / 255.0, mnist.test_labels)
    wrong_a, wrong_b = {n for n, *_ in a["misread"]}, {n for n, *_ in b["misread"]}
    assert [c["item"] for c in test["gained"]] == sorted(wrong_a - wrong_b)
    assert [c["item"] for c in test["lost"]] == sorted(wrong_b - wrong_a)
    lost = test["lost"][0]
    assert lost["read_a"] == lost["label"] == mnist.test_labels[lost["item"]] != lost["read_b"]
    change = np.array(direct_per_digit(b)) - np.array(direct_per_digit(a))
    assert [d["difference"] for d in test["per_digit"]] == pytest.approx(change.tolist(), abs=1e-6)
    worst = int(np.argmin(change))
    assert test["summary"] == (f"reads {len(wrong_a - wrong_b)} more of the 10000 MNIST test digits right, "
                               f"{len(wrong_b - wrong_a)} fewer; {worst}s: {change[worst] * 100:+.1f} points")
    held = next(s for s in body["sets"] if s["name"] == "held_out")
    assert body["summary"] == held["summary"]  # the held-out drawings come first
    assert f"of the {held['count']} held-out drawings right" in held["summary"]
    serving = made.client.get(f"/versions/compare?b={made.version}", headers=AUTH).json()
    assert serving["a"] == "default"  # the serving version, unless asked


def test_the_held_out_figures_follow_the_drawings(made: Home) -> None:
    """More drawings accepted after the version was made: its report is of the set as it is now."""
    before = made.client.get(f"/versions/{made.version}/report", headers=AUTH).json()
    accepted_ones(made.client, held=4, trained=0)  # one more held out at least
    ids, x, y = held_out_now(made.home)
    after = made.client.get(f"/versions/{made.version}/report", headers=AUTH).json()
    held = next(s for s in after["sets"] if s["name"] == "held_out")
    before_count = next(s for s in before["sets"] if s["name"] == "held_out")["count"]
    assert held["count"] == len(ids) > before_count
    assert held["confusion"] == direct(Store(made.home).versions.file(made.version), x, y)["confusion"]
    assert reports._get(Store(made.home), f"report:held-out:{made.version}")  # kept for the next ask


def test_default_is_listed_with_its_scores_and_bad_asks_are_4xx(made: Home) -> None:
    wait_for_default(made.home)
    listed = made.client.get("/versions", headers=AUTH).json()["versions"]
    default = next(v for v in listed if v["id"] == "default")
    assert 0.9 < default["test_accuracy"] <= 1 and default["scores"]["held_out"]["count"] >= 0
    for path, status in [("/versions/nope/report", 404), ("/versions/compare?b=nope", 404),
                         ("/versions/a..b/report", 422), ("/versions/compare", 422),
                         (f"/versions/{made.version}/report?shown=201", 422)]:
        answer = made.client.get(path, headers=AUTH)
        assert answer.status_code == status and isinstance(answer.json()["detail"], str), path
    schemas = made.client.get("/openapi.json").json()["components"]["schemas"]
    assert {"VersionReport", "VersionComparison", "SetReport", "SetComparison"} <= set(schemas)


def test_without_mnist_default_is_listed_with_the_accuracy_its_file_records(tmp_path: Path) -> None:
    """As a shipped extra model is (the admin compares like with like), not as an unknown."""
    settings = Settings(weights=WEIGHTS, home=tmp_path / "home", data_dir=str(tmp_path / "no-mnist"),
                        admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as client:
        stored = wait_for_default(settings.home)
        assert "mnist_test" not in stored["report"]  # nothing to measure it on here
        listed = client.get("/versions", headers=AUTH).json()["versions"]
    default = next(v for v in listed if v["id"] == "default")
    assert default["test_accuracy"] == load_model(WEIGHTS).meta["test_accuracy"] > 0.99


def test_the_promote_guard_says_what_would_change_as_compare_does(tmp_path: Path) -> None:
    from tests.app.reading.test_serving import add_version

    with app_client(tmp_path, feedback_rate=UNLIMITED) as c:
        accepted_ones(c, held=3, trained=0)
        add_version(Store(tmp_path), "random")  # an untrained network: it cannot read the 1s
        wait_for_default(tmp_path)
        line = c.get("/versions/compare?b=random", headers=AUTH).json()["summary"]
        assert re.fullmatch(r"reads 0 more of the \d+ held-out drawings right, [1-9]\d* fewer; "
                            r"1s: -\d+\.\d points", line), line
        refused = c.post("/versions/random/promote", headers=AUTH)
        assert refused.status_code == 409 and f"({line})" in refused.json()["detail"]


def test_a_version_made_before_reports_gets_one_on_the_first_ask(made: Home, mnist_dir: Path) -> None:
    from tests.app.reading.test_serving import add_version

    path = add_version(Store(made.home), "older")  # no report in its row, as before this existed
    got = made.client.get("/versions/older/report", headers=AUTH)
    assert got.status_code == 200, got.text
    mnist = load_mnist(mnist_dir)
    test = next(s for s in got.json()["sets"] if s["name"] == "mnist_test")
    assert test["confusion"] == direct(path, mnist.test_images / 255.0, mnist.test_labels)["confusion"]
    assert reports._get(Store(made.home), "report:older")  # made once, kept
    assert made.client.delete("/versions/older", headers=AUTH).status_code == 204
    assert reports._get(Store(made.home), "report:older") is None  # and forgotten with the version


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_shipped_models_report_is_made_once_for_every_host(
        request: pytest.FixtureRequest, tmp_path: Path, mnist_dir: Path, kind: str) -> None:
    """Two workers on one SQLite file, or two hosts on one PostgreSQL database: one computes it, the
    other finds it (or the claim) and does not; a failure gives the claim back."""
    url = request.getfixturevalue("pg_url") if kind == "postgresql" else None
    homes = [tmp_path, tmp_path] if url is None else [tmp_path / "a", tmp_path / "b"]
    first, second = (Store(home, url) for home in homes)
    settings = Settings(weights=WEIGHTS, home=homes[0], data_dir=str(mnist_dir))
    other = tmp_path / "not-a-model.npz"
    other.write_bytes(b"not a model")
    broken = Settings(weights=other, home=homes[0], data_dir=str(mnist_dir))
    reports.start_default(first, broken).join(timeout=60)  # claims, fails to read the weights
    assert reports._get(second, f"{reports.DEFAULT_KEY}:claim") is None  # given back
    assert reports.compute_default(first, settings)
    assert not reports.compute_default(second, settings)
    made = reports.stored(second, "default", WEIGHTS)
    assert made is not None and made == reports.stored(first, "default", WEIGHTS)
    assert reports.stored(second, "default", other) is None  # of other weights: not theirs
