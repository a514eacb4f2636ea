"""The shared state: training runs, their events, model versions and which one is promoted.

The database is the one source of truth shared by every web worker, every host and the training
process: a worker never keeps state that another would need. It is SQLite in the state directory
(one host, nothing to install), or PostgreSQL when ``DIGITNET_DATABASE_URL`` names one (any number
of hosts, no shared disk): app.db hides the difference, app.migrations creates the schema.

A model version is bytes in the database with their SHA-256; each host keeps a copy on its own disk
(``versions/``), checked against the SHA-256 before it serves, and fetched again when missing or
changed. A training run records the host it runs on and a heartbeat from its process: a host that
died leaves a heartbeat that stops, and any other host then ends the run as interrupted.

    $DIGITNET_HOME/
        digitnet.db          runs, events, versions, settings, feedback (SQLite only)
        versions/<id>.npz    this host's copies of the model files (written atomically)
        host-id              this host's name in runs.host (made once)
        admin-token          the generated admin token, mode 0600 (when none is set)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from app.db import Connection, Database, IntegrityError, UnavailableError, open_database
from app.migrations import migrate
from model.files import atomic_write

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


class VersionFileError(Exception):
    """A version's model file cannot be had here: not in the database, not matching its SHA-256, or
    not writable on this host's disk."""


def valid_version_id(version_id: str) -> bool:
    """Letters, digits, '-' and '_' only: an id can never name a path outside versions/."""
    return VERSION_ID.fullmatch(version_id) is not None  # not .match: "$" also matches before a final "\n"


class Store:
    """Runs, events and versions; every method opens its own short transaction."""

    def __init__(self, home: Path, database_url: str | None = None) -> None:
        """Open (or create) the state in ``home`` and the database (``database_url``, else SQLite in
        ``home``), migrating its schema; StoreError, saying what to do, if it cannot."""
        self.home = home
        self.versions_dir = home / "versions"
        try:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            self.host = _host_id(home)
        except OSError as exc:
            raise StoreError(f"cannot use the state directory {home} ({exc.strerror}); set DIGITNET_HOME "
                             "to a directory this user can write") from exc
        try:
            self.db: Database = open_database(home, database_url)
        except ImportError as exc:  # PostgreSQL asked for, psycopg not installed
            raise StoreError(str(exc)) from exc
        try:
            migrate(self.db, home)
        except sqlite3.DatabaseError as exc:  # also OperationalError: unwritable, locked, a directory
            raise StoreError(f"cannot use the database {self.db.url} ({exc}); if it is damaged, move it "
                             "away to start afresh (its runs and versions are then forgotten)") from exc
        except UnavailableError as exc:
            raise StoreError(f"{exc}; start it, or check DIGITNET_DATABASE_URL") from exc

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL URL given (with its password: for this host's own processes), else None."""
        return self.db.dsn

    def recover(self) -> list[str]:
        """After a crash: this host's runs whose process is gone are 'interrupted'; leftover temp
        files go. (Another host's runs are judged by their heartbeat: ``silent_runs``.)"""
        for leftover in self.versions_dir.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)
        interrupted = []
        for run in self.list_runs(limit=1000):
            if run["status"] in ACTIVE and run["host"] in (self.host, None) and not _alive(run["pid"]) \
                    and self.end_if_active(run["id"], "interrupted",
                                           "the server or the training process stopped during the run"):
                interrupted.append(run["id"])
        return interrupted

    def silent_runs(self, timeout_s: float) -> list[str]:
        """The active runs whose process has written no heartbeat for ``timeout_s`` seconds, by the
        database's clock (hosts' own clocks may differ): their host died or lost the database."""
        with self.db.connect() as db:
            rows = db.execute(
                f"SELECT id FROM runs WHERE status IN (?, ?) AND "
                f"COALESCE(heartbeat_at, created_at) < {self.db.now} - ?", (*ACTIVE, timeout_s)).fetchall()
        return [r["id"] for r in rows]

    def heartbeat(self, run_id: str) -> bool:
        """The run's process is alive; False if the run is no longer active (ended elsewhere)."""
        with self.db.connect() as db:
            return db.execute(f"UPDATE runs SET heartbeat_at = {self.db.now} "
                              "WHERE id = ? AND status IN (?, ?)", (run_id, *ACTIVE)).rowcount > 0

    def end_if_active(self, run_id: str, status: str, reason: str | None, **fields: Any) -> bool:
        """End a run that is still starting or running: its final status (with ``fields``, e.g. the
        version it made) and its final event, in one transaction; False if it had already ended
        (its own process, or a host that heard no heartbeat, said how, first)."""
        names = "".join(f", {k} = ?" for k in fields)
        with self.db.write() as db:
            changed = db.execute(
                f"UPDATE runs SET status = ?, reason = ?, finished_at = ?{names} WHERE id = ? "
                "AND status IN (?, ?)", (status, reason, time.time(), *fields.values(), run_id, *ACTIVE)
            ).rowcount
            if changed:
                _insert_events(db, run_id, [(status, {"status": status, "reason": reason, **fields})])
        return bool(changed)

    # --- runs ---
    def create_run(self, params: dict[str, Any]) -> str:
        """Record a new run as 'starting' on this host, unless one is active on any host (then
        RunActiveError): the database's unique index over active runs refuses a second one, so two
        hosts asking at once cannot both succeed."""
        run_id = uuid.uuid4().hex[:12]
        try:
            with self.db.connect() as db:
                db.execute(f"INSERT INTO runs (id, status, params, created_at, host, heartbeat_at) "
                           f"VALUES (?, 'starting', ?, ?, ?, {self.db.now})",
                           (run_id, json.dumps(params), time.time(), self.host))
        except IntegrityError:
            with self.db.connect() as db:
                active = db.execute("SELECT id FROM runs WHERE status IN (?, ?)", ACTIVE).fetchone()
            raise RunActiveError(active["id"] if active else "another run") from None
        return run_id

    def update_run(self, run_id: str, **fields: Any) -> None:
        names = ", ".join(f"{k} = ?" for k in fields)
        with self.db.connect() as db:
            db.execute(f"UPDATE runs SET {names} WHERE id = ?", (*fields.values(), run_id))

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.db.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(run_id)
        return _run_dict(row)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_run_dict(r) for r in rows]

    def count_runs_by_status(self) -> dict[str, int]:
        with self.db.connect() as db:
            return {r[0]: r[1] for r in db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status")
                    .fetchall()}

    def request_cancel(self, run_id: str) -> dict[str, Any]:
        run = self.get_run(run_id)
        if run["status"] in ACTIVE:
            self.update_run(run_id, cancel_requested=1)
        return self.get_run(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        with self.db.connect() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    # --- events ---
    def add_events(self, run_id: str, events: list[tuple[str, dict[str, Any]]]) -> None:
        with self.db.write() as db:
            _insert_events(db, run_id, events)

    def events_after(self, run_id: str, seq: int) -> list[tuple[int, str, dict[str, Any]]]:
        with self.db.connect() as db:
            rows = db.execute("SELECT seq, kind, data FROM events WHERE run_id = ? AND seq > ? "
                              "ORDER BY seq", (run_id, seq)).fetchall()
        return [(r["seq"], r["kind"], json.loads(r["data"])) for r in rows]

    # --- versions ---
    def add_version(self, version_id: str, path: Path, sha256: str, test_accuracy: float | None,
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
            known = db.execute("SELECT sha256 FROM versions WHERE id = ?", (version_id,)).fetchone()
            if known is not None:
                if known["sha256"] != sha256:
                    raise ValueError(f"version {version_id} exists already, with another model file")
                return
            db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)", (
                version_id, time.time(), run_id, f"versions/{version_id}.npz", sha256, test_accuracy,
                json.dumps(meta)))
            db.execute("INSERT INTO version_files VALUES (?, ?)", (version_id, data))

    def get_version(self, version_id: str) -> dict[str, Any]:
        with self.db.connect() as db:
            row = db.execute("SELECT * FROM versions WHERE id = ?", (version_id,)).fetchone()
        if row is None:
            raise NotFoundError(version_id)
        return {**dict(row), "meta": json.loads(row["meta"])}

    def version_file(self, version_id: str) -> Path:
        """This host's copy of a version's model file, checked against its recorded SHA-256; fetched
        from the database (and written atomically) when it is missing or does not match.
        NotFoundError if there is no such version; VersionFileError if the database's bytes do not
        match either."""
        sha256 = self.get_version(version_id)["sha256"]
        path = self.versions_dir / f"{version_id}.npz"
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
            with atomic_write(path, ".tmp-", ".npz") as f:  # recover() removes leftover .tmp-*
                f.write(data)
        except OSError as exc:
            raise VersionFileError(f"version {version_id}: cannot write its file here ({exc.strerror})") \
                from exc
        return path

    def list_versions(self) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute("SELECT id, created_at, run_id, sha256, test_accuracy, meta FROM versions "
                              "ORDER BY created_at DESC").fetchall()
        return [{k: r[k] for k in ("id", "created_at", "run_id", "sha256", "test_accuracy")}
                | {"scores": json.loads(r["meta"]).get("scores") or {}} for r in rows]

    def delete_version(self, version_id: str) -> None:
        """Forget a version and remove its file. NotFoundError if there is none; VersionInUseError for
        the promoted one (checked in the same transaction as the delete, so a promotion cannot slip
        in between). A rollback that would have gone back to it has nothing to go back to any more.
        """
        with self.db.write() as db:
            row = db.execute("SELECT id FROM versions WHERE id = ?", (version_id,)).fetchone()
            promoted = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            if row is None:
                raise NotFoundError(version_id)
            if promoted and promoted[0] == version_id:
                raise VersionInUseError(version_id)
            db.execute("DELETE FROM versions WHERE id = ?", (version_id,))
            db.execute("DELETE FROM version_files WHERE id = ?", (version_id,))
            db.execute("DELETE FROM settings WHERE key = 'previous' AND value = ?", (version_id,))
        # the row goes first: a crash in between leaves a file nothing points to, never a version
        # whose file is gone (other hosts' copies are left: nothing will serve them)
        (self.versions_dir / f"{version_id}.npz").unlink(missing_ok=True)

    def promoted(self) -> str:
        with self.db.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
        return row[0] if row else DEFAULT_VERSION

    def set_promoted(self, version_id: str) -> str:
        """Promote ``version_id``; returns the version it replaces (for rollback)."""
        with self.db.write() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'promoted'").fetchone()
            previous = row[0] if row else DEFAULT_VERSION
            for key, value in (("promoted", version_id), ("previous", previous)):
                db.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                           "value = excluded.value", (key, value))
        return previous

    def previous(self) -> str | None:
        with self.db.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = 'previous'").fetchone()
        return row[0] if row else None


def _insert_events(db: Connection, run_id: str, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Number the events after the run's last one (inside a write transaction: no two writers take
    the same numbers)."""
    start = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [
        (run_id, start + i + 1, kind, json.dumps(data)) for i, (kind, data) in enumerate(events)])


def _host_id(home: Path) -> str:
    """This host's name in ``runs.host``: made once, kept in the state directory (two hosts never
    share one; one host keeps its name across restarts)."""
    path = home / "host-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        tmp = home / f".host-id-{uuid.uuid4().hex}"
        tmp.write_text(f"{os.uname().nodename[:40]}-{uuid.uuid4().hex[:8]}\n")
        try:  # whole or not at all, and the first of several workers starting at once wins
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()


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


def _run_dict(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["params"] = json.loads(d["params"])
    d["cancel_requested"] = bool(d["cancel_requested"])
    return d
