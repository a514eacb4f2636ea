"""The accepted drawings as a run trains on them and a report scores on them, and their export file.

Of the drawings the admin accepted, a fixed share chosen by a hash of the id (so it never moves) is
held out: never trained on, and used to score every version. ``AcceptedDrawings`` holds them as
arrays, one row a drawing: ``digits`` (n, 784) uint8 as MNIST stores a digit, ``labels`` (n,), the
strokes each was drawn with (None where none were sent) and which are held out.

The export file (``GET /feedback/export``, ``digitnet train --feedback FILE``) is an ``.npz``:
``digits`` (n, 28, 28) uint8, ``labels`` (n,), ``ids``, ``held_out`` (never train on those) and
``strokes`` (JSON text, a list with null where none were sent). ``export_file`` writes it and
``read_export`` reads it: its format is spelled here only.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

HELD_OUT_PERCENT = 20  # of accepted drawings, by the hash of their id
EXPORT_NAME = "digitnet-feedback.npz"

Strokes = list[list[list[float]]]  # strokes of [x, y] points in the canvas' 0..280


def held_out(feedback_id: str) -> bool:
    """The fixed share of drawings that are never trained on: the same answer for an id, always."""
    return int(hashlib.sha256(feedback_id.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


@dataclass(frozen=True)
class AcceptedDrawings:
    """Accepted drawings, one row each: ``ids``, ``digits`` (n, 784) uint8, ``labels`` (n,) uint8,
    ``strokes`` (n of them, None where none were sent or none were read), ``held_out`` (n,) bool."""

    ids: list[str]
    digits: np.ndarray
    labels: np.ndarray
    strokes: list[Strokes | None]
    held_out: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(self.ids), len(self.digits), len(self.labels), len(self.strokes), len(self.held_out)}
        if len(sizes) != 1 or self.digits.shape[1:] != (784,):
            raise ValueError(f"{len(self.ids)} ids, {self.digits.shape} digits, {len(self.labels)} "
                             f"labels, {len(self.strokes)} strokes, {len(self.held_out)} held-out marks: "
                             "one of each a drawing")

    @classmethod
    def from_rows(cls, rows: list[Any], strokes: bool) -> AcceptedDrawings:
        """From the store's rows (id, label, digit28 and, when ``strokes``, strokes as JSON text)."""
        digits = np.frombuffer(b"".join(bytes(r["digit28"]) for r in rows), dtype=np.uint8).reshape(-1, 784)
        return cls(ids=[r["id"] for r in rows], digits=digits,
                   labels=np.array([r["label"] for r in rows], dtype=np.uint8),
                   strokes=[json.loads(r["strokes"] or "null") if strokes else None for r in rows],
                   held_out=np.array([held_out(r["id"]) for r in rows], dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)

    def where(self, keep: np.ndarray) -> AcceptedDrawings:
        """The rows where ``keep`` (n,) bool is true, in their order."""
        return AcceptedDrawings([i for i, k in zip(self.ids, keep, strict=True) if k], self.digits[keep],
                                self.labels[keep], [s for s, k in zip(self.strokes, keep, strict=True) if k],
                                self.held_out[keep])

    def training_part(self) -> AcceptedDrawings:
        """All but the held-out share: what a run may train on."""
        return self.where(~self.held_out)

    def held_out_part(self) -> AcceptedDrawings:
        return self.where(self.held_out)

    def labelled(self) -> list[tuple[str, int]]:
        """(id, label) of each drawing: what says whether two sets of drawings are the same."""
        return list(zip(self.ids, self.labels.tolist(), strict=True))


def export_file(drawings: AcceptedDrawings) -> bytes:
    """The export file's bytes (the module docstring says what it holds)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, digits=drawings.digits.reshape(-1, 28, 28), labels=drawings.labels,
                        ids=np.array(drawings.ids, dtype=str), held_out=drawings.held_out,
                        strokes=np.array(json.dumps(drawings.strokes)))
    return buf.getvalue()


def read_export(path: str) -> AcceptedDrawings:
    """The drawings in an export file, the held-out ones included; ValueError naming the file if it
    is not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            strokes = json.loads(str(f["strokes"]))
            return AcceptedDrawings(ids=f["ids"].tolist(), digits=f["digits"].reshape(-1, 784),
                                    labels=f["labels"].astype(np.uint8), strokes=strokes,
                                    held_out=f["held_out"].astype(bool))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a feedback export from GET /feedback/export ({exc})") from exc
