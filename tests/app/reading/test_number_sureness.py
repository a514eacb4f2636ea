"""How sure a number's reading is: its confidence, and the runner-up reading when it is close."""

from __future__ import annotations

import math

import pytest

from app.reading.numbers import RUNNER_UP, how_sure
from app.reading.predictor import Prediction
from tests.app.test_number import pen_digits  # noqa: F401  (a fixture)
from tests.app.test_number_strokes import post, written


def prediction(**probs: float) -> Prediction:
    """A digit's answer with the probabilities given by name (d0=..., d7=...), the rest shared."""
    given = {int(k[1:]): v for k, v in probs.items()}
    rest = (1 - sum(given.values())) / (10 - len(given))
    probabilities = [given.get(d, rest) for d in range(10)]
    return Prediction(max(range(10), key=lambda d: probabilities[d]), probabilities, "default", "")


def test_the_confidence_is_the_product_and_the_runner_up_the_closest_second_choice() -> None:
    digits = [prediction(d1=0.99), prediction(d7=0.6, d1=0.3), prediction(d4=0.8, d9=0.19)]
    confidence, runner_up, its = how_sure(digits)
    assert confidence == pytest.approx(0.99 * 0.6 * 0.8)
    assert runner_up == "114"  # the 7's second choice (0.3 / 0.6) is closer than the 4's (0.19 / 0.8)
    assert its == pytest.approx(0.99 * 0.3 * 0.8)


def test_a_runner_up_only_when_close() -> None:
    assert how_sure([prediction(d2=0.8, d3=0.8 * RUNNER_UP * 0.99)])[1] is None
    assert how_sure([prediction(d2=0.8, d3=0.8 * RUNNER_UP * 1.01)])[1] == "3"
    assert how_sure([]) == (1.0, None, None)


def test_the_answer_says_how_sure_it_is(client, pen_digits) -> None:  # noqa: F811
    """A 2 and a 5 around a stroke between a 1 and a 7 (a short bar): '215' or '275', each named."""
    one_or_seven = [[(32, 0), (100, 0), (85, 200)]]  # a bar 68 long on a stem 200 high
    image, strokes = written({**pen_digits, 1: one_or_seven}, "215", 40)
    answer = post(client, image, strokes=strokes).json()
    product = math.prod(max(d["probabilities"]) for d in answer["digits"])
    assert answer["confidence"] == pytest.approx(product, rel=1e-4) and answer["confidence"] < 0.8
    assert {answer["number"], answer["runner_up"]} == {"215", "275"}
    assert answer["runner_up_confidence"] >= RUNNER_UP * answer["confidence"]
    sure = post(client, *written(pen_digits, "215", 40)[:1]).json()
    assert sure["number"] == "215" and sure["runner_up"] is None and sure["confidence"] > 0.9


def test_confidence_and_runner_up_are_documented(client) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["NumberResponse"]
    assert {"confidence", "runner_up", "runner_up_confidence"} <= set(schema["properties"])
    assert "close" in schema["properties"]["runner_up"]["description"]
