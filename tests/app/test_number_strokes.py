"""POST /predict/number with the strokes that drew the number: they keep touching digits apart."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PIL import Image

from app.pen.strokes import PAGE, fit_height, ink_width, png, render_canvas
from app.web.schemas.feedback import MAX_POINTS, MAX_STROKES
from tests.app import test_number
from tests.app.test_number import check_number

Strokes = list[list[tuple[float, float]]]
pen_digits = test_number.pen_digits  # the same fixture


def written(pen_digits, digits: str, gap: float, height: int = 280) -> tuple[Image.Image, Strokes]:
    """The digits in a row on the pad, ``gap`` px apart (negative: crossing), as the page sends them
    (at half size), and their strokes in the pad's coordinates."""
    strokes, x = [], 30.0
    for ch in digits:
        placed = fit_height(pen_digits[int(ch)], 0.65 * height, 18, (x, 0.17 * height))
        strokes += placed
        x += ink_width(placed, 18) + gap
    small = [[(px / 2, py / 2) for px, py in s] for s in strokes]
    image = render_canvas(small, round((x + 30) / 2), height // 2, 9, ink=PAGE["ink"], paper=PAGE["paper"],
                          curves=True)
    return image, strokes


def post(client, image: Image.Image, **fields):
    url = "data:image/png;base64," + base64.b64encode(png(image, rgba=True)).decode()
    return client.post("/predict/number", json={"image": url, **fields})


@pytest.mark.parametrize("digits, gap", [("7294", -12), ("1985", -12)])
def test_touching_digits_are_read_apart_with_their_strokes(client, pen_digits, digits, gap) -> None:
    """The image alone reads these as fewer digits (729, 85: digits crossing make one piece); the
    strokes say which ink is whose (before: 'strokes' was an unknown field, a 422)."""
    image, strokes = written(pen_digits, digits, gap)
    alone = post(client, image)
    assert alone.status_code == 200 and alone.json()["number"] != digits
    response = post(client, image, strokes=strokes)
    assert response.status_code == 200, response.text
    check_number(response.json(), digits, image.size)


def test_strokes_that_are_not_the_drawings_are_left_aside(client, pen_digits) -> None:
    """Strokes far from the ink (another canvas's) cover none of it: the image is read alone."""
    image, _ = written(pen_digits, "2026", 40)
    elsewhere = [[(5.0, 5.0), (6.0, 6.0)], [[650.0, 270.0], [655.0, 275.0]]]
    assert post(client, image, strokes=elsewhere).json() == post(client, image).json()


def test_a_page_sized_canvas_height_scales_the_strokes(client, pen_digits) -> None:
    """An image sent at the canvas' own size: canvas_height is the image's height, scale 1."""
    image, strokes = written(pen_digits, "7360", -8)
    full = image.resize((image.width * 2, image.height * 2))
    response = post(client, full, strokes=strokes, canvas_height=280)
    check_number(response.json(), "7360", full.size)
    halved = [[(x / 2, y / 2) for x, y in s] for s in strokes]
    assert post(client, full, strokes=halved, canvas_height=140).json()["number"] == "7360"


@pytest.mark.parametrize("fields, message", [
    (dict(strokes=[[[10, 10]]] * 65), "at most 64 items"),
    (dict(strokes=[[[10, 10]] * (MAX_POINTS // 2 + 1)] * 2), f"more than {MAX_POINTS:,} points"),
    (dict(strokes=[[[10, 5000]]]), "not a point [x, y] of numbers from -2048 to 4096"),
    (dict(strokes=[[[10]]]), "not a point"),
    (dict(strokes=[[[10, True]]]), "not a point"),
    (dict(strokes=[[]]), "at least 1 item"),
    (dict(strokes=[[[10, 10]]], canvas_height=0), "greater than 0"),
    (dict(strokes="x"), "valid list"),
])
def test_strokes_past_their_limits_are_a_422(client, pen_digits, fields, message) -> None:
    image, _ = written(pen_digits, "12", 40)
    response = post(client, image, **fields)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("strokes", [[[["a", "a"]] * 156] * 64, [[[1e9, 0]] * 156] * 64,
                                     [[[0, 0]] * 100_000]])
def test_many_bad_points_are_one_short_error(client, pen_digits, strokes) -> None:
    """Points are counted and checked before pydantic reads them one by one (before: 9,984 bad points
    were as many errors, an answer of megabytes; 100,000 points, 17 MB built in 2.5 s)."""
    image, _ = written(pen_digits, "12", 40)
    response = post(client, image, strokes=strokes)
    assert response.status_code == 422 and len(response.content) < 1_000, response.text[:200]


def test_the_strokes_are_documented(client) -> None:
    body = client.get("/openapi.json").json()["paths"]["/predict/number"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert {"image", "strokes", "canvas_height"} <= set(schema["properties"])


def test_the_page_keeps_to_the_limits_the_route_takes() -> None:
    """static/number.js sends its strokes only within the route's limits (else the image alone)."""
    script = (Path(__file__).resolve().parents[2] / "static" / "number.js").read_text()
    assert f"MAX_STROKES = {MAX_STROKES}, MAX_POINTS = {MAX_POINTS}" in script
