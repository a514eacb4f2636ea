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

A drawing is ``pending`` until the admin accepts or rejects it; only accepted ones are trained on.
A fixed share of accepted drawings, chosen by a hash of the id (so it never moves), is held out:
never trained on, and used to score every version (``held_out``).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.state.db import Connection, NotFoundError
from app.state.store import Store

STATUSES = ("pending", "accepted", "rejected")
HELD_OUT_PERCENT = 20  # of accepted drawings, by the hash of their id
READ_AT_ONCE = 500  # ids in one query (SQLite allowed 999 parameters before 3.32)
RIGHT_OVER = 200  # the live accuracy is the share read right over each version's last this many
COLUMNS = "id, created_at, label, predicted, model_version, status, digit28, reviewed_at"
INSERTED = ("id, created_at, label, predicted, model_version, status, sha256, image, digit28, strokes, "
            "client, size")
RIGHT = "(CASE WHEN label = predicted THEN 1.0 ELSE 0.0 END)"  # read right: 1, wrong or blank: 0


class FullError(Exception):
    """The store keeps no more drawings: the message says which cap."""


@dataclass(frozen=True)
class Submission:
    label: int
    predicted: int | None
    model_version: str
    image: bytes  # the PNG as sent
    digit28: bytes | None  # (784,) uint8, the network's input; None for a blank drawing
    strokes: list[list[list[float]]] | None
    client: str  # a hash of the sender's address, for the rate limit; never the address itself


def held_out(feedback_id: str) -> bool:
    """The fixed share of drawings that are never trained on: the same answer for an id, always."""
    return int(hashlib.sha256(feedback_id.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


class FeedbackStore:
    """Feedback rows in ``store``'s database; each method one short transaction."""

    def __init__(self, store: Store, max_count: int, max_bytes: int) -> None:
        self.max_count, self.max_bytes = max_count, max_bytes
        self.db = store.db  # the table is made by app.state.migrations

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

    def page(self, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Newest first, disagreements (the person's label is not what the model read) before the rest."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with self.db.connect() as db:
            rows = db.execute(f"SELECT {COLUMNS}, strokes FROM feedback {where} ORDER BY {RIGHT} ASC, "
                              "created_at DESC LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return [{**_item(r), "strokes": json.loads(r["strokes"] or "null")} for r in rows]

    def get(self, feedback_id: str) -> dict[str, Any]:
        with self.db.connect() as db:
            row = db.execute(f"SELECT {COLUMNS}, image, strokes FROM feedback WHERE id = ?",
                             (feedback_id,)).fetchone()
        if row is None:
            raise NotFoundError("drawing", feedback_id)
        return {**_item(row), "image": row["image"], "strokes": json.loads(row["strokes"] or "null")}

    def review(self, feedback_id: str, status: str | None, label: int | None) -> dict[str, Any]:
        """Accept, reject or relabel one drawing."""
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

    def drawings(self, ids: list[str]) -> dict[str, Any]:
        """The drawings a run was started with, in this order, as ``accepted`` gives them: only those
        still accepted and not held out (one rejected or erased since is left out); read by id, a
        few hundred at a time, so a run never loads the pending drawings nor the whole table."""
        wanted = [i for i in ids if not held_out(i)]
        rows: dict[str, Any] = {}
        with self.db.connect() as db:
            for start in range(0, len(wanted), READ_AT_ONCE):
                chunk = wanted[start:start + READ_AT_ONCE]
                marks = ", ".join("?" * len(chunk))
                rows |= {r["id"]: r for r in db.execute(
                    f"SELECT id, label, digit28, strokes FROM feedback WHERE status = 'accepted' AND "
                    f"digit28 IS NOT NULL AND id IN ({marks})", chunk).fetchall()}
        return _as_arrays([rows[i] for i in wanted if i in rows], strokes=True)

    def held_out_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The accepted drawings that are never trained on, to score versions: (n, 784) floats in
        [0, 1] and their labels (their strokes are not read)."""
        kept = self.accepted(strokes=False)
        keep = kept["held_out"]
        return kept["digits"][keep] / 255.0, kept["labels"][keep]

    def accepted(self, strokes: bool = True) -> dict[str, Any]:
        """Every accepted drawing, as training wants them: ids, (n, 784) uint8 digits, labels, strokes
        (None each, unless ``strokes``), and which are held out."""
        with self.db.connect() as db:
            rows = db.execute(f"SELECT id, label, digit28{', strokes' if strokes else ''} FROM feedback "
                              "WHERE digit28 IS NOT NULL AND status = 'accepted' ORDER BY id").fetchall()
        return _as_arrays(rows, strokes)

    def clear_rejected(self) -> int:
        """Erase every rejected drawing in one transaction; how many were erased."""
        with self.db.write() as db:
            count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM feedback "
                                     "WHERE status = 'rejected'").fetchone()
            db.execute("DELETE FROM feedback WHERE status = 'rejected'")
            db.execute("UPDATE feedback_totals SET drawings = drawings - ?, bytes = bytes - ?",
                       (int(count), int(size)))
        return int(count)


def _as_arrays(rows: list[Any], strokes: bool) -> dict[str, Any]:
    digits = np.frombuffer(b"".join(bytes(r["digit28"]) for r in rows), dtype=np.uint8).reshape(-1, 784)
    return {"ids": [r["id"] for r in rows], "digits": digits,
            "labels": np.array([r["label"] for r in rows], dtype=np.uint8),
            "strokes": [json.loads(r["strokes"] or "null") if strokes else None for r in rows],
            "held_out": np.array([held_out(r["id"]) for r in rows], dtype=bool)}


def _item(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "created_at": row["created_at"], "label": row["label"],
            "predicted": row["predicted"], "model_version": row["model_version"], "status": row["status"],
            "held_out": held_out(row["id"]), "reviewed_at": row["reviewed_at"],
            "digit28": row["digit28"]}
