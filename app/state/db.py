"""The database behind the store: embedded SQLite on one host, or PostgreSQL shared by many.

Both speak the same small SQL (``?`` placeholders, the types below), so the store and the feedback
store are written once. What differs lives here:

- where the database is (a file in the state directory, or ``DIGITNET_DATABASE_URL``);
- how a write transaction that reads before it writes is kept from racing another one: SQLite has one
  writer at a time (``BEGIN IMMEDIATE``); PostgreSQL takes a transaction-scoped advisory lock, the
  same one on every host, so such transactions run one after another there too;
- the database's own clock (``NOW``: seconds since 1970 as a float), so that hosts whose clocks
  differ still agree on how old a heartbeat is;
- losing the database: PostgreSQL can go away and come back; ``UnavailableError`` says so (the web
  answers 503). A process keeps a few PostgreSQL connections open between operations, each checked
  before use, so the first operation after the database is back simply works;
- a database that stops answering: connecting gives up after ``CONNECT_TIMEOUT_S``; the server ends
  a statement past ``STATEMENT_TIMEOUT_S`` itself, and a server that answers nothing at all (stopped,
  or cut off by the network while the kernel still acknowledges) has its connection cut by this
  process ``CUT_AFTER_S`` later (``Watchdog``), so no statement waits forever. SQLite waits at most
  ``SQLITE_BUSY_S`` for another writer.

SQL types are written as ``{blob}``, ``{float}`` and ``{bigint}`` in schemas (``ddl``).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

WRITE_LOCK = 0x6469676974  # the advisory lock every PostgreSQL write transaction takes ("digit")
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_S = 10  # the server cancels a statement that runs longer (a lock wait included)
CUT_AFTER_S = STATEMENT_TIMEOUT_S + 5  # the server did not answer even that: cut the connection
SQLITE_BUSY_S = 10  # how long a SQLite statement waits for another process's write to end
KEEP_IDLE = 4  # PostgreSQL connections a process keeps open between operations


class UnavailableError(Exception):
    """The database cannot be reached now (stopped, restarting, network); try again later."""


class IntegrityError(Exception):
    """A constraint refused the write (a unique key, the one-active-run index)."""


class RefusedValueError(ValueError):
    """The database refused a value the client sent: PostgreSQL takes no NUL in text, SQLite no
    integer past 64 bits. Ids are checked before they get here (app/web/schemas/common.py); this is the
    net under those checks, so that a value missed there is a 422, not a 500."""


class NotFoundError(Exception):
    """No row with that id: no such run, version or drawing. The message names which ("no run 'x'");
    ``key`` is the id asked for."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(what, key)
        self.what, self.key = what, key

    def __str__(self) -> str:
        return f"no {self.what} {self.key!r}"


class Rows(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection:
    """One connection, in autocommit (each statement its own transaction) unless inside
    ``Database.write``. Rows can be read by column name or position."""

    def __init__(self, raw: Any, placeholder: str, integrity: type[Exception],
                 refused: tuple[type[Exception], ...],
                 guard: Callable[[Any], AbstractContextManager[Any]] = nullcontext) -> None:
        self.raw, self.placeholder, self.integrity = raw, placeholder, integrity
        self.refused, self.guard = refused, guard

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        try:
            with self.guard(self.raw):
                return self.raw.execute(self._sql(sql), tuple(params))
        except self.integrity as exc:
            raise IntegrityError(str(exc)) from exc
        except self.refused as exc:
            raise RefusedValueError(_first_line(exc)) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self.guard(self.raw):
                self.raw.cursor().executemany(self._sql(sql), rows)
        except self.integrity as exc:
            raise IntegrityError(str(exc)) from exc
        except self.refused as exc:
            raise RefusedValueError(_first_line(exc)) from exc

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)


class Database:
    """What the store needs of a database: ``connect`` (autocommit: each statement its own
    transaction) and ``write`` (one transaction, serialised with every other ``write``), ``ddl``
    for schemas, and its clock ``now``."""

    url: str  # printable: no password
    dsn: str | None = None  # PostgreSQL's URL as given, password included (for this host's processes)
    types: dict[str, str]
    now: str  # an SQL expression: the database's time, seconds since 1970

    def connect(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def ddl(self, sql: str) -> str:
        """A schema written with ``{blob}``, ``{float}``, ``{bigint}`` in this database's types."""
        return sql.format(**self.types)


class SQLiteDatabase(Database):
    """A file in the state directory, in WAL mode: readers never block the one writer."""

    types = {"blob": "BLOB", "float": "DOUBLE PRECISION", "bigint": "BIGINT"}
    now = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = str(path)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        raw = sqlite3.connect(self.path, timeout=SQLITE_BUSY_S, isolation_level=None)
        try:
            raw.row_factory = sqlite3.Row
            _wal(raw)
            raw.execute("PRAGMA synchronous=FULL")
            yield Connection(raw, "?", sqlite3.IntegrityError, (sqlite3.DataError, OverflowError))
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise UnavailableError(f"the database {self.url} stayed locked by another writer for "
                                   f"{SQLITE_BUSY_S} s") from exc
        finally:
            raw.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.connect() as db:
            db.raw.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.raw.execute("ROLLBACK")
                raise
            db.raw.execute("COMMIT")


def _wal(raw: sqlite3.Connection, wait_s: float = SQLITE_BUSY_S) -> None:
    """Put the database in WAL mode, once (the mode is kept in the file). Switching waits for no
    busy handler: several workers opening a new database at once are told "locked" at once, so
    the switch is tried again until one of them has made it."""
    deadline = time.monotonic() + wait_s
    while raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            raw.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class PostgresDatabase(Database):
    """A PostgreSQL database given by URL (psycopg 3, the ``postgres`` extra)."""

    types = {"blob": "BYTEA", "float": "DOUBLE PRECISION", "bigint": "BIGINT"}
    now = "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ImportError("DIGITNET_DATABASE_URL names PostgreSQL, which needs psycopg: "
                              "pip install 'digitnet[postgres]'") from exc
        self.psycopg = psycopg
        self.dsn = url
        self.url = _without_password(url)
        self.idle: list[Any] = []  # kept between operations: a new one costs far more than a check
        self.lock = threading.Lock()
        self.watchdog = Watchdog(CUT_AFTER_S)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        psycopg = self.psycopg
        raw = self._checkout()
        try:
            yield Connection(raw, "%s", psycopg.IntegrityError, (psycopg.DataError,), self.watchdog.watch)
        except psycopg.OperationalError as exc:  # the server went away mid-way
            raise UnavailableError(f"lost the database {self.url}: {_first_line(exc)}") from exc
        finally:
            self._checkin(raw)

    def _checkout(self) -> Any:
        """An idle connection that still answers a ``SELECT 1`` (a server restart leaves the kept
        ones dead; the check costs a small part of a new connection: docs/performance.md), else a new one."""
        psycopg = self.psycopg
        while True:
            with self.lock:
                raw = self.idle.pop() if self.idle else None
            if raw is None:
                break
            try:
                with self.watchdog.watch(raw):
                    raw.execute("SELECT 1")
                return raw
            except psycopg.Error:
                raw.close()
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                   options=f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000}",
                                   row_factory=_row_factory)
        except psycopg.OperationalError as exc:
            raise UnavailableError(f"cannot reach the database {self.url}: {_first_line(exc)}") from exc

    def _checkin(self, raw: Any) -> None:
        """Keep the connection for the next operation if it is whole and idle (not in a transaction
        left open by an error), and fewer than KEEP_IDLE are kept; else close it."""
        idle = raw.info.transaction_status == self.psycopg.pq.TransactionStatus.IDLE
        with self.lock:
            if not raw.closed and not raw.broken and idle and len(self.idle) < KEEP_IDLE:
                self.idle.append(raw)
                return
        raw.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.connect() as db, db.raw.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            yield db


class Watchdog:
    """Cuts a PostgreSQL connection whose statement has waited ``after_s`` seconds for an answer.

    The server's ``statement_timeout`` ends what it runs too long, but a server that answers nothing
    (stopped, or cut off while the kernel still acknowledges every packet) cannot end anything, and
    libpq waits on its socket for ever. One thread per database looks twice a second for statements
    past their time and shuts their socket down: the waiting statement then fails at once as a lost
    connection (``UnavailableError``), and the broken connection is closed, not kept.
    """

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.due: dict[int, tuple[float, Any]] = {}  # id(connection) -> (deadline, connection)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @contextmanager
    def watch(self, raw: Any) -> Iterator[None]:
        with self.lock:
            self.due[id(raw)] = (time.monotonic() + self.after_s, raw)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.due.pop(id(raw), None)

    def _run(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self.lock:
                if not self.due:  # nothing to watch: the next statement starts a new thread
                    self.thread = None
                    return
                late = [raw for deadline, raw in self.due.values() if deadline < now]
            for raw in late:
                _shut_down(raw)


def _shut_down(raw: Any) -> None:
    """End the connection's socket under libpq (a copy of the descriptor: libpq still owns its own,
    and closes it when the connection is closed)."""
    try:
        with socket.socket(fileno=os.dup(raw.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # closed meanwhile (OSError, or the driver's own error): nothing left to cut
        pass


class Row(tuple):  # type: ignore[type-arg]
    """A row read by position (``row[0]``) or by column name (``row["id"]``), like sqlite3.Row."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self.names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}
    row_type = type("Row", (Row,), {"names": names})
    return lambda values: row_type(values)


def open_database(home: Path, url: str | None) -> Database:
    """PostgreSQL when ``url`` is given (``postgresql://...``), else SQLite in ``home``."""
    if url:
        return PostgresDatabase(url)
    return SQLiteDatabase(home / "digitnet.db")


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
