"""Model versions in the shared state: each one a model file's bytes with their SHA-256, and which
version serves (the promoted one) and which served before it, latest last (the history a rollback
walks back through).

The bytes live in the database (``versions`` and ``version_files``), so every host can have them;
each host keeps a copy on its own disk, in its state directory's ``versions/``, checked against the
SHA-256 before it is served and fetched again when it is missing or changed. ``Store.versions`` is
the one ``Versions`` of a state directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from app.state.db import Database, NotFoundError
from model.files import atomic_write

VERSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DEFAULT_VERSION = "default"  # the shipped weights: what serves until a version is promoted


HISTORY_KEPT = 50  # promotions remembered for rollbacks


class VersionInUseError(Exception):
    """The version is promoted: it cannot be deleted."""


class NothingToRollBackError(Exception):
    """No version served before the promoted one (or those that did were deleted since)."""


class HistoryChangedError(Exception):
    """Another promotion or rollback came between the check of a rollback's target and the rollback."""


class VersionFileError(Exception):
    """A version's model file cannot be had here: not in the database, not matching its SHA-256, or
    not writable on this host's disk."""


def valid_version_id(version_id: str) -> bool:
    """Letters, digits, '-' and '_' only: an id can never name a path outside versions/."""
    return VERSION_ID.fullmatch(version_id) is not None  # not .match: "$" also matches before a final "\n"


class Versions:
    """The versions in ``db``, with this host's copies of their files in ``folder``; every method
    opens its own short transaction."""

    def __init__(self, db: Database, folder: Path) -> None:
        self.db, self.folder = db, folder

    def add(self, version_id: str, path: Path, sha256: str, test_accuracy: float | None,
            meta: dict[str, Any], run_id: str | None = None) -> None:
        """Record the model file at ``path`` (this host's copy, already written) as a version: its
        bytes go into the database with the row, in one transaction.

        Safe to try again: a run retries while the database is away, and a commit can succeed
        with its answer lost on the way back; the same version with the same bytes is then already
        there, and that is success. Another file under that id is a ValueError.
        """
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"{path} does not match the SHA-256 given for version {version_id}")
        with self.db.write() as db:
            _insert(db, version_id, data, sha256, test_accuracy, meta, run_id)

    def offer(self, version_id: str, path: Path, test_accuracy: float | None, meta: dict[str, Any]) -> bool:
        """A model file shipped beside the default one (``DIGITNET_EXTRA_MODELS``) as a version the
        admin may promote. Each file is offered once: a version the admin deleted is not offered
        again at the next start, nor a file whose id another file holds. True if added now."""
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        offered = f"offered:{version_id}:{sha256}"
        with self.db.write() as db:
            if db.execute("SELECT 1 FROM settings WHERE key = ?", (offered,)).fetchone() is not None:
                return False
            _set(db, offered, str(time.time()))
            try:
                _insert(db, version_id, data, sha256, test_accuracy, meta, None)
            except ValueError:  # the id is another file's: keep it, offer nothing
                return False
        return True

    def get(self, version_id: str) -> dict[str, Any]:
        with self.db.connect() as db:
            row = db.execute("SELECT * FROM versions WHERE id = ?", (version_id,)).fetchone()
        if row is None:
            raise NotFoundError("version", version_id)
        return {**dict(row), "meta": json.loads(row["meta"])}

    def file(self, version_id: str) -> Path:
        """This host's copy of a version's model file, checked against its recorded SHA-256; fetched
        from the database (and written atomically) when it is missing or does not match.
        NotFoundError if there is no such version; VersionFileError if the database's bytes do not
        match either."""
        sha256 = self.get(version_id)["sha256"]
        path = self.folder / f"{version_id}.npz"
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                return path
        except OSError:
            pass
        with self.db.connect() as db:
            row = db.execute("SELECT data FROM version_files WHERE id = ?", (version_id,)).fetchone()
        if row is None:
            raise VersionFileError(f"version {version_id}: its model file is not in the database")
        data = bytes(row["data"])
        if hashlib.sha256(data).hexdigest() != sha256:
            raise VersionFileError(f"version {version_id}: its stored model file does not match its "
                                   "recorded SHA-256")
        try:
            with atomic_write(path, ".tmp-", ".npz") as f:  # remove_temp_files clears leftover .tmp-*
                f.write(data)
        except OSError as exc:
            raise VersionFileError(f"version {version_id}: cannot write its file here ({exc.strerror})") \
                from exc
        return path

    def list(self) -> list[dict[str, Any]]:
        """Every version, newest first, with its scores (not its whole metadata)."""
        with self.db.connect() as db:
            rows = db.execute("SELECT id, created_at, run_id, sha256, test_accuracy, meta FROM versions "
                              "ORDER BY created_at DESC").fetchall()
        return [{k: r[k] for k in ("id", "created_at", "run_id", "sha256", "test_accuracy")}
                | {"scores": json.loads(r["meta"]).get("scores") or {}} for r in rows]

    def delete(self, version_id: str) -> None:
        """Forget a version and remove its file. NotFoundError if there is none; VersionInUseError for
        the promoted one (checked in the same transaction as the delete, so a promotion cannot slip
        in between). It leaves the promotion history: a rollback goes back past it.
        """
        with self.db.write() as db:
            row = db.execute("SELECT id FROM versions WHERE id = ?", (version_id,)).fetchone()
            promoted = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            if row is None:
                raise NotFoundError("version", version_id)
            if promoted and promoted[0] == version_id:
                raise VersionInUseError(version_id)
            db.execute("DELETE FROM versions WHERE id = ?", (version_id,))
            db.execute("DELETE FROM version_files WHERE id = ?", (version_id,))
            # its report made late, its held-out figures computed again since (app.reports.compute)
            for key in (f"report:{version_id}", f"report:held-out:{version_id}"):
                db.execute("DELETE FROM settings WHERE key = ?", (key,))
            _set_history(db, [v for v in _history(db) if v != version_id])
        # the row goes first: a crash in between leaves a file nothing points to, never a version
        # whose file is gone (other hosts' copies are left: nothing will serve them)
        (self.folder / f"{version_id}.npz").unlink(missing_ok=True)

    def remove_temp_files(self) -> None:
        """Copies that a crash left half written (``file`` writes under a temporary name first)."""
        for leftover in self.folder.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)

    def promoted(self) -> str:
        with self.db.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
        return row[0] if row else DEFAULT_VERSION

    def promote(self, version_id: str) -> str:
        """Promote ``version_id``; returns the version it replaces, which joins the history."""
        with self.db.write() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            replaced = row[0] if row else DEFAULT_VERSION
            history = _history(db)
            if replaced != version_id and history[-1:] != [replaced]:
                history.append(replaced)
            _set(db, "promoted", version_id)
            _set_history(db, history)
        return replaced

    def previous(self) -> str | None:
        """The version a rollback would serve: the one that served before the promoted one."""
        with self.db.connect() as db:
            history = _history(db)
        return history[-1] if history else None

    def roll_back(self, expected: str) -> str:
        """Serve again the version that served before the promoted one, and leave it out of the
        history: a second rollback goes further back, never forward again. ``expected`` is what the
        caller checked it can serve (HistoryChangedError if another promotion came in between);
        returns the version it replaces."""
        with self.db.write() as db:
            history = _history(db)
            if not history:
                raise NothingToRollBackError()
            if history[-1] != expected:
                raise HistoryChangedError(history[-1])
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            _set(db, "promoted", history.pop())
            _set_history(db, history)
        return row[0] if row else DEFAULT_VERSION


def _insert(db: Any, version_id: str, data: bytes, sha256: str, test_accuracy: float | None,
            meta: dict[str, Any], run_id: str | None) -> None:
    """The version's row and its file's bytes; nothing if the same file is there under that id
    already, a ValueError if another one is."""
    known = db.execute("SELECT sha256 FROM versions WHERE id = ?", (version_id,)).fetchone()
    if known is not None:
        if known["sha256"] != sha256:
            raise ValueError(f"version {version_id} exists already, with another model file")
        return
    db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", (
        version_id, time.time(), run_id, f"versions/{version_id}.npz", sha256, test_accuracy,
        json.dumps(meta)))
    db.execute("INSERT INTO version_files VALUES (?, ?)", (version_id, data))


def _set(db: Any, key: str, value: str) -> None:
    db.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               (key, value))


def _history(db: Any) -> list[str]:
    """The versions that served before the promoted one, oldest first. A state directory from before
    the history was kept has only the one before ('previous')."""
    row = db.execute("SELECT value FROM settings WHERE key = 'history'").fetchone()
    if row is not None:
        return list(json.loads(row[0]))
    row = db.execute("SELECT value FROM settings WHERE key = 'previous'").fetchone()
    return [row[0]] if row else []


def _set_history(db: Any, history: list[str]) -> None:
    _set(db, "history", json.dumps(history[-HISTORY_KEPT:]))
    db.execute("DELETE FROM settings WHERE key = 'previous'")  # the history says it now
