"""The tests' own PostgreSQL (tests/postgres.py): it answers, databases are apart, it stops and comes back."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.postgres import Cluster, ClusterError, find_bindir


def test_the_cluster_answers_on_its_own_port_and_socket(pg_cluster: Cluster) -> None:
    with psycopg.connect(pg_cluster.url) as connection:
        port, socket_dir, user = connection.execute(
            "SELECT current_setting('port'), current_setting('unix_socket_directories'), current_user"
        ).fetchone()
    assert int(port) == pg_cluster.port
    assert socket_dir == str(pg_cluster.root)  # never the system's /var/run/postgresql
    assert user == "postgres"


def test_each_test_gets_a_database_of_its_own(pg_cluster: Cluster, pg_url: str) -> None:
    other = "test_each_test_other"
    pg_cluster.create_database(other)
    try:
        with psycopg.connect(pg_url) as connection:
            connection.execute("CREATE TABLE drawings (digit int)")
            connection.execute("INSERT INTO drawings VALUES (7)")
        with psycopg.connect(pg_cluster.dsn(other)) as connection:
            missing = connection.execute("SELECT to_regclass('drawings')").fetchone()
        assert missing == (None,)
    finally:
        pg_cluster.drop_database(other)


def test_a_database_is_dropped_even_while_connected_to(pg_cluster: Cluster) -> None:
    pg_cluster.create_database("test_dropped_while_open")
    with psycopg.connect(pg_cluster.dsn("test_dropped_while_open")) as held_open:
        pg_cluster.drop_database("test_dropped_while_open")
        with pytest.raises(psycopg.OperationalError):
            held_open.execute("SELECT 1")
    with psycopg.connect(pg_cluster.url) as connection:
        names = connection.execute("SELECT datname FROM pg_database").fetchall()
    assert ("test_dropped_while_open",) not in names


def test_stop_refuses_connections_and_start_brings_the_data_back(pg_cluster: Cluster, pg_url: str) -> None:
    with psycopg.connect(pg_url) as connection:
        connection.execute("CREATE TABLE drawings (digit int)")
        connection.execute("INSERT INTO drawings VALUES (3), (8)")
    port = pg_cluster.port
    pg_cluster.stop()
    try:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg_url, connect_timeout=5)
    finally:
        pg_cluster.start()
    assert pg_cluster.port == port
    with psycopg.connect(pg_url) as connection:
        assert connection.execute("SELECT digit FROM drawings ORDER BY digit").fetchall() == [(3,), (8,)]


def test_stop_cuts_open_connections(pg_cluster: Cluster, pg_url: str) -> None:
    with psycopg.connect(pg_url) as connection:
        pg_cluster.stop()
        try:
            with pytest.raises(psycopg.OperationalError):
                connection.execute("SELECT 1")
        finally:
            pg_cluster.start()


def test_the_highest_major_version_is_chosen(tmp_path: Path) -> None:
    for major in ("9.6", "13", "15", "not-a-version"):
        (tmp_path / major / "bin").mkdir(parents=True)
        (tmp_path / major / "bin" / "initdb").touch()
    (tmp_path / "16" / "bin").mkdir(parents=True)  # a client-only install: no initdb
    assert find_bindir(tmp_path, pg_config=None) == tmp_path / "15" / "bin"


def test_no_server_programs_name_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="apt-get install postgresql"):
        find_bindir(tmp_path, pg_config=None)


def test_a_failed_start_shows_the_servers_log_and_destroy_removes_the_directory() -> None:
    cluster = Cluster(max_connections=-1)  # initdb is content, the server refuses it at start
    try:
        with pytest.raises(ClusterError, match="max_connections"):
            cluster.start()
        assert not cluster.running
    finally:
        root = cluster.root
        cluster.destroy()
    assert root is not None and not root.exists()
