"""Drawings people send back with the right label: kept in the store's database, reviewed by the admin.

A submission is the drawing as the page exported it (PNG), the 28x28 the network saw (784 bytes,
MNIST form: what training and the export use), the strokes when the page sent them (canvas
coordinates 0..280, so a drawing can be drawn again with another pen), the person's label, the
digit the model answered and the model version. Rows live in the store's database with runs and
versions (SQLite or PostgreSQL; one transaction a write: nothing half-kept after a crash, shared by
every worker and every host).

The strokes are what a run trains on (drawn again with other pens), the PNG's 28x28 is what the
admin reviews and what the held-out drawings are scored on: a drawing is kept only when its strokes
draw its picture (app/feedback/intake.py), never two forms of one drawing that disagree.

A drawing is ``pending`` until the admin accepts or rejects it; only accepted ones are trained on,
all but a held-out share (app/feedback/accepted.py). ``FeedbackStore`` keeps, reviews and erases
drawings, and reads them as ``FeedbackReader`` (app/feedback/reader.py) does.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass

from app.feedback.accepted import Strokes
from app.feedback.reader import FeedbackReader, KeptDrawing
from app.state.db import Connection, NotFoundError
from app.state.store import Store

INSERTED = ("id, created_at, label, predicted, model_version, status, sha256, image, digit28, strokes, "
            "client, size")


class FullError(Exception):
    """The store keeps no more drawings: the message says which cap."""


@dataclass(frozen=True)
class Submission:
    label: int
    predicted: int | None
    model_version: str
    image: bytes  # the PNG as sent
    digit28: bytes | None  # (784,) uint8, the network's input; None for a blank drawing
    strokes: Strokes | None
    client: str  # a hash of the sender's address, for the rate limit; never the address itself


class FeedbackStore(FeedbackReader):
    """Feedback rows in ``store``'s database, kept within the caps (at most ``max_count`` drawings
    and ``max_bytes`` of them), reviewed and erased; each method one short transaction."""

    def __init__(self, store: Store, max_count: int, max_bytes: int) -> None:
        super().__init__(store)
        self.max_count, self.max_bytes = max_count, max_bytes

    def add(self, sub: Submission, auto_accept: bool = False) -> tuple[str, bool]:
        """Keep a drawing; (its id, True) if new, (the kept one's id, False) for an exact duplicate.
        FullError past the caps (nothing is changed then). The caps are checked against the running
        totals, one row: a full store answers without reading the table."""
        digest = hashlib.sha256(sub.image).hexdigest()
        strokes = json.dumps(sub.strokes) if sub.strokes is not None else None
        size = len(sub.image) + len(strokes or "")  # what the row stores: the PNG and the strokes
        with self.db.write() as db:  # the checks, the insert and the totals in one transaction
            same = db.execute("SELECT id FROM feedback WHERE sha256 = ?", (digest,)).fetchone()
            if same:
                return same["id"], False
            count, stored = self.totals(db)
            if count >= self.max_count:
                raise FullError(f"the store keeps at most {self.max_count} drawings; it is full")
            if stored + size > self.max_bytes:
                raise FullError(f"the store keeps at most {self.max_bytes} bytes of drawings; it is full")
            feedback_id = uuid.uuid4().hex[:16]
            db.execute(f"INSERT INTO feedback ({INSERTED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                feedback_id, time.time(), sub.label, sub.predicted, sub.model_version,
                "accepted" if auto_accept else "pending", digest, sub.image, sub.digit28, strokes,
                sub.client, size))
            db.execute("UPDATE feedback_totals SET drawings = drawings + 1, bytes = bytes + ?", (size,))
        return feedback_id, True

    def totals(self, db: Connection | None = None) -> tuple[int, int]:
        """(drawings, bytes) the store holds, from the running totals (inside ``db``'s transaction)."""
        if db is None:
            with self.db.connect() as db:
                return self.totals(db)
        count, stored = db.execute("SELECT drawings, bytes FROM feedback_totals").fetchone()
        return int(count), int(stored)

    def count_post(self, client: str) -> int:
        """Count one post from ``client`` in this minute (by this host's clock) and return how many it
        has sent in it, this one included: one statement, so posts sent at once are each counted
        once and none slips between a check and a count. The minute before last is forgotten."""
        minute = int(time.time() // 60)
        with self.db.connect() as db:
            posts = db.execute("INSERT INTO feedback_posts VALUES (?, ?, 1) ON CONFLICT (client, minute) "
                               "DO UPDATE SET posts = feedback_posts.posts + 1 RETURNING posts",
                               (client, minute)).fetchone()[0]
            if posts == 1:  # a client's first post this minute: clear the minutes no check reads (one
                # minute is left for a host whose clock is behind)
                db.execute("DELETE FROM feedback_posts WHERE minute < ?", (minute - 1,))
        return int(posts)

    def review(self, feedback_id: str, status: str | None, label: int | None) -> KeptDrawing:
        """Accept, reject or relabel one drawing (None: leave it as it is)."""
        changes = {k: v for k, v in (("status", status), ("label", label)) if v is not None}
        names = ", ".join(f"{k} = ?" for k in changes)
        with self.db.connect() as db:
            done = db.execute(f"UPDATE feedback SET {names}, reviewed_at = ? WHERE id = ?",
                              (*changes.values(), time.time(), feedback_id)).rowcount
        if not done:
            raise NotFoundError("drawing", feedback_id)
        return self.get(feedback_id)

    def delete(self, feedback_id: str) -> None:
        with self.db.write() as db:
            row = db.execute("SELECT size FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
            if row is None:
                raise NotFoundError("drawing", feedback_id)
            db.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,))
            db.execute("UPDATE feedback_totals SET drawings = drawings - 1, bytes = bytes - ?",
                       (row["size"],))

    def clear_rejected(self) -> int:
        """Erase every rejected drawing in one transaction; how many were erased."""
        with self.db.write() as db:
            count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM feedback "
                                     "WHERE status = 'rejected'").fetchone()
            db.execute("DELETE FROM feedback WHERE status = 'rejected'")
            db.execute("UPDATE feedback_totals SET drawings = drawings - ?, bytes = bytes - ?",
                       (int(count), int(size)))
        return int(count)

