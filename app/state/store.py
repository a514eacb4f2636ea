"""The shared state: training runs, their events, and the model versions (app.state.versions).

The database is the one source of truth shared by every web worker, every host and the training
process: a worker never keeps state that another would need. It is SQLite in the state directory
(one host, nothing to install), or PostgreSQL when ``DIGITNET_DATABASE_URL`` names one (any number
of hosts, no shared disk): app.state.db hides the difference, app.state.migrations creates the schema.

A model version is bytes in the database with their SHA-256, and each host keeps checked copies
on its own disk (``Store.versions``, app.state.versions). A training run records the host it runs on
and a heartbeat from its process: a host that died leaves a heartbeat that stops, and any other host
then ends the run as interrupted.

    $DIGITNET_HOME/
        digitnet.db          runs, events, versions, settings, feedback (SQLite only)
        versions/<id>.npz    this host's copies of the model files (written atomically)
        host-id              this host's name in runs.host (made once)
        admin-token          the generated admin token, mode 0600 (when none is set)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from app.state.db import Connection, Database, IntegrityError, NotFoundError, UnavailableError, open_database
from app.state.migrations import migrate
from app.state.runs import ACTIVE, RunRecord
from app.state.versions import Versions


class StoreError(Exception):
    """The state directory or its database cannot be used; the message names it and what to do."""


class RunActiveError(Exception):
    """A run is already going; only one at a time."""


class Store:
    """Runs and their events, and ``versions``; every method opens its own short transaction."""

    def __init__(self, home: Path, database_url: str | None = None) -> None:
        """Open (or create) the state in ``home`` and the database (``database_url``, else SQLite in
        ``home``), migrating its schema; StoreError, saying what to do, if it cannot."""
        self.home = home
        folder = home / "versions"  # this host's copies of the model files
        try:
            folder.mkdir(parents=True, exist_ok=True)
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
        self.versions = Versions(self.db, folder)

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL URL given (with its password: for this host's own processes), else None."""
        return self.db.dsn

    def recover(self) -> list[str]:
        """After a crash: this host's runs whose process is gone are 'interrupted'; leftover temp
        files go. (Another host's runs are judged by their heartbeat: ``silent_runs``.)

        A run with no pid yet is being started by another worker of this host right now (the pid is
        recorded once its process exists): it is left to ``silent_runs``, which ends it after the
        heartbeat timeout if its process never beats."""
        self.versions.remove_temp_files()
        interrupted = []
        for run in self.list_runs(limit=1000):
            if run.active and run.host in (self.host, None) and run.pid is not None and not _alive(run.pid) \
                    and self.end_if_active(run.id, "interrupted",
                                           "the server or the training process stopped during the run"):
                interrupted.append(run.id)
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

    def get_run(self, run_id: str) -> RunRecord:
        with self.db.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError("run", run_id)
        return RunRecord.from_row(row)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [RunRecord.from_row(r) for r in rows]

    def count_runs_by_status(self) -> dict[str, int]:
        with self.db.connect() as db:
            return {r[0]: r[1] for r in db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status")
                    .fetchall()}

    def request_cancel(self, run_id: str) -> RunRecord:
        run = self.get_run(run_id)
        if run.active:
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
