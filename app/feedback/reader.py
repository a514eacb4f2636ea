"""Reading the drawings people sent back: the admin's review queue, the counts, the live share read
right, and the accepted drawings a run trains on and a report scores on.

``FeedbackReader`` needs only the store: what reads drawings (a run, a report) needs none of the caps
that bound what is kept (app/feedback/store.py, ``FeedbackStore``, which also reads).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.feedback.accepted import AcceptedDrawings, Strokes, held_out
from app.pen.digits import page_digit
from app.reading.predictor import BLANK_PNG, input_png
from app.state.db import NotFoundError
from app.state.store import Store

STATUSES = ("pending", "accepted", "rejected")
READ_AT_ONCE = 500  # ids in one query (SQLite allowed 999 parameters before 3.32)
RIGHT_OVER = 200  # the live accuracy is the share read right over each version's last this many
COLUMNS = "id, created_at, label, predicted, model_version, status, digit28, reviewed_at, strokes"
RIGHT = "(CASE WHEN label = predicted THEN 1.0 ELSE 0.0 END)"  # read right: 1, wrong or blank: 0


@dataclass(frozen=True)
class KeptDrawing:
    """One drawing as the admin reviews it: ``digit28`` the 784 bytes the network saw (None for a
    blank drawing), ``strokes`` as the page sent them (None if it sent none), ``image`` the PNG as
    sent (read by ``FeedbackReader.get`` only: the queue does not need it)."""

    id: str
    created_at: float
    label: int
    predicted: int | None
    model_version: str
    status: str
    held_out: bool
    reviewed_at: float | None
    digit28: bytes | None
    strokes: Strokes | None
    image: bytes | None = None

    @classmethod
    def from_row(cls, row: Any, image: bool = False) -> KeptDrawing:
        return cls(row["id"], row["created_at"], row["label"], row["predicted"], row["model_version"],
                   row["status"], held_out(row["id"]), row["reviewed_at"],
                   bytes(row["digit28"]) if row["digit28"] is not None else None,
                   json.loads(row["strokes"] or "null"), bytes(row["image"]) if image else None)


def pictures(drawing: KeptDrawing) -> tuple[str, str | None]:
    """What the admin looks at, as PNG data URLs: the 28x28 the network saw, and beside it what a run
    learns from, the strokes drawn as the page drew them (None without strokes: the run learns from
    the 28x28 itself)."""
    digit = drawing.digit28
    image = input_png(np.frombuffer(digit, np.uint8) / 255.0) if digit else BLANK_PNG
    strokes = drawing.strokes
    drawn = page_digit([[(x, y) for x, y in stroke] for stroke in strokes]) if strokes else None
    return image, input_png(drawn) if drawn is not None else None


class FeedbackReader:
    """Feedback rows in ``store``'s database, read; each method one short transaction."""

    def __init__(self, store: Store) -> None:
        self.db = store.db  # the table is made by app.state.migrations

    def page(self, statuses: Collection[str], limit: int, offset: int) -> list[KeptDrawing]:
        """The drawings of ``statuses`` (all: STATUSES), newest first, disagreements (the person's
        label is not what the model read) before the rest."""
        if not statuses or not set(statuses) <= set(STATUSES):
            raise ValueError(f"statuses are some of {', '.join(STATUSES)}, not {sorted(statuses)}")
        marks = ", ".join("?" * len(statuses))
        with self.db.connect() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM feedback WHERE status IN ({marks}) "
                              f"ORDER BY {RIGHT} ASC, created_at DESC LIMIT ? OFFSET ?",
                              (*statuses, limit, offset)).fetchall()
        return [KeptDrawing.from_row(r) for r in rows]

    def get(self, feedback_id: str) -> KeptDrawing:
        with self.db.connect() as db:
            row = db.execute(f"SELECT {COLUMNS}, image FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
        if row is None:
            raise NotFoundError("drawing", feedback_id)
        return KeptDrawing.from_row(row, image=True)

    def counts(self) -> dict[str, int]:
        with self.db.connect() as db:
            found = {r[0]: r[1] for r in db.execute("SELECT status, COUNT(*) FROM feedback GROUP BY status")
                     .fetchall()}
        return {status: found.get(status, 0) for status in STATUSES}

    def right_share(self, last: int) -> dict[str, dict[str, float]]:
        """Per model version, over its ``last`` submissions: how many, and the share the person said
        the model read right (the live accuracy people see)."""
        with self.db.connect() as db:
            rows = db.execute(
                f"SELECT model_version, COUNT(*), AVG({RIGHT}) FROM (SELECT model_version, label, "
                "predicted, ROW_NUMBER() OVER (PARTITION BY model_version ORDER BY created_at DESC) AS n "
                "FROM feedback) AS recent WHERE n <= ? GROUP BY model_version", (last,)).fetchall()
        return {r[0]: {"count": r[1], "right": round(float(r[2]), 4)} for r in rows}

    def training_ids(self) -> list[str]:
        """The accepted drawings a run may train on now: all but the held-out share."""
        with self.db.connect() as db:
            rows = db.execute("SELECT id FROM feedback WHERE status = 'accepted' AND digit28 IS NOT NULL "
                              "ORDER BY id").fetchall()
        return [r["id"] for r in rows if not held_out(r["id"])]

    def drawings(self, ids: list[str]) -> AcceptedDrawings:
        """The drawings a run was started with, in this order: only those still accepted and not held
        out (one rejected or erased since is left out); read by id, a few hundred at a time, so a
        run never loads the pending drawings nor the whole table."""
        wanted = [i for i in ids if not held_out(i)]
        rows: dict[str, Any] = {}
        with self.db.connect() as db:
            for start in range(0, len(wanted), READ_AT_ONCE):
                chunk = wanted[start:start + READ_AT_ONCE]
                marks = ", ".join("?" * len(chunk))
                rows |= {r["id"]: r for r in db.execute(
                    f"SELECT id, label, digit28, strokes FROM feedback WHERE status = 'accepted' AND "
                    f"digit28 IS NOT NULL AND id IN ({marks})", chunk).fetchall()}
        return AcceptedDrawings.from_rows([rows[i] for i in wanted if i in rows], strokes=True)

    def accepted(self, strokes: bool = True) -> AcceptedDrawings:
        """Every accepted drawing, ordered by id (their strokes None each, unless ``strokes``)."""
        with self.db.connect() as db:
            rows = db.execute(f"SELECT id, label, digit28{', strokes' if strokes else ''} FROM feedback "
                              "WHERE digit28 IS NOT NULL AND status = 'accepted' ORDER BY id").fetchall()
        return AcceptedDrawings.from_rows(rows, strokes)
