"""POST /predict and friends, in-process (TestClient): every input form and every error."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import drawn_one, mnist_png, png_bytes


def data_url(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(png).decode()


def input_pixels(answer: dict) -> np.ndarray:
    """The 28x28 8-bit image in an answer's ``input`` PNG data URL."""
    header, _, payload = answer["input"].partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.mode == "L"
    return np.asarray(image)


def check_answer(answer: dict) -> None:
    assert set(answer) >= {"digit", "probabilities", "model_version", "input"}
    assert len(answer["probabilities"]) == 10
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert input_pixels(answer).shape == (28, 28)
    assert answer["model_version"] == "default"


def test_raw_png_body(client) -> None:
    response = client.post("/predict", content=drawn_one(), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    check_answer(response.json())
    assert response.json()["digit"] == 1


def test_multipart_upload_of_mnist_digits(client, mnist_samples) -> None:
    images, labels = mnist_samples
    right = 0
    for pixels, label in zip(images[:10], labels[:10], strict=True):
        files = {"file": ("digit.png", mnist_png(pixels), "image/png")}
        response = client.post("/predict", files=files)
        assert response.status_code == 200, response.text
        right += response.json()["digit"] == label
    assert right >= 9


def test_jpeg_and_data_url_and_pixels_agree(client, mnist_samples) -> None:
    images, labels = mnist_samples
    jpeg = png_bytes(Image.open(io.BytesIO(mnist_png(images[0]))).convert("RGB"), "JPEG")
    by_jpeg = client.post("/predict", content=jpeg, headers={"content-type": "image/jpeg"}).json()
    by_url = client.post("/predict", json={"image": data_url(mnist_png(images[0]))}).json()
    by_pixels = client.post("/predict", json={"pixels": (images[0] / 255).tolist()}).json()
    for answer in (by_jpeg, by_url, by_pixels):
        check_answer(answer)
        assert answer["digit"] == labels[0]
    # pixels already in MNIST form go to the network unchanged, and come back as the same 8-bit image
    np.testing.assert_array_equal(input_pixels(by_pixels).ravel(), images[0])


def test_batch_forms_answer_in_order(client, mnist_samples) -> None:
    images, labels = mnist_samples
    by_pixels = client.post("/predict/batch", json={"pixels": (images[:8] / 255).tolist()})
    by_urls = client.post("/predict/batch", json={"images": [data_url(mnist_png(p)) for p in images[:8]]})
    files = [("file", (f"{i}.png", mnist_png(p), "image/png")) for i, p in enumerate(images[:8])]
    by_files = client.post("/predict/batch", files=files)
    for response in (by_pixels, by_urls, by_files):
        assert response.status_code == 200, response.text
        digits = [a["digit"] for a in response.json()["predictions"]]
        assert len(digits) == 8 and sum(d == y for d, y in zip(digits, labels[:8], strict=True)) >= 7


def test_large_images_and_small_ones_answer_alike(client) -> None:
    # 320x320 drawings are read in the worker thread, 140x140 ones on the event loop (INLINE_PIXELS)
    files = [("file", (f"{i}.png", drawn_one(size), "image/png")) for i, size in enumerate((320, 140, 320))]
    answers = client.post("/predict/batch", files=files).json()["predictions"]
    assert [a["digit"] for a in answers] == [1, 1, 1]
    np.testing.assert_array_equal(input_pixels(answers[0]), input_pixels(answers[2]))
    for size in (320, 140):
        one = client.post("/predict", content=drawn_one(size), headers={"content-type": "image/png"})
        assert one.json()["digit"] == 1


def test_blank_canvas_is_no_digit(client) -> None:
    blank = png_bytes(Image.new("L", (280, 280), 255))
    answer = client.post("/predict", content=blank, headers={"content-type": "image/png"}).json()
    assert answer["digit"] is None
    assert answer["probabilities"] == pytest.approx([0.1] * 10)
    assert not input_pixels(answer).any()
    assert client.post("/predict", json={"pixels": [0.0] * 784}).json()["digit"] is None


def huge_png_header(width: int, height: int) -> bytes:
    """A tiny PNG file that claims to be width x height pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        (dict(content=b"hello", headers={"content-type": "text/plain"}), 415, "unsupported content type"),
        (dict(content=b"hello"), 415, "unsupported content type"),
        (dict(content=b"GIF89a....", headers={"content-type": "image/png"}), 415, "not a PNG or JPEG"),
        (dict(content=b"\x89PNG\r\n\x1a\n\x00\x00", headers={"content-type": "image/png"}), 422, "decode"),
        (dict(content=b"", headers={"content-type": "image/png"}), 422, "empty"),
        (dict(content=b"x" * (1 << 20 + 1), headers={"content-type": "image/png"}), 413, "limit"),
        (dict(content=huge_png_header(3000, 3000), headers={"content-type": "image/png"}), 413, "2048"),
        (dict(content=huge_png_header(60000, 60000), headers={"content-type": "image/png"}), 413, "2048"),
        (dict(json={"image": "data:image/png;base64,@@@not base64@@@"}), 422, "base64"),
        (dict(json={"image": "data:image/gif;base64,R0lGOD=="}), 415, "PNG or JPEG"),
        (dict(json={"pixels": [0.5] * 783}), 422, "784"),
        (dict(json={"pixels": [2.0] * 784}), 422, "between 0 and 1"),
        (dict(json={"pixels": ["a"] * 784}), 422, "pixels"),
        (dict(json={}), 422, "exactly one"),
        (dict(json={"image": "x", "pixels": [0] * 784}), 422, "exactly one"),
        (dict(json={"pixels": [0] * 784, "extra": 1}), 422, "extra"),
        (dict(content=b"{not json", headers={"content-type": "application/json"}), 400, "not valid JSON"),
        (dict(data={"other": "x"}, files={"wrong": ("a.png", b"x", "image/png")}), 422, "'file'"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, kwargs, status, message) -> None:
    response = client.post("/predict", **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_nan_pixels_are_refused(client) -> None:
    body = json.dumps({"pixels": [float("nan")] * 784})  # Python writes the NaN literal
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "finite" in response.json()["detail"]


def test_batch_errors(client) -> None:
    assert client.post("/predict/batch", json={"pixels": []}).status_code == 422
    too_many = client.post("/predict/batch", json={"pixels": [[0.0] * 784] * 65})
    assert too_many.status_code == 422 and "64" in too_many.json()["detail"]
    bad = client.post("/predict/batch", json={"images": [data_url(drawn_one()), "data:image/png;base64,!!"]})
    assert bad.status_code == 422 and "base64" in bad.json()["detail"]
    raw = client.post("/predict/batch", content=drawn_one(), headers={"content-type": "image/png"})
    assert raw.status_code == 415


def test_health_and_openapi(client) -> None:
    assert client.get("/livez").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "model_version": "default"}
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data", "image/png", "image/jpeg"}
    responses = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415", "422"} <= set(responses)
    assert "/predict/batch" in spec["paths"] and "/readyz" in spec["paths"]


def test_real_server_cuts_off_a_streamed_body_over_1_mib(live_server) -> None:
    import httpx

    sent = []

    def chunks():  # no Content-Length: the server has to count
        for _ in range(64):
            sent.append(1)
            yield b"\x89PNG" + b"x" * (64 * 1024 - 4)

    response = httpx.post(f"{live_server}/predict", content=chunks(), headers={"content-type": "image/png"})
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    declared = httpx.post(f"{live_server}/predict", content=b"x" * (2 << 20),
                          headers={"content-type": "image/png"})
    assert declared.status_code == 413


def test_a_body_longer_than_its_content_length_reaches_the_app_cut_at_it(live_server) -> None:
    # the limit middleware counts only bodies without a Content-Length: this is why it may
    import socket

    import httpx

    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 8\r\n\r\n\x89PNG\r\n\x1a\n" + b"x" * (2 << 20))
        answer = b""
        while b"}" not in answer:  # the status line and headers, then the JSON body
            chunk = conn.recv(65536)
            assert chunk, answer
            answer += chunk
    text = answer.decode("latin-1")
    assert text.startswith("HTTP/1.1 422") and "cannot decode" in text  # 8 bytes: a PNG signature only
    assert httpx.get(f"{live_server}/readyz").status_code == 200


@pytest.mark.parametrize("path, body", [
    (path, {"pixels": ["a"] * 150_000}) for path in ("/predict", "/explain", "/predict/number")
] + [("/predict/batch", {"pixels": [[None] * 2_000] * 64})])
def test_a_list_longer_than_a_drawing_is_refused_by_its_length_not_item_by_item(
        client, path: str, body: dict) -> None:
    """150,000 strings where 784 numbers go: one error, not one for each (a 12 MB answer, seconds of
    the event loop, before); a batch's rows likewise."""
    response = client.post(path, json=body)
    assert response.status_code == 422 and "784" in response.text
    assert len(response.content) < 10_000


def test_an_integer_past_4300_digits_is_a_400_not_a_500(client) -> None:
    body = b'{"pixels": [' + b"1" * 5000 + b"]}"
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "4,300 digits" in response.json()["detail"]


def test_a_body_of_many_wrong_numbers_is_told_in_one_short_line(client) -> None:
    """64 rows of 784 strings were 50,176 errors in a 4.1 MB answer; now ten, and how many more."""
    response = client.post("/predict/batch", json={"pixels": [["x"] * 784] * 64})
    detail = response.json()["detail"]
    assert response.status_code == 422 and len(response.content) < 2000
    assert detail.startswith("pixels.0.0: Input should be a valid number") and detail.endswith(
        "; and 50,166 more")


def test_a_large_json_body_is_parsed_off_the_event_loop(client, mnist_samples, monkeypatch) -> None:
    """Up to 1 MiB of JSON can take a quarter of a second to parse: past INLINE_BYTES, in a thread."""
    import asyncio

    from app.web import drawings

    parsed_on_loop = []

    def parse_json(body: bytes):
        try:
            asyncio.get_running_loop()
            parsed_on_loop.append((len(body), True))
        except RuntimeError:
            parsed_on_loop.append((len(body), False))
        return real(body)

    real = drawings.parse_json
    monkeypatch.setattr(drawings, "parse_json", parse_json)
    rows = ([[float(p) / 255 * 0.999 + 1e-9 for p in row] for row in mnist_samples[0]] * 4)[:64]
    large = client.post("/predict/batch", json={"pixels": rows})
    small = client.post("/predict", json={"pixels": rows[0]})
    assert large.status_code == 200 and small.status_code == 200
    (big, big_on_loop), (little, little_on_loop) = parsed_on_loop
    assert big > drawings.INLINE_BYTES and not big_on_loop
    assert little < drawings.INLINE_BYTES and little_on_loop
