"""One /feedback post, from its bytes to a kept drawing: the work the route hands to its threads.

In this order, so that nothing costs before the limits: the post is counted against its sender's
rate (every post, first); a body of more points than a drawing may hold is refused from its bytes;
then, once parsed, the picture is preprocessed as ``/predict`` does; its strokes must draw it
(``same_drawing``); the serving version reads it (the server's reading, never the client's word);
and the store keeps it within its caps.

A drawing's strokes are what a run trains on (drawn again with other pens); its picture's 28x28 is
what the admin reviews and the held-out drawings are scored on. The two are kept only when they
are the same drawing: the strokes drawn where and as wide as the page drew them, preprocessed, and
the picture's 28x28 must overlap in their ink (intersection over union of the pixels inked at least
``INK_THRESHOLD``) by ``MIN_INK_OVERLAP``.
"""

from __future__ import annotations

import ipaddress

import numpy as np

from app.deps import Services
from app.feedback.store import FeedbackStore, Submission
from app.pen.digits import page_digit
from app.reading.images import InputError, decode_data_url, open_images, preprocess
from app.web.schemas.feedback import MAX_POINTS, FeedbackRequest, too_many_points
from model.images.preprocess import INK_THRESHOLD

# 4,000 pen digits drawn both ways overlap 0.66 at the least, a 1's picture with a 7's strokes 0.54 at
# the most (benchmarks/feedback_strokes.py; docs/feedback.md, Limits)
MIN_INK_OVERLAP = 0.6
# The page sends 140x140, a client its whole canvas 280x280: a picture of up to twice that side is
# read, a larger one refused from its header (what preprocessing costs by size: docs/feedback.md, Limits)
MAX_PIXELS = 560 * 560
# The page's PNGs are a few KB (a 560x560 picture of 64 scribbled strokes: 4.6 KB); what is larger
# is padding (text chunks), which would fill the store 64 times faster
MAX_PNG_BYTES = 64 * 1024


RATE_WINDOW_S = 60  # the rate is counted per minute (FeedbackStore.count_post)


class RateError(Exception):
    """The sender has posted its share of this minute."""


def sender_of(host: str) -> str:
    """The address a rate limit counts by: an IPv4 address as it is, an IPv6 one by its /64 (one
    subscriber is given a whole /64, and may send from any address in it)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def admit(feedback: FeedbackStore, rate: int, raw: bytes, client: str) -> None:
    """Count the post, then bound it before it is parsed: RateError past ``rate`` posts this
    minute (duplicates, refusals and all), InputError for a body of too many points."""
    if feedback.count_post(client) > rate:
        raise RateError(f"at most {rate} posts a minute; try again soon")
    if too_many_points(raw):
        raise InputError(f"the strokes hold more than {MAX_POINTS} points")


def keep(services: Services, feedback: FeedbackStore, body: FeedbackRequest, client: str) -> tuple[str, bool]:
    """Check the drawing and keep it: (its id, True if new); InputError saying why it cannot be,
    FullError past the caps."""
    settings = services.settings
    image = decode_data_url(body.image)
    if len(image) > MAX_PNG_BYTES:
        raise InputError(f"the picture is {len(image):,} bytes; a drawing's may be at most {MAX_PNG_BYTES:,}",
                         status=413)
    vector = preprocess(open_images([image], min(MAX_PIXELS, settings.max_request_pixels))[0])
    if vector is None:
        raise InputError("the drawing is blank")
    if body.strokes is not None:
        same_drawing(body.strokes, vector)
    digit28 = np.rint(vector * 255).astype(np.uint8).tobytes()
    # what the model read: the server's own reading; a client could say anything, and move the live
    # share read right and the review queue's order with it
    predictor = services.holder.current
    read = predictor.predict_vectors([vector])[0].digit
    submission = Submission(body.label, read, predictor.version, image, digit28, body.strokes, client)
    return feedback.add(submission, auto_accept=settings.feedback_auto_accept)


def same_drawing(strokes: list[list[list[float]]], vector: np.ndarray) -> None:
    """InputError unless the strokes, drawn as the page drew them, give the picture's 28x28."""
    drawn = page_digit([[(x, y) for x, y in stroke] for stroke in strokes])
    overlap = ink_overlap(vector, drawn) if drawn is not None else 0.0
    if overlap < MIN_INK_OVERLAP:
        raise InputError(f"the strokes do not draw the picture: drawn as the page draws them, their ink "
                         f"and the image's overlap {overlap:.0%} after preprocessing, and must overlap at "
                         f"least {MIN_INK_OVERLAP:.0%} (the strokes are what training learns from)")


def ink_overlap(digit: np.ndarray, other: np.ndarray) -> float:
    """How much two inputs in MNIST form, (784,) in [0, 1], are the same drawing: the pixels inked in
    both over the pixels inked in either (intersection over union)."""
    a, b = digit >= INK_THRESHOLD, other >= INK_THRESHOLD
    either = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / either if either else 1.0
