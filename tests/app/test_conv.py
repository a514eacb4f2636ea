"""A convolutional network from the API: chosen by its layers, capped on the server, trained by a real run,
and, once promoted, serving every route that reads drawings."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS, drawn_one
from tests.app.runs.test_job import wait_until_ended

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TINY_CONV = {"preset": "conv", "layers": "conv3x3x4, pool, dense16, dense10", "epochs": 1, "limit": 400,
             "batch_size": 50, "augment": False}


@pytest.fixture
def client(tmp_path: Path, mnist_dir: Path) -> Iterator[TestClient]:
    settings = Settings(weights=WEIGHTS, home=tmp_path, admin_token=ADMIN_TOKEN, data_dir=str(mnist_dir))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("changes, words", [
    ({"layers": "conv5x5x16, pool, dense5"}, "dense10, not dense5"),
    ({"layers": "dense128, conv5x5x16, dense10"}, "conv and pool layers come first"),
    ({"layers": "conv4x4x8, dense10"}, "odd"),
    ({"layers": "conv5x5x64, pool, conv5x5x128, pool, dense256, dense10"},
     "43,003,392 multiply-adds for each digit"),
    ({"batch_size": 4096}, "MiB of image patches"),
    ({"layers": "conv3x3x4, dense10", "hidden": [32]}, "either the hidden sizes or the whole layer list"),
])
def test_a_network_the_server_cannot_train_is_a_422_saying_why(client: TestClient, changes: dict,
                                                                words: str) -> None:
    response = client.post("/train", json={"preset": "conv", **changes}, headers=AUTH)
    assert response.status_code == 422 and words in response.json()["detail"], response.text


def number_png() -> bytes:
    """Two strokes side by side on a white 280x140 canvas: a number of two digits."""
    image = Image.new("L", (280, 140), 255)
    draw = ImageDraw.Draw(image)
    for x in (80, 200):
        draw.line([(x, 20), (x, 120)], fill=0, width=16)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_conv_run_becomes_a_version_that_serves_every_route(client: TestClient) -> None:
    started = client.post("/train", json=TINY_CONV, headers=AUTH)
    assert started.status_code == 202, started.text
    run = wait_until_ended(client.app.state.services.store, started.json()["id"], timeout=300)
    assert run.status == "finished", run.reason
    version = run.version_id
    promoted = client.post(f"/versions/{version}/promote", params={"force": True}, headers=AUTH)
    assert promoted.status_code == 200, promoted.text

    png = {"content": drawn_one(), "headers": {"content-type": "image/png"}}
    one = client.post("/predict", **png).json()
    assert one["model_version"] == version and len(one["probabilities"]) == 10
    batch = client.post("/predict/batch", files=[("file", drawn_one()), ("file", drawn_one())]).json()
    assert [p["model_version"] for p in batch["predictions"]] == [version, version]
    explained = client.post("/explain", **png).json()
    assert explained["model_version"] == version and len(explained["saliency"]["gradient"]) == 784
    assert explained["units"] == [] and [layer["size"] for layer in explained["layers"]] == [16]
    number = client.post("/predict/number", content=number_png(), headers={"content-type": "image/png"})
    assert number.status_code == 200 and number.json()["model_version"] == version
