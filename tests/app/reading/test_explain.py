"""POST /explain: the answer /predict gives and why, for every body form, with its limits and errors."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import httpx
import numpy as np
import pytest
from PIL import Image

from app.reading.explain import explain_pixels, signed_png
from app.reading.predictor import Predictor
from app.web.limits import InFlightLimitMiddleware
from model.architecture import Architecture
from model.conv import Conv2D
from model.layers import Dense
from model.network import Network
from model.serialize import SavedModel
from tests.app.conftest import drawn_one, mnist_png, png_bytes
from tests.app.test_api import data_url, huge_png_header
from tests.waiting import until_done

PNG = {"content-type": "image/png"}


def picture(url: str) -> np.ndarray:
    """A 28x28 picture data URL -> (28, 28, 3) RGB."""
    header, _, payload = url.partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.size == (28, 28)
    return np.asarray(image.convert("RGB"))


def check_explanation(answer: dict, network: Network) -> None:
    hidden = network.arch.sizes[1:-1]
    assert len(answer["logits"]) == 10
    assert [layer["size"] for layer in answer["layers"]] == list(hidden)
    assert [len(layer["activations"]) for layer in answer["layers"]] == list(hidden)
    saliency = answer["saliency"]
    assert len(saliency["gradient"]) == 784 and picture(saliency["image"]).shape == (28, 28, 3)
    contributions = [u["contribution"] for u in answer["units"]]
    convs = [layer for layer in network.layers if isinstance(layer, Conv2D)]
    if not convs:  # a first dense layer: its units' weights are pictures of the 784 pixels
        assert len(contributions) == 6 and contributions == sorted(contributions, reverse=True)
        assert answer["feature_maps"] == []
    else:  # the first convolution's feature maps instead, one small picture a channel
        assert contributions == []
        assert [m["channel"] for m in answer["feature_maps"]] == list(range(convs[0].c_out))
        assert all(picture(m["image"]).shape == (28, 28, 3) for m in answer["feature_maps"])  # 'same'
    for unit in answer["units"]:
        assert unit["activation"] == answer["layers"][0]["activations"][unit["index"]]
        assert picture(unit["weights"]).shape == (28, 28, 3)


def served(client) -> Network:
    return client.app.state.services.holder.current.network


@pytest.fixture(scope="module")
def network(client) -> Network:
    return served(client)


@pytest.mark.parametrize("which", ["shipped", "dense"])
def test_every_body_form_answers_as_predict_does_and_explains(request, which, mnist_samples) -> None:
    """The default model (a convolutional network) and the dense one: each explains as it can."""
    client = request.getfixturevalue("client" if which == "shipped" else "dense_client")
    network = served(client)
    images, labels = mnist_samples
    png = mnist_png(images[0])
    jpeg = png_bytes(Image.open(io.BytesIO(png)).convert("RGB"), "JPEG")
    forms = [dict(content=png, headers=PNG), dict(content=jpeg, headers={"content-type": "image/jpeg"}),
             dict(files={"file": ("digit.png", png, "image/png")}), dict(json={"image": data_url(png)}),
             dict(json={"pixels": (images[0] / 255).tolist()})]
    for form in forms:
        explained = client.post("/explain", **form)
        assert explained.status_code == 200, explained.text
        answer = explained.json()
        predicted = client.post("/predict", **form).json()
        assert {k: answer[k] for k in predicted} == predicted  # all of /predict's fields, the same
        assert answer["digit"] == labels[0] == answer["saliency"]["digit"]
        check_explanation(answer, network)
        assert np.argmax(answer["logits"]) == answer["digit"]


@pytest.mark.parametrize("which", ["shipped", "dense"])
def test_pixels_saliency_is_the_models_input_gradient(request, which, mnist_samples) -> None:
    client = request.getfixturevalue("client" if which == "shipped" else "dense_client")
    network = served(client)
    first_dense = next(i for i, layer in enumerate(network.layers) if isinstance(layer, Dense))
    images, _ = mnist_samples
    pixels = (images[3] / 255).tolist()
    for k in (None, 0, 8):
        query = "" if k is None else f"?class={k}"
        answer = client.post(f"/explain{query}", json={"pixels": pixels}).json()
        result = network.input_gradient(np.array([pixels]), k)  # x: the numbers as sent
        assert answer["saliency"]["digit"] == int(result.k[0])
        np.testing.assert_array_equal(np.array(answer["saliency"]["gradient"], network.dtype), result.dx[0])
        np.testing.assert_array_equal(np.array(answer["logits"], network.dtype), result.z[0])
        np.testing.assert_allclose(answer["layers"][0]["activations"], result.a[first_dense][0], atol=5e-5)
        if first_dense == 0:  # a first dense layer's units, ranked by what they add to log p_k
            contribution = result.a[0][0] * result.da[0][0]  # a_j * d log p_k / d a_j
            top = [u["index"] for u in answer["units"]]
            assert top == np.argsort(-contribution, kind="stable")[:6].tolist()
            np.testing.assert_allclose([u["contribution"] for u in answer["units"]], contribution[top])


def test_class_explains_another_digit_and_keeps_the_answer(client) -> None:
    read = client.post("/explain", content=drawn_one(), headers=PNG).json()
    why_not_7 = client.post("/explain?class=7", content=drawn_one(), headers=PNG).json()
    assert read["digit"] == why_not_7["digit"] == 1
    assert read["saliency"]["digit"] == 1 and why_not_7["saliency"]["digit"] == 7
    assert read["probabilities"] == why_not_7["probabilities"]
    assert read["saliency"]["gradient"] != why_not_7["saliency"]["gradient"]


@pytest.mark.parametrize("query", ["?class=10", "?class=-1", "?class=eight", "?class=1.5", "?class="])
def test_a_bad_class_is_422_saying_so(client, query) -> None:
    response = client.post(f"/explain{query}", content=drawn_one(), headers=PNG)
    assert response.status_code == 422 and "class must be a digit from 0 to 9" in response.json()["detail"]


def test_a_blank_drawing_is_no_digit_and_nothing_to_explain(client) -> None:
    blank = png_bytes(Image.new("L", (280, 280), 255))
    for form in (dict(content=blank, headers=PNG), dict(json={"pixels": [0.0] * 784})):
        answer = client.post("/explain?class=3", **form).json()
        assert answer["digit"] is None and answer["probabilities"] == [0.1] * 10
        assert answer["logits"] is answer["layers"] is answer["saliency"] is answer["units"] is None


@pytest.mark.parametrize("kwargs, status, message", [
    (dict(content=b"hello", headers={"content-type": "text/plain"}), 415, "unsupported content type"),
    (dict(content=b"GIF89a....", headers=PNG), 415, "not a PNG or JPEG"),
    (dict(content=b"", headers=PNG), 422, "empty"),
    (dict(content=b"x" * (1 << 20 + 1), headers=PNG), 413, "limit"),
    (dict(content=huge_png_header(3000, 3000), headers=PNG), 413, "2048"),
    (dict(json={"image": "data:image/png;base64,@@@not base64@@@"}), 422, "base64"),
    (dict(json={"pixels": [0.5] * 783}), 422, "784"),
    (dict(json={"pixels": [2.0] * 784}), 422, "between 0 and 1"),
    (dict(json={"image": "x", "pixels": [0] * 784}), 422, "exactly one"),
    (dict(content=b"{not json", headers={"content-type": "application/json"}), 400, "not valid JSON"),
    (dict(content=json.dumps({"pixels": [float("nan")] * 784}), headers={"content-type": "application/json"}),
     422, "finite"),
])
def test_the_errors_of_predict(client, kwargs, status, message) -> None:
    response = client.post("/explain", **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_explaining_never_changes_the_model(client, network, mnist_samples) -> None:
    images, _ = mnist_samples
    theta, grad = network.theta.tobytes(), network.grad.tobytes()
    for k in range(10):
        client.post(f"/explain?class={k}", content=mnist_png(images[k]), headers=PNG)
        client.post(f"/explain?class={k}", json={"pixels": (images[k] / 255).tolist()})
    assert network.theta.tobytes() == theta and network.grad.tobytes() == grad
    assert all(getattr(layer, "x", None) is None for layer in network.layers)  # nothing kept


def test_explain_and_the_other_costly_routes_count_against_slots_of_their_own() -> None:
    release = asyncio.Event()

    async def slow_app(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = InFlightLimitMiddleware(slow_app, limit=1, costly_limit=1)
    paths = ["/explain?class=3", "/predict", "/explain", "/predict/number", "/predict/batch"]

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tasks = [asyncio.create_task(client.post(path)) for path in paths]
            await until_done(tasks, 3, what="three refusals")
            assert (app.in_flight, app.costly_in_flight) == (1, 1)  # a /predict and an /explain
            release.set()
            return [r.status_code for r in await asyncio.gather(*tasks)]

    assert asyncio.run(scenario()) == [200, 200, 503, 503, 503]


@pytest.mark.parametrize("sizes, activation", [((784, 10), "relu"), ((784, 12, 8, 10), "tanh"),
                                               ((784, 16, 10), "sigmoid")])
def test_any_architecture_is_explained(sizes, activation, mnist_samples) -> None:
    network = Network(Architecture(sizes, activation), dtype=np.float64)
    network.initialize(np.random.default_rng(0))
    predictor = Predictor(SavedModel(network, {}), "small")
    images, _ = mnist_samples
    (answer,) = explain_pixels(predictor, [(images[0] / 255).tolist()], digit=2)
    assert [layer.size for layer in answer.layers] == list(sizes[1:-1])
    assert len(answer.units) == (0 if len(sizes) == 2 else 6) and answer.saliency.digit == 2
    x = (images[:1] / 255).astype(np.float32)  # the predictor's vectors are float32, as sent
    np.testing.assert_array_equal(answer.saliency.gradient, network.input_gradient(x, 2).dx[0])


def test_signed_pictures_are_blue_for_positive_red_for_negative_white_for_zero() -> None:
    values = np.zeros(784)
    values[0], values[1], values[2] = 2.0, -2.0, 1.0
    rgb = picture(signed_png(values)).reshape(784, 3)
    assert rgb[0].tolist() == [0x21, 0x66, 0xAC] and rgb[1].tolist() == [0xB2, 0x18, 0x2B]
    assert rgb[3].tolist() == [255, 255, 255]
    assert rgb[2][2] > rgb[2][0] and 0x21 < rgb[2][0] < 255  # half as large: a paler blue
    assert (picture(signed_png(np.zeros(784))) == 255).all()


def test_openapi_documents_explain_with_its_bodies_and_class(client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/explain"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data",
                                                        "image/png", "image/jpeg"}
    (parameter,) = operation["parameters"]
    assert parameter["name"] == "class" and parameter["schema"] == {"type": "integer", "minimum": 0,
                                                                    "maximum": 9}
    assert {"200", "400", "413", "415", "422"} <= set(operation["responses"])


def test_a_conv_network_shows_its_first_convolutions_feature_maps(mnist_samples) -> None:
    layers = ["conv3x3x4", "pool", "conv3x3x2", "pool", "dense10"]
    network = Network(Architecture.from_layers(layers), dtype=np.float32)
    network.initialize(np.random.default_rng(0))
    predictor = Predictor(SavedModel(network, {}), "small")
    images, _ = mnist_samples
    (answer,) = explain_pixels(predictor, [(images[0] / 255).tolist()])
    maps = network.input_gradient((images[:1] / 255).astype(np.float32)).a[1][0]  # (28, 28, 4): conv 1
    assert [m.channel for m in answer.feature_maps] == [0, 1, 2, 3] and answer.units == []
    for m in answer.feature_maps:
        rgb = picture(m.image)  # 28x28: 'same' padding keeps the input's size
        a = maps[:, :, m.channel]
        assert m.peak == pytest.approx(np.abs(a).max(), abs=1e-4)
        white = (rgb == 255).all(axis=2)
        np.testing.assert_array_equal(white, np.abs(a) < np.abs(a).max() / 64)  # the palette's middle
    (dense,) = explain_pixels(Predictor(SavedModel(Network(Architecture((784, 10))), {}), "d"),
                              [(images[0] / 255).tolist()])
    assert dense.feature_maps == []


def test_signed_pictures_take_any_size() -> None:
    values = np.zeros((14, 7))
    values[3, 5] = -1.0
    header, _, payload = signed_png(values).partition(",")
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB"))
    assert rgb.shape == (14, 7, 3) and rgb[3, 5].tolist() == [0xB2, 0x18, 0x2B]
    assert rgb[0, 0].tolist() == [255, 255, 255]
