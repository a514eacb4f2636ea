"""The state directory: training runs, their events, and model versions, recorded in SQLite.

The database is the one source of truth shared by every web worker and the training process: a
worker never keeps state that another worker would need. SQLite runs in WAL mode, so readers (the
event streams, the model-version poll) never block the one writer.

    $DIGITNET_HOME/
        digitnet.db          runs, events, versions, settings
        versions/<id>.npz    immutable model files (written atomically)
        admin-token          the generated admin token, mode 0600 (when none is set)
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, params TEXT NOT NULL, created_at REAL NOT NULL,
    started_at REAL, finished_at REAL, pid INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0,
    reason TEXT, version_id TEXT, test_accuracy REAL);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS versions (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, run_id TEXT, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, test_accuracy REAL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# A run's status: it is starting or running, then ends in exactly one of the final statuses
ACTIVE = ("starting", "running")
FINAL = ("finished", "diverged", "cancelled", "failed", "interrupted")
RUN_STATUSES = ACTIVE + FINAL
VERSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DEFAULT_VERSION = "default"


class StoreError(Exception):
    """The state directory or its database cannot be used; the message names it and what to do."""


class RunActiveError(Exception):
    """A run is already going; only one at a time."""


class NotFoundError(Exception):
    """No run or version with that id."""


class VersionInUseError(Exception):
    """The version is promoted: it cannot be deleted."""


def valid_version_id(version_id: str) -> bool:
    """Letters, digits, '-' and '_' only: an id can never name a path outside versions/."""
    return VERSION_ID.fullmatch(version_id) is not None  # not .match: "$" also matches before a final "\n"


class Store:
    """Runs, events and versions in ``home``; every method opens its own short transaction."""

    def __init__(self, home: Path) -> None:
        """Open (or create) the state in ``home``; StoreError, saying what to do, if it cannot."""
        self.home = home
        self.versions_dir = home / "versions"
        self.db_path = home / "digitnet.db"
        try:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot use the state directory {home} ({exc.strerror}); set DIGITNET_HOME "
                             "to a directory this user can write") from exc
        try:
            with self.connect() as db:
                db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:  # also OperationalError: unwritable, locked, a directory
            raise StoreError(f"cannot use the database {self.db_path} ({exc}); if it is damaged, move it "
                             "away to start afresh (its runs and versions are then forgotten)") from exc

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def recover(self) -> list[str]:
        """After a crash: runs whose process is gone are 'interrupted'; leftover temp files go."""
        for leftover in self.versions_dir.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)
        interrupted = []
        for run in self.list_runs(limit=1000):
            if run["status"] in ACTIVE and not _alive(run["pid"]) and self.end_if_active(
                    run["id"], "interrupted", "the server or the training process stopped during the run"):
                interrupted.append(run["id"])
        return interrupted

    def end_if_active(self, run_id: str, status: str, reason: str) -> bool:
        """End a run that is still starting or running with ``status``, and its final event; False
        if it had already ended (its own process said how, first)."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            changed = db.execute(
                "UPDATE runs SET status = ?, reason = ?, finished_at = ? WHERE id = ? AND status IN (?, ?)",
                (status, reason, time.time(), run_id, *ACTIVE)).rowcount
            db.execute("COMMIT")
        if changed:
            self.add_events(run_id, [(status, {"status": status, "reason": reason})])
        return bool(changed)

    # --- runs ---
    def create_run(self, params: dict[str, Any]) -> str:
        """Record a new run as 'starting', unless one is active (then RunActiveError)."""
        run_id = uuid.uuid4().hex[:12]
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: the check and insert are atomic
            active = db.execute(
                "SELECT id FROM runs WHERE status IN (?, ?)", ACTIVE).fetchone()
            if active:
                db.execute("ROLLBACK")
                raise RunActiveError(active["id"])
            db.execute("INSERT INTO runs (id, status, params, created_at) VALUES (?, 'starting', ?, ?)",
                       (run_id, json.dumps(params), time.time()))
            db.execute("COMMIT")
        return run_id

    def update_run(self, run_id: str, **fields: Any) -> None:
        names = ", ".join(f"{k} = ?" for k in fields)
        with self.connect() as db:
            db.execute(f"UPDATE runs SET {names} WHERE id = ?", (*fields.values(), run_id))

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(run_id)
        return _run_dict(row)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_run_dict(r) for r in rows]

    def count_runs_by_status(self) -> dict[str, int]:
        with self.connect() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())

    def request_cancel(self, run_id: str) -> dict[str, Any]:
        run = self.get_run(run_id)
        if run["status"] in ACTIVE:
            self.update_run(run_id, cancel_requested=1)
        return self.get_run(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        with self.connect() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    # --- events ---
    def add_events(self, run_id: str, events: list[tuple[str, dict[str, Any]]]) -> None:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            start = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?",
                               (run_id,)).fetchone()[0]
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [
                (run_id, start + i + 1, kind, json.dumps(data)) for i, (kind, data) in enumerate(events)])
            db.execute("COMMIT")

    def events_after(self, run_id: str, seq: int) -> list[tuple[int, str, dict[str, Any]]]:
        with self.connect() as db:
            rows = db.execute("SELECT seq, kind, data FROM events WHERE run_id = ? AND seq > ? "
                              "ORDER BY seq", (run_id, seq)).fetchall()
        return [(r["seq"], r["kind"], json.loads(r["data"])) for r in rows]

    # --- versions ---
    def add_version(self, version_id: str, path: Path, sha256: str, test_accuracy: float | None,
                    meta: dict[str, Any], run_id: str | None = None) -> None:
        with self.connect() as db:
            db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", (
                version_id, time.time(), run_id, str(path), sha256, test_accuracy, json.dumps(meta)))

    def get_version(self, version_id: str) -> dict[str, Any]:
        with self.connect() as db:
            row = db.execute("SELECT * FROM versions WHERE id = ?", (version_id,)).fetchone()
        if row is None:
            raise NotFoundError(version_id)
        return {**dict(row), "meta": json.loads(row["meta"])}

    def list_versions(self) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute("SELECT id, created_at, run_id, sha256, test_accuracy, "
                              "json_extract(meta, '$.scores') AS scores FROM versions "
                              "ORDER BY created_at DESC").fetchall()
        return [{**dict(r), "scores": json.loads(r["scores"] or "{}")} for r in rows]

    def delete_version(self, version_id: str) -> None:
        """Forget a version and remove its file. NotFoundError if there is none; VersionInUseError for
        the promoted one (checked in the same transaction as the delete, so a promotion cannot slip
        in between). A rollback that would have gone back to it has nothing to go back to any more.
        """
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT id FROM versions WHERE id = ?", (version_id,)).fetchone()
            promoted = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            if row is None or (promoted and promoted[0] == version_id):
                db.execute("ROLLBACK")
                raise NotFoundError(version_id) if row is None else VersionInUseError(version_id)
            db.execute("DELETE FROM versions WHERE id = ?", (version_id,))
            db.execute("DELETE FROM settings WHERE key = 'previous' AND value = ?", (version_id,))
            db.execute("COMMIT")
        # the row goes first: a crash in between leaves a file nothing points to, never a version
        # whose file is gone
        (self.versions_dir / f"{version_id}.npz").unlink(missing_ok=True)

    def promoted(self) -> str:
        with self.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
        return row[0] if row else DEFAULT_VERSION

    def set_promoted(self, version_id: str) -> str:
        """Promote ``version_id``; returns the version it replaces (for rollback)."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            previous = row[0] if row else DEFAULT_VERSION
            db.execute("INSERT OR REPLACE INTO settings VALUES ('promoted', ?)", (version_id,))
            db.execute("INSERT OR REPLACE INTO settings VALUES ('previous', ?)", (previous,))
            db.execute("COMMIT")
        return previous

    def previous(self) -> str | None:
        with self.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'previous'").fetchone()
        return row[0] if row else None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child that nobody reaped yet is a zombie: not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["params"] = json.loads(d["params"])
    d["cancel_requested"] = bool(d["cancel_requested"])
    return d
