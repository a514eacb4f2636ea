"""The predictor: images or MNIST-form pixels in, one batch through the network, answers out."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.reading.images import InputError
from app.reading.predictor import BLANK_PNG, Predictor, input_png
from tests.app.conftest import WEIGHTS, drawn_one
from tests.scribbles import scribble


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_file(WEIGHTS, "default")


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (140, 140), 255).save(out, format="PNG")
    return out.getvalue()


BLANK_PNG_BYTES = blank_png()


def decode_png_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert (image.mode, image.size) == ("L", (28, 28))
    return np.asarray(image)


def test_pixels_answer_with_probabilities_that_sum_to_one(predictor: Predictor, mnist_samples) -> None:
    images, labels = mnist_samples
    answers = predictor.predict_pixels((images[:5] / 255.0).tolist())
    assert [a.digit for a in answers] == labels[:5].tolist()
    for answer in answers:
        assert len(answer.probabilities) == 10 and abs(sum(answer.probabilities) - 1) < 1e-5
        assert answer.digit == int(np.argmax(answer.probabilities)) and answer.model_version == "default"


def test_the_answer_shows_the_exact_input_the_network_saw(predictor: Predictor, mnist_samples) -> None:
    images, _ = mnist_samples
    (answer,) = predictor.predict_pixels([(images[0] / 255.0).tolist()])
    assert np.array_equal(decode_png_url(answer.input).reshape(784), images[0])


def test_blank_inputs_are_no_digit_in_their_place_in_a_batch(predictor: Predictor, mnist_samples) -> None:
    images, labels = mnist_samples
    answers = predictor.predict_pixels([[0.0] * 784, (images[1] / 255.0).tolist()])
    assert answers[0].digit is None and answers[0].input == BLANK_PNG
    assert answers[1].digit == labels[1]
    assert not decode_png_url(BLANK_PNG).any()


@pytest.mark.parametrize("row, message", [
    ([0.5] * 783, "783 numbers"), ([0.5] * 783 + [1.5], "between 0 and 1"),
    ([0.5] * 783 + [float("nan")], "finite"), ([float("nan")] + [0.5] * 783, "finite"),
    ([0.5] * 783 + [float("inf")], "finite"), ([float("-inf")] + [0.0] * 783, "finite"),
    ([-1e-300] + [0.0] * 783, "between 0 and 1"),
])
def test_bad_pixels_are_an_input_error(predictor: Predictor, row: list[float], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        predictor.predict_pixels([row])
    assert info.value.status == 422


def test_images_go_through_the_same_preprocessing(predictor: Predictor) -> None:
    (answer,) = predictor.predict_images([drawn_one()])
    assert answer.digit == 1
    with pytest.raises(InputError) as info:
        predictor.predict_images([b"\x89PNG\r\n\x1a\nnot really"])
    assert info.value.status == 422


def test_input_png_rounds_each_pixel_to_8_bits() -> None:
    vector = np.linspace(0, 1, 784, dtype=np.float32)
    assert np.array_equal(decode_png_url(input_png(vector)).reshape(784), np.rint(vector * 255))


def test_a_scribble_is_answered_with_its_closest_digit_and_that_it_does_not_look_like_one(
        predictor: Predictor, mnist_samples) -> None:
    """A random walk (tests/scribbles.py, seed 0) reads '7, 79%', yet the network's evidence for every
    digit is weak: below the shipped model's threshold. Real digits, drawn or from MNIST, reach it; a
    blank drawing and a model without a threshold judge nothing."""
    from app.pen.strokes import PAGE, render
    from model.serialize import load_model

    scrawl = predictor.predict_images([render(scribble(np.random.default_rng(0)), **PAGE)])[0]
    assert scrawl.digit is not None and max(scrawl.probabilities) > 0.5 and scrawl.looks_like_a_digit is False
    one, blank = predictor.predict_images([drawn_one(), BLANK_PNG_BYTES])
    digits = predictor.predict_pixels((mnist_samples[0] / 255).tolist())
    assert one.looks_like_a_digit is True and all(d.looks_like_a_digit for d in digits)
    assert blank.looks_like_a_digit is None
    saved = load_model(WEIGHTS)
    saved.meta.pop("not_a_digit")
    assert Predictor(saved, "no-threshold").predict_images([drawn_one()])[0].looks_like_a_digit is None
