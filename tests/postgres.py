"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, its own port, gone after.

The tests need no server running beforehand. ``Cluster.start()`` makes a data directory with
``initdb`` and starts a server on a free port of 127.0.0.1, its Unix socket inside the same
temporary directory (never the system's /var/run/postgresql). ``stop()`` and ``start()`` again keep
the data and the port, so a test can take the database away under load and bring it back;
``destroy()`` stops the server and removes the directory.

PostgreSQL refuses to run as root, and the tests run as root here and in CI: then the server's
programs run as the ``postgres`` user (Debian's package creates it) through ``runuser``, and the
temporary directory belongs to that user. As anyone else they run directly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

# Debian installs each server major version's programs in /usr/lib/postgresql/<major>/bin
LIB_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """The cluster could not be found, created or started; the message says why."""


def find_bindir(lib_root: Path = LIB_ROOT, pg_config: str | None = "pg_config") -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    The highest major version under ``lib_root`` (Debian's layout), else what ``pg_config --bindir``
    names; ``pg_config=None`` skips that second place.
    """
    found = []
    for initdb in lib_root.glob("*/bin/initdb"):
        try:  # "15", "9.6": compared as numbers, so 15 beats 9.6
            version = tuple(int(part) for part in initdb.parents[1].name.split("."))
        except ValueError:
            continue
        found.append((version, initdb.parent))
    if found:
        return max(found)[1]
    if pg_config and (executable := shutil.which(pg_config)):
        answer = subprocess.run([executable, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(answer.stdout.strip())
        if answer.returncode == 0 and (bindir / "initdb").is_file():
            return bindir
    raise ClusterError(f"no PostgreSQL server programs (initdb) under {lib_root}/<major>/bin nor in "
                       "pg_config --bindir: install them with `apt-get install postgresql`")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL server of its own: a temporary data directory, a port, the ``postgres`` superuser.

    Parameters
    ----------
    bindir : the server programs' directory; found with ``find_bindir()`` if not given.
    max_connections : room for two app hosts with several workers each, plus the tests' own.
    """

    def __init__(self, bindir: Path | None = None, max_connections: int = 200) -> None:
        self.bindir = bindir if bindir is not None else find_bindir()
        self.max_connections = max_connections
        self.as_root = os.geteuid() == 0
        self.root: Path | None = None  # the temporary directory, made by the first start()
        self.port: int | None = None
        self.running = False

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "the cluster was never started"
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None, "the cluster was never started"
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database, the one that is always there."""
        return self.dsn("postgres")

    def dsn(self, dbname: str) -> str:
        assert self.port is not None, "the cluster was never started"
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Start the server, creating the cluster the first time; after stop(), the same data and port."""
        if self.running:
            return
        if self.root is None:
            self._create()
        try:
            self._run("pg_ctl", "start", "--wait", "--timeout=60", "-D", self.data_dir, "-l", self.log_file)
        except ClusterError as error:
            raise ClusterError(f"{error}\nlast lines of {self.log_file}:\n{self._log_tail()}") from None
        self.running = True

    def stop(self) -> None:
        """Stop the server in fast mode: open connections are cut, committed data stays."""
        if self.running:
            self._run("pg_ctl", "stop", "--wait", "--mode=fast", "-D", self.data_dir)
            self.running = False

    def pause(self) -> None:
        """Stop every server process with SIGSTOP, as a network partition looks to a client: its
        connections stay open and the kernel still acknowledges, but nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo ``pause`` (harmless if the server was not paused)."""
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):  # a child that ended since it was listed
                os.kill(pid, signum)

    def _pids(self) -> list[int]:
        """The postmaster (the first line of postmaster.pid) and its children; none when stopped."""
        if not self.running:
            return []
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:  # "pid (name) state ppid ...": the name may hold spaces, so split after its ")"
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def destroy(self) -> None:
        """Stop the server and remove the temporary directory with everything in it."""
        try:
            self.stop()
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def create_database(self, name: str) -> None:
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop it even if connections are still open (a test's pool, a server it started)."""
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _execute(self, statement: sql.Composed) -> None:
        # CREATE and DROP DATABASE cannot run inside a transaction
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(statement)

    def _create(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="digitnet-pg-"))
        if self.as_root:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", self.data_dir, "--auth=trust", f"--username={SERVER_USER}",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        self.port = free_port()
        # Written into the cluster's own configuration, so that a restart finds the same port.
        # Durability is off: a throwaway cluster has nothing to lose, and it makes every commit faster.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:  # appending keeps the file's owner
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))

    def _run(self, program: str, *args: str | Path) -> None:
        command = [str(self.bindir / program), *map(str, args)]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        # cwd: the server's user may not be allowed into the directory the tests run from
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = done.stderr.strip() or done.stdout.strip()
            raise ClusterError(f"{program} failed ({done.returncode}): {output}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"
