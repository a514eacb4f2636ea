"""The schema, as numbered migrations that the app applies at start.

``migrate`` applies, in order, every migration the database has not had yet, recording each in
``schema_migrations``, all in one write transaction: on PostgreSQL that transaction holds the
store's advisory lock (and PostgreSQL's DDL is transactional), on SQLite it is the one writer. So
several hosts or workers starting at once apply each migration exactly once: the second one in
waits, then finds it applied. A migration is never edited once released; a change is a new one.

1. The tables of the first release (runs, events, versions, settings, feedback). They were created
   with ``IF NOT EXISTS`` before migrations were numbered, so a state directory of that time adopts
   them as they are.
2. Several hosts: the model files live in the database too (``version_files``: bytes checked
   against ``versions.sha256``; each host keeps a copy on its disk); a run records its host and a
   heartbeat; at most one run is active, enforced by a unique index over the active runs.
3. The feedback rate limit counts every post, in one statement (``feedback_posts``: per client and
   minute), instead of counting the drawings kept.
4. What the feedback store holds is kept as running totals (``feedback_totals``: drawings, bytes),
   changed in the transaction that adds or erases a drawing, so a check of the caps reads one row
   instead of the whole table; each drawing's ``size`` is what it stores (its PNG and strokes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.state.db import Connection, Database

FIRST = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, params TEXT NOT NULL, created_at {float} NOT NULL,
    started_at {float}, finished_at {float}, pid INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0,
    reason TEXT, version_id TEXT, test_accuracy {float});
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq {bigint} NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS versions (
    id TEXT PRIMARY KEY, created_at {float} NOT NULL, run_id TEXT, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, test_accuracy {float}, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY, created_at {float} NOT NULL, label INTEGER NOT NULL, predicted INTEGER,
    model_version TEXT NOT NULL, status TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE,
    image {blob} NOT NULL, digit28 {blob}, strokes TEXT, client TEXT NOT NULL, reviewed_at {float});
CREATE INDEX IF NOT EXISTS feedback_status ON feedback (status, created_at);
CREATE INDEX IF NOT EXISTS feedback_client ON feedback (client, created_at);
"""

SEVERAL_HOSTS = """
CREATE TABLE version_files (id TEXT PRIMARY KEY, data {blob} NOT NULL);
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at {float};
CREATE UNIQUE INDEX one_active_run ON runs ((1)) WHERE status IN ('starting', 'running');
"""


def _files_into_database(db: Connection, home: Path) -> None:
    """A single host's versions, until now only files in versions/, are copied into the database
    (a file that is gone stays gone: that version could not serve before either)."""
    for row in db.execute("SELECT id FROM versions").fetchall():
        path = home / "versions" / f"{row['id']}.npz"
        if path.is_file():
            db.execute("INSERT INTO version_files VALUES (?, ?)", (row["id"], path.read_bytes()))

FEEDBACK_POSTS = """
CREATE TABLE feedback_posts (
    client TEXT NOT NULL, minute {bigint} NOT NULL, posts INTEGER NOT NULL, PRIMARY KEY (client, minute));
CREATE INDEX feedback_posts_minute ON feedback_posts (minute);
"""
FEEDBACK_TOTALS = """
ALTER TABLE feedback ADD COLUMN size {bigint};
UPDATE feedback SET size = LENGTH(image) + COALESCE(LENGTH(strokes), 0);
CREATE TABLE feedback_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1), drawings {bigint} NOT NULL, bytes {bigint} NOT NULL);
INSERT INTO feedback_totals SELECT 1, COUNT(*), COALESCE(SUM(size), 0) FROM feedback;
"""

Step = Callable[[Connection, Path], None]
MIGRATIONS: list[tuple[int, str, str, Step | None]] = [
    (1, "the tables of the first release", FIRST, None),
    (2, "several hosts: model files in the database, heartbeats, one active run", SEVERAL_HOSTS,
     _files_into_database),
    (3, "the feedback rate limit counts every post", FEEDBACK_POSTS, None),
    (4, "the feedback store's running totals", FEEDBACK_TOTALS, None),
]


def migrate(database: Database, home: Path) -> list[int]:
    """Bring the schema up to date; returns the numbers of the migrations applied now."""
    applied = []
    with database.write() as db:
        db.execute(database.ddl("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                "version INTEGER PRIMARY KEY, applied_at {float} NOT NULL)"))
        done = {r[0] for r in db.execute("SELECT version FROM schema_migrations").fetchall()}
        for number, _, sql, step in MIGRATIONS:
            if number in done:
                continue
            for statement in database.ddl(sql).split(";"):
                if statement.strip():
                    db.execute(statement)
            if step is not None:
                step(db, home)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, time.time()))
            applied.append(number)
    return applied
