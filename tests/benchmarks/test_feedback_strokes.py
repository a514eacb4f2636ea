"""The tolerance of ``POST /feedback``'s strokes check holds on real pen digits drawn as the page draws."""

from __future__ import annotations

from pathlib import Path

from app.feedback.intake import MIN_INK_OVERLAP
from benchmarks.feedback_strokes import overlaps


def test_real_drawings_pass_and_a_sevens_strokes_for_a_ones_picture_do_not(pendigits_file: Path) -> None:
    found = overlaps(pendigits_file, limit=600)
    assert len(found["own"]) >= 590 and (found["own"] >= MIN_INK_OVERLAP).all()
    assert len(found["1's picture, 7's strokes"]) >= 40
    assert (found["1's picture, 7's strokes"] < MIN_INK_OVERLAP).all()
    assert (found["other label"] < MIN_INK_OVERLAP).mean() > 0.99
