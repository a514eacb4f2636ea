"""A row of handwritten digits in one image: the number, and each digit with its box.

The image side of ``model.images.segment``: the image is decoded to ink as for one digit
(app.reading.images), the segmentation cuts the ink into digits asking the predictor's network
when in doubt, and the predictor reads every digit's 28x28 input in one batch. docs/numbers.md
says how it decides, and what one reading may cost: past that budget the image is refused (422),
and past the request's deadline the reading stops (app/reading/work.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from app.reading.images import InputError, decode, to_ink
from app.reading.number_strokes import stroke_pieces
from app.reading.predictor import Prediction, Predictor
from app.reading.work import check_deadline
from model.images.budget import Budget, OverBudgetError
from model.images.segment import MAX_READ_PIXELS, MAX_READS, segment
from model.novelty import logits

Strokes = Sequence[Sequence[Sequence[float]]]  # [[[x, y], ...], ...]
CANVAS_HEIGHT = 280.0  # the page's pad; it sends its drawing at half that
RUNNER_UP = 0.2  # a reading at least this share as likely as the number's is close: it is named too


@dataclass(frozen=True)
class NumberDigit:
    """One digit of the number: what the network read and where, [x0, y0, x1, y1) in pixels."""

    prediction: Prediction
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class NumberReading:
    number: str  # the digits read, left to right; "" for a blank image
    digits: list[NumberDigit]
    model_version: str
    confidence: float  # the product of each digit's probability: every digit read right
    runner_up: str | None = None  # the next likeliest number, when close (RUNNER_UP)
    runner_up_confidence: float | None = None


def read_number(predictor: Predictor, image: bytes | Image.Image, strokes: Strokes | None = None,
                canvas_height: float = CANVAS_HEIGHT) -> NumberReading:
    """Decode the image (bytes or ``open_image``'s result), find its digits and read them; the
    client's ``strokes`` (canvas coordinates, the canvas ``canvas_height`` high) group its ink."""
    budget = Budget(MAX_READS, MAX_READ_PIXELS, check=check_deadline)
    ink = to_ink(decode(image))
    owned = stroke_pieces(strokes, canvas_height, ink) if strokes else None
    try:
        found = segment(ink, functools.partial(logits, predictor.network), budget, owned)
    except OverBudgetError as exc:
        raise InputError(f"too many overlapping pieces of ink to read as a number: {exc} "
                         "(docs/numbers.md, Limits)") from exc
    predictions = predictor.predict_vectors([d.vector for d in found])
    digits = [NumberDigit(p, d.box) for p, d in zip(predictions, found, strict=True)]
    number = "".join(str(d.prediction.digit) for d in digits)
    return NumberReading(number, digits, predictor.version, *how_sure([d.prediction for d in digits]))


def how_sure(predictions: list[Prediction]) -> tuple[float, str | None, float | None]:
    """(confidence, runner-up, its confidence) of the number the predictions read.

    The confidence is the product of each digit's probability: the chance that every digit is read
    right, were the network's probabilities exact and the digits' errors independent (1 for no digit).
    The runner-up is the number with one digit changed to its second choice, the digit whose second
    choice comes closest to its first, so that its confidence is the highest after the number's own;
    it is given when that confidence is at least RUNNER_UP of the number's."""
    confidence, best = 1.0, (0.0, -1, -1)  # (second / first choice, which digit, its second choice)
    for k, p in enumerate(predictions):
        first, second = sorted(range(len(p.probabilities)), key=lambda d: -p.probabilities[d])[:2]
        confidence *= p.probabilities[first]
        best = max(best, (p.probabilities[second] / max(p.probabilities[first], 1e-12), k, second))
    ratio, k, second = best
    if k < 0 or ratio < RUNNER_UP:
        return confidence, None, None
    digits = [str(p.digit) for p in predictions]
    digits[k] = str(second)
    return confidence, "".join(digits), confidence * ratio
