"""A row of handwritten digits in one image: the number, and each digit with its box.

The image side of ``model.segment``: the image is decoded to ink as for one digit (app.images), the
segmentation cuts the ink into digits asking the predictor's network when in doubt, and the
predictor reads every digit's 28x28 input in one batch. docs/numbers.md says how it decides, and
what one reading may cost: past that budget the image is refused (422), and past the request's
deadline the reading stops (app/work.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from app.images import InputError, decode, to_ink
from app.predictor import Prediction, Predictor
from app.work import check_deadline
from model.budget import Budget, OverBudgetError
from model.segment import MAX_READ_PIXELS, MAX_READS, segment


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


def read_number(predictor: Predictor, image: bytes | Image.Image) -> NumberReading:
    """Decode the image (bytes or ``open_image``'s result), find its digits and read them."""
    budget = Budget(MAX_READS, MAX_READ_PIXELS, check=check_deadline)
    try:
        found = segment(to_ink(decode(image)), predictor.network.predict_proba, budget)
    except OverBudgetError as exc:
        raise InputError(f"too many overlapping pieces of ink to read as a number: {exc} "
                         "(docs/numbers.md, Limits)") from exc
    predictions = predictor.predict_vectors([d.vector for d in found])
    digits = [NumberDigit(p, d.box) for p, d in zip(predictions, found, strict=True)]
    number = "".join(str(d.prediction.digit) for d in digits)
    return NumberReading(number, digits, predictor.version)
