"""Feedback: a person's drawing and the digit it really is, kept, bounded, and reviewed by the admin."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from app.feedback.accepted import HELD_OUT_PERCENT, held_out
from app.feedback.store import FeedbackStore, Submission
from app.main import create_app
from app.settings import Settings
from app.state.store import Store
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS
from tests.waiting import wait_until

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def drawing(n: int = 10, size: int = 140) -> str:
    """A vertical stroke (a 1), the one ``body``'s strokes draw, as the page exports it: a PNG data
    URL; each ``n`` a different file (a text chunk says which), the same picture."""
    image = Image.new("L", (size, size), 255)
    ImageDraw.Draw(image).line([(size // 2, size // 7), (size // 2, size * 6 // 7)], fill=0, width=size // 15)
    info = PngInfo()
    info.add_text("n", str(n) * (1 + n // 10))  # a longer text for a larger n: a larger file
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def body(n: int = 10, **changes: object) -> dict[str, object]:
    return {"image": drawing(n), "label": 1, "predicted": 7, "model_version": "default",
            "strokes": [[[140, 40], [140, 240]]], **changes}


UNLIMITED = 10_000  # drawings a minute from one client: the most the setting takes


def app_client(tmp_path: Path, address: str = "testclient", **settings: object) -> TestClient:
    """The app in process, as seen from a client at ``address``."""
    return TestClient(create_app(Settings(weights=WEIGHTS, home=tmp_path, admin_token=ADMIN_TOKEN,
                                          **settings)), client=(address, 50000))  # type: ignore[arg-type]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with app_client(tmp_path) as c:
        yield c


def test_a_drawing_is_kept_once_and_listed_for_the_admin(client: TestClient) -> None:
    first = client.post("/feedback", json=body())
    assert first.status_code == 201 and first.json()["status"] == "pending" and not first.json()["duplicate"]
    again = client.post("/feedback", json=body())
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    relabelled = client.post("/feedback", json={**body(), "label": 4})  # the same drawing: its label stands
    assert relabelled.status_code == 200
    assert relabelled.json() == {**first.json(), "duplicate": True, "label": 1}
    listed = client.get("/feedback", headers=AUTH).json()
    assert [i["id"] for i in listed["items"]] == [first.json()["id"]]
    item = listed["items"][0]  # what the server read, not the client's "predicted": 7
    assert (item["label"], item["predicted"], item["model_version"]) == (1, 1, "default")
    assert item["image"].startswith("data:image/png;base64,")
    assert listed["counts"] == {"pending": 1, "accepted": 0, "rejected": 0}
    assert listed["right"] == {"default": {"count": 1, "right": 1.0}}


@pytest.mark.parametrize("changes, words", [
    ({"label": 10}, "label"), ({"label": -1}, "label"), ({"predicted": 11}, "predicted"),
    ({"image": "data:image/png;base64,iVBORw0KGgpnYXJiYWdlISE="}, "decode"),
    ({"image": "not base64!"}, "base64"),
    ({"strokes": [[[1, 2]]] * 65}, "strokes"), ({"strokes": [[[1, 2]] * 10_001]}, "points"),
    ({"strokes": [[[140, 40 + k / 10] for k in range(2_001)]]}, "2000 points"),
    ({"strokes": [[[1, 2, 3]]]}, "strokes"), ({"strokes": [[[1e9, 2]]]}, "strokes"),
    ({"strokes": [[]]}, "strokes"), ({"extra": 1}, "extra"),
])
def test_bad_submissions_are_a_422_saying_why(client: TestClient, changes: dict, words: str) -> None:
    response = client.post("/feedback", json=body(**changes))
    assert response.status_code == 422 and words in response.text, response.text
    assert client.get("/feedback", headers=AUTH).json()["items"] == []


SEVEN = [[[70, 50], [210, 50], [120, 240]]]  # a 7's strokes, in the canvas' 0..280


def test_strokes_that_do_not_draw_the_picture_are_refused(client: TestClient) -> None:
    """A 1's picture (what the admin reviews) with a 7's strokes (what a run would train on)."""
    refused = client.post("/feedback", json=body(strokes=SEVEN))
    assert refused.status_code == 422, refused.text
    assert "strokes do not draw the picture" in refused.json()["detail"]
    assert client.get("/feedback", headers=AUTH).json()["items"] == []
    assert client.post("/feedback", json=body(strokes=None)).status_code == 201  # no strokes: the image


def test_the_review_shows_what_a_run_learns_from(client: TestClient) -> None:
    client.post("/feedback", json=body(6))
    client.post("/feedback", json=body(8, strokes=None))
    items = client.get("/feedback", headers=AUTH).json()["items"]
    with_strokes, without = sorted(items, key=lambda i: i["strokes_image"] is None)
    assert with_strokes["strokes_image"].startswith("data:image/png;base64,")
    assert without["strokes_image"] is None


def test_a_blank_drawing_is_refused(client: TestClient) -> None:
    blank = Image.new("L", (140, 140), 255)
    buf = io.BytesIO()
    blank.save(buf, format="PNG")
    image = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    response = client.post("/feedback", json=body(image=image))
    assert response.status_code == 422 and "blank" in response.text


def test_a_picture_larger_than_a_canvas_is_a_413(client: TestClient) -> None:
    """A picture of more than 560x560 pixels (twice the page's canvas) is refused from its header."""
    large = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(large).line([(300, 90), (300, 510)], fill=0, width=40)
    buf = io.BytesIO()
    large.save(buf, format="PNG")
    response = client.post("/feedback", json=body(image="data:image/png;base64,"
                                                   + base64.b64encode(buf.getvalue()).decode()))
    assert response.status_code == 413 and "pixels" in response.json()["detail"]


def test_a_padded_picture_is_a_413(client: TestClient) -> None:
    """A drawing's PNG padded with text chunks past 64 KiB is refused: it would fill the store."""
    image = Image.open(io.BytesIO(base64.b64decode(drawing(1).split(",", 1)[1])))
    info = PngInfo()
    info.add_text("pad", "x" * 40_000)
    info.add_text("more", "x" * 40_000)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    response = client.post("/feedback", json=body(image="data:image/png;base64,"
                                                   + base64.b64encode(buf.getvalue()).decode()))
    assert response.status_code == 413 and "bytes" in response.json()["detail"]


def test_over_the_body_limit_is_a_413(client: TestClient) -> None:
    response = client.post("/feedback", content=b'{"image": "' + b"A" * (2 << 20) + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_more_than_the_rate_from_one_client_is_a_429(tmp_path: Path) -> None:
    with app_client(tmp_path, feedback_rate=3) as c:
        assert [c.post("/feedback", json=body(w)).status_code for w in (6, 8, 10)] == [201] * 3
        refused = c.post("/feedback", json=body(12))
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
        assert len(c.get("/feedback", headers=AUTH).json()["items"]) == 3


def png_size(width: int) -> int:
    return len(base64.b64decode(drawing(width).split(",", 1)[1]))


@pytest.mark.parametrize("cap", [{"feedback_max_count": 2},
                                 {"feedback_max_bytes": png_size(6) + png_size(8) + png_size(10) - 1}])
def test_past_the_cap_is_a_507_and_nothing_is_lost(tmp_path: Path, cap: dict) -> None:
    with app_client(tmp_path, **cap) as c:
        kept = [c.post("/feedback", json=body(w)) for w in (6, 8)]
        full = c.post("/feedback", json=body(10))
        assert full.status_code == 507 and "at most" in full.json()["detail"]
        listed = {i["id"] for i in c.get("/feedback", headers=AUTH).json()["items"]}
        assert listed == {r.json()["id"] for r in kept if r.status_code == 201} and listed


def test_feedback_off_hides_the_routes_and_the_controls(tmp_path: Path) -> None:
    with app_client(tmp_path, feedback=False) as c:
        assert c.post("/feedback", json=body()).status_code == 404
        assert c.get("/feedback", headers=AUTH).status_code == 404
        assert c.get("/feedback/export", headers=AUTH).status_code == 404
        assert 'id="feedback"' not in c.get("/").text
    with app_client(tmp_path) as c:
        assert 'id="feedback"' in c.get("/").text


def test_the_admin_accepts_relabels_rejects_exports_and_erases(client: TestClient) -> None:
    ids = [client.post("/feedback", json=body(w)).json()["id"] for w in (6, 8, 10)]
    accepted = client.patch(f"/feedback/{ids[0]}", json={"status": "accepted", "label": 4}, headers=AUTH)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["label"] == 4
    assert client.patch(f"/feedback/{ids[1]}", json={"status": "rejected"}, headers=AUTH).status_code == 200
    assert client.patch("/feedback/nope", json={"status": "rejected"}, headers=AUTH).status_code == 404
    assert client.patch(f"/feedback/{ids[2]}", json={}, headers=AUTH).status_code == 422
    assert client.patch(f"/feedback/{ids[2]}", json={"status": "maybe"}, headers=AUTH).status_code == 422
    pending = client.get("/feedback?status=pending", headers=AUTH).json()
    assert [i["id"] for i in pending["items"]] == [ids[2]]
    assert pending["counts"] == {"pending": 1, "accepted": 1, "rejected": 1}
    export = client.get("/feedback/export", headers=AUTH)
    data = np.load(io.BytesIO(export.content), allow_pickle=False)
    assert data["digits"].shape == (1, 28, 28) and data["digits"].dtype == np.uint8
    assert data["labels"].tolist() == [4] and data["ids"].tolist() == [ids[0]]
    assert data["digits"].max() == 255  # the network's input, as MNIST stores a digit
    assert client.delete(f"/feedback/{ids[0]}", headers=AUTH).status_code == 204
    assert client.delete(f"/feedback/{ids[0]}", headers=AUTH).status_code == 404
    assert ids[0] not in [i["id"] for i in client.get("/feedback", headers=AUTH).json()["items"]]


def test_the_held_out_share_is_fixed_by_the_id() -> None:
    ids = [f"{i:016x}" for i in range(2000)]
    share = sum(map(held_out, ids)) / len(ids)
    assert abs(share - HELD_OUT_PERCENT / 100) < 0.03
    assert [held_out(i) for i in ids] == [held_out(i) for i in ids]


def test_right_share_counts_each_versions_last_submissions(tmp_path: Path) -> None:
    feedback = FeedbackStore(Store(tmp_path), max_count=100, max_bytes=1 << 20)
    for i, (label, predicted) in enumerate([(1, 1), (2, 3), (4, 4), (5, 5)]):
        feedback.add(Submission(label, predicted, "v1" if i < 3 else "v2", bytes([i]), None, None, "c"))
    assert feedback.right_share(last=10) == {"v1": {"count": 3, "right": 0.6667},
                                             "v2": {"count": 1, "right": 1.0}}
    assert feedback.right_share(last=1)["v1"]["count"] == 1


def test_metrics_show_the_drawings_and_the_live_share_read_right(client: TestClient) -> None:
    client.post("/feedback", json=body(6, label=1))
    client.post("/feedback", json=body(8, label=7))  # a 1 the person calls a 7: read "wrong"
    text = client.get("/metrics", headers=AUTH).text
    assert 'digitnet_feedback_drawings{status="pending"} 2.0' in text
    assert 'digitnet_feedback_right_share{version="default"} 0.5' in text


TINY_RUN = {"preset": "seed", "hidden": [16], "epochs": 1, "limit": 600, "lr": 0.5}


def wait_until_ended(client: TestClient, run_id: str, timeout: float = 120) -> dict:
    return wait_until(lambda: (run := client.get(f"/train/{run_id}", headers=AUTH).json())["status"]
                      not in ("starting", "running") and run, timeout, f"run {run_id} ending")


def accepted_ones(client: TestClient, held: int = 2, trained: int = 2) -> tuple[list[str], list[str]]:
    """Drawn 1s, accepted, until at least ``held`` are held out and ``trained`` are not. Which ids are
    held out is chance (a hash of a random id): a client made by ``app_client(..., feedback_rate=
    UNLIMITED)`` is not stopped by the rate limit however many it takes."""
    held_ids, trained_ids = [], []
    width = 4
    while len(held_ids) < held or len(trained_ids) < trained:
        width += 1
        sent = client.post("/feedback", json=body(width))
        assert sent.status_code in (200, 201), sent.text
        feedback_id = sent.json()["id"]
        client.patch(f"/feedback/{feedback_id}", json={"status": "accepted"}, headers=AUTH)
        (held_ids if held_out(feedback_id) else trained_ids).append(feedback_id)
    return held_ids, trained_ids


def test_a_run_trains_on_the_accepted_drawings_but_the_held_out_and_records_them(
        tmp_path: Path, mnist_dir: Path) -> None:
    with app_client(tmp_path, feedback_rate=UNLIMITED, data_dir=str(mnist_dir)) as c:
        refused = c.post("/train", json={**TINY_RUN, "feedback": True}, headers=AUTH)
        assert refused.status_code == 422 and "no accepted drawings" in refused.json()["detail"]
        held_ids, trained_ids = accepted_ones(c)
        started = c.post("/train", json={**TINY_RUN, "feedback": True}, headers=AUTH)
        assert started.status_code == 202, started.text
        run = wait_until_ended(c, started.json()["id"])
        assert run["status"] == "finished", run
        assert sorted(run["params"]["feedback_ids"]) == sorted(trained_ids)
        version = next(v for v in c.get("/versions", headers=AUTH).json()["versions"]
                       if v["id"] == run["version_id"])
        assert version["scores"]["held_out"]["count"] == len(held_ids)
        assert 0 <= version["scores"]["held_out"]["accuracy"] <= 1
        meta = Store(tmp_path).versions.get(run["version_id"])["meta"]
        assert sorted(meta["feedback"]["ids"]) == sorted(trained_ids)
        assert len(meta["feedback"]["sha256"]) == 64
        assert not set(meta["feedback"]["ids"]) & set(held_ids)


def test_a_version_worse_on_the_held_out_drawings_needs_force(tmp_path: Path) -> None:
    from tests.app.reading.test_serving import add_version

    with app_client(tmp_path, feedback_rate=UNLIMITED) as c:
        accepted_ones(c, held=3, trained=0)
        add_version(Store(tmp_path), "random")  # an untrained network: it cannot read the 1s
        refused = c.post("/versions/random/promote", headers=AUTH)
        assert refused.status_code == 409 and "held-out" in refused.json()["detail"]
        assert c.get("/versions", headers=AUTH).json()["promoted"] == "default"
        forced = c.post("/versions/random/promote?force=true", headers=AUTH)
        assert forced.status_code == 200 and forced.json() == {"promoted": "random", "previous": "default"}
        assert c.post("/versions/rollback", headers=AUTH).json()["promoted"] == "default"


def test_an_export_trains_from_the_command_line(tmp_path: Path, mnist_dir: Path) -> None:
    import subprocess
    import sys

    from app.settings import ROOT
    from model.serialize import load_model

    with app_client(tmp_path, feedback_rate=UNLIMITED) as c:
        held_ids, trained_ids = accepted_ones(c)
        export = tmp_path / "feedback.npz"
        export.write_bytes(c.get("/feedback/export", headers=AUTH).content)
    out = tmp_path / "m.npz"
    done = subprocess.run([sys.executable, "-m", "app.cli", "train", "--hidden", "16", "--epochs", "1",
                           "--limit", "600", "--data", str(mnist_dir), "--feedback", str(export),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    meta = load_model(out).meta["feedback"]
    assert sorted(meta["ids"]) == sorted(trained_ids) and meta["count"] == len(trained_ids)
    bad = subprocess.run([sys.executable, "-m", "app.cli", "train", "--feedback", str(tmp_path / "none.npz"),
                          "--data", str(mnist_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "is not a feedback export" in bad.stderr
