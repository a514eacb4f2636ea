"""Real pen trajectories: the UCI pendigits files (UNIPEN text), read into samples of strokes.

The file lists samples one after another::

    .SEGMENT DIGIT    0 ? "8"      a new sample; its label is the quoted digit
    .COMMENT 8 12  224             label, writer id, sample index
    .PEN_DOWN                      a stroke begins
     267  333                      one point per line: x y, in a 500x500 box with y pointing UP
    .PEN_UP                        the stroke ends

``parse`` returns the samples in screen coordinates (y pointing down: ``y' = 500 - y``), ready for
``app.pen.strokes.render`` to draw them as the page's canvas would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

BOX_SIDE = 500  # the writing box of the file, in its units


@dataclass(frozen=True)
class Sample:
    """One handwritten digit: its label, who wrote it, and its strokes in screen coordinates."""

    label: int
    writer: int
    index: int
    strokes: list[list[tuple[int, int]]]


class FormatError(ValueError):
    """The text is not the UNIPEN layout described above; the message names the line."""


def parse(path: str | os.PathLike[str]) -> list[Sample]:
    """Read a pendigits ``.tra``/``.tes`` UNIPEN file into samples, in file order."""
    with open(path, encoding="ascii") as f:
        return parse_lines(f)


def parse_lines(lines: Iterable[str]) -> list[Sample]:
    """Parse UNIPEN text given as lines; see the module docstring for the layout."""
    samples: list[Sample] = []
    label: int | None = None
    comment: tuple[int, int] | None = None  # (writer, index)
    strokes: list[list[tuple[int, int]]] = []
    stroke: list[tuple[int, int]] | None = None
    lineno = 0

    def finish(lineno: int) -> None:
        if label is None:
            return
        if comment is None or not strokes:
            raise FormatError(f"line {lineno}: the sample before it has no .COMMENT or no strokes")
        samples.append(Sample(label, comment[0], comment[1], strokes))

    for lineno, line in enumerate(lines, start=1):
        words = line.split()
        if not words:
            continue
        head = words[0]
        if head == ".SEGMENT":
            if stroke is not None:
                raise FormatError(f"line {lineno}: .SEGMENT inside a stroke (missing .PEN_UP)")
            finish(lineno)
            label, comment, strokes = _segment_label(line, lineno), None, []
        elif head == ".COMMENT" and label is not None:
            comment = _comment(words, label, lineno)
        elif head == ".PEN_DOWN":
            stroke = []
        elif head == ".PEN_UP":
            if not stroke:
                raise FormatError(f"line {lineno}: .PEN_UP without a .PEN_DOWN and points before it")
            strokes.append(stroke)
            stroke = None
        elif head.startswith("."):
            continue  # .DT, .INCLUDE, .LEXICON, .HIERARCHY: nothing to draw
        elif stroke is None or len(words) != 2:
            raise FormatError(f"line {lineno}: expected a point 'x y' inside a stroke, got {line!r}")
        else:
            stroke.append((int(words[0]), BOX_SIDE - int(words[1])))
    if stroke is not None:
        raise FormatError(f"line {lineno}: the file ends inside a stroke (missing .PEN_UP)")
    finish(lineno)
    return samples


def _segment_label(line: str, lineno: int) -> int:
    parts = line.split('"')
    if len(parts) != 3 or not parts[1].isdigit():
        raise FormatError(f'line {lineno}: .SEGMENT without a quoted digit label like "8"')
    return int(parts[1])


def _comment(words: list[str], label: int, lineno: int) -> tuple[int, int]:
    if len(words) != 4 or not all(w.isdigit() for w in words[1:]):
        raise FormatError(f"line {lineno}: expected '.COMMENT label writer index'")
    if int(words[1]) != label:
        raise FormatError(f"line {lineno}: .COMMENT label {words[1]} differs from .SEGMENT's {label}")
    return int(words[2]), int(words[3])
