"""The store: runs, their events and model versions, shared by every worker, host and run.

Every test taking ``store`` runs twice: on SQLite in the state directory and on PostgreSQL (a
throwaway cluster the tests start, a fresh database per test). ``other_host`` is a second host on
the same PostgreSQL database, with a state directory of its own (no shared disk).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.state.db import NotFoundError
from app.state.store import RunActiveError, Store
from app.state.versions import DEFAULT_VERSION, VersionFileError, valid_version_id


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Store(tmp_path / "home", url)


@pytest.fixture
def pg_store(pg_url: str, tmp_path: Path) -> Store:
    return Store(tmp_path / "host-a", pg_url)


@pytest.fixture
def other_host(pg_store: Store, tmp_path: Path) -> Store:
    return Store(tmp_path / "host-b", pg_store.database_url)


def write_version(store: Store, version_id: str, data: bytes = b"model bytes") -> str:
    """A version whose file holds ``data`` (the store does not read models); returns its SHA-256."""
    path = store.versions.folder / f"{version_id}.npz"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    store.versions.add(version_id, path, digest, 0.9, {"scores": {"held_out": {"accuracy": 0.5}}})
    return digest


def test_a_new_run_starts_and_only_one_may_be_active(store: Store) -> None:
    run_id = store.create_run({"config": {"epochs": 1}})
    run = store.get_run(run_id)
    assert run.status == "starting" and run.params == {"config": {"epochs": 1}}
    assert run.cancel_requested is False and run.pid is None
    with pytest.raises(RunActiveError, match=run_id):
        store.create_run({})
    store.update_run(run_id, status="finished")
    second = store.create_run({})
    assert [r.id for r in store.list_runs()] == [second, run_id]  # newest first
    assert store.count_runs_by_status() == {"finished": 1, "starting": 1}


def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_run("nope")
    with pytest.raises(NotFoundError):
        store.versions.get("nope")


def test_events_are_numbered_in_order_and_read_after_a_number(store: Store) -> None:
    run_id = store.create_run({})
    store.add_events(run_id, [("batch", {"loss": 2.0}), ("batch", {"loss": 1.0})])
    store.add_events(run_id, [("epoch", {"epoch": 1})])
    assert store.events_after(run_id, 0) == [
        (1, "batch", {"loss": 2.0}), (2, "batch", {"loss": 1.0}), (3, "epoch", {"epoch": 1})]
    assert store.events_after(run_id, 2) == [(3, "epoch", {"epoch": 1})]
    assert store.events_after(run_id, 3) == []


def test_ending_an_active_run_happens_once_with_its_final_event(store: Store) -> None:
    run_id = store.create_run({})
    assert store.end_if_active(run_id, "failed", "killed")
    assert not store.end_if_active(run_id, "interrupted", "too late")  # it had already ended
    run = store.get_run(run_id)
    assert (run.status, run.reason) == ("failed", "killed") and run.finished_at
    assert store.events_after(run_id, 0) == [(1, "failed", {"status": "failed", "reason": "killed"})]


def test_cancel_is_recorded_only_for_an_active_run(store: Store) -> None:
    run_id = store.create_run({})
    assert store.request_cancel(run_id).cancel_requested and store.cancel_requested(run_id)
    store.update_run(run_id, status="cancelled")
    other = store.create_run({})
    store.update_run(other, status="finished")
    assert not store.request_cancel(other).cancel_requested


def test_versions_and_the_promoted_one_with_its_previous(store: Store, tmp_path: Path) -> None:
    assert store.versions.promoted() == DEFAULT_VERSION and store.versions.previous() is None
    (tmp_path / "v1.npz").write_bytes(b"v1")
    digest = hashlib.sha256(b"v1").hexdigest()
    store.versions.add("v1", tmp_path / "v1.npz", digest, 0.97, {"seed": 1, "scores": {"x": 1}}, run_id="r1")
    record = store.versions.get("v1")
    assert (record["sha256"], record["test_accuracy"], record["meta"], record["run_id"]) == (
        digest, 0.97, {"seed": 1, "scores": {"x": 1}}, "r1")
    assert [(v["id"], v["scores"]) for v in store.versions.list()] == [("v1", {"x": 1})]
    assert store.versions.promote("v1") == DEFAULT_VERSION
    assert (store.versions.promoted(), store.versions.previous()) == ("v1", DEFAULT_VERSION)


def test_recover_interrupts_runs_whose_process_is_gone_and_removes_temp_files(store: Store) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_id = store.create_run({})
    store.update_run(run_id, status="running", pid=dead.pid)
    (store.versions.folder / ".tmp-half-written.npz").write_bytes(b"half")
    assert store.recover() == [run_id]
    assert store.get_run(run_id).status == "interrupted"
    assert list(store.versions.folder.iterdir()) == []


def test_recover_leaves_a_run_whose_process_lives(store: Store) -> None:
    run_id = store.create_run({})
    store.update_run(run_id, status="running", pid=os.getpid())
    assert store.recover() == [] and store.get_run(run_id).status == "running"


def test_rollbacks_walk_back_through_the_promotion_history(store: Store) -> None:
    from app.state.versions import HistoryChangedError, NothingToRollBackError
    from tests.app.reading.test_serving import add_version

    for name in ("a", "b", "c"):
        add_version(store, name)
    for name in ("a", "b", "a", "c"):
        store.versions.promote(name)
    assert store.versions.previous() == "a"
    with pytest.raises(HistoryChangedError):
        store.versions.roll_back(expected="b")
    steps = []
    while store.versions.previous() is not None:
        steps.append(store.versions.roll_back(expected=store.versions.previous()))
    assert steps == ["c", "a", "b", "a"] and store.versions.promoted() == DEFAULT_VERSION
    with pytest.raises(NothingToRollBackError):
        store.versions.roll_back(expected=DEFAULT_VERSION)


def test_a_worker_starting_up_leaves_a_run_another_worker_is_starting(store: Store) -> None:
    """Worker A has recorded the run and not yet its process's pid when worker B starts and
    recovers: the run is A's to start (its process beats), not a crashed one."""
    run_id = store.create_run({})
    other_worker = Store(store.home, store.database_url)
    assert other_worker.recover() == [] and other_worker.get_run(run_id).status == "starting"
    assert other_worker.silent_runs(-1) == [run_id]  # if its process never beats, the watcher ends it


@pytest.mark.parametrize("version_id, ok", [
    ("run-abc123", True), ("default", True), ("a_b-9", True), ("../etc", False), ("a/b", False),
    ("", False), ("-leading", False), ("x" * 65, False), ("abc\n", False), ("abc\ndef", False),
])
def test_version_ids_can_never_name_a_path(version_id: str, ok: bool) -> None:
    assert valid_version_id(version_id) is ok


def test_a_version_file_given_with_the_wrong_checksum_is_not_recorded(store: Store) -> None:
    (store.versions.folder / "v1.npz").write_bytes(b"one thing")
    with pytest.raises(ValueError, match="SHA-256"):
        store.versions.add("v1", store.versions.folder / "v1.npz", "ab" * 32, None, {})
    with pytest.raises(NotFoundError):
        store.versions.get("v1")


def test_recording_a_version_again_with_the_same_file_is_a_no_op(store: Store) -> None:
    # what a run does when its commit went through but the answer was lost (the database went away)
    digest = write_version(store, "v1", b"the model")
    first = store.versions.get("v1")
    store.versions.add("v1", store.versions.folder / "v1.npz", digest, 0.5, {"other": "meta"})
    assert store.versions.get("v1") == first
    (store.versions.folder / "v1.npz").write_bytes(b"another model")
    with pytest.raises(ValueError, match="exists already"):
        store.versions.add("v1", store.versions.folder / "v1.npz",
                           hashlib.sha256(b"another model").hexdigest(), 0.5, {})
    (store.versions.folder / "v1.npz").unlink()
    assert store.versions.file("v1").read_bytes() == b"the model"  # the recorded file, untouched
    with store.db.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM version_files").fetchone()[0] == 1


def test_a_missing_or_changed_copy_is_fetched_again_from_the_database(store: Store) -> None:
    write_version(store, "v1", b"the model")
    path = store.versions.folder / "v1.npz"
    path.unlink()
    assert store.versions.file("v1") == path and path.read_bytes() == b"the model"
    path.write_bytes(b"the model, changed on this disk")
    assert store.versions.file("v1").read_bytes() == b"the model"
    assert not list(store.versions.folder.glob(".tmp-*"))


def test_stored_bytes_that_do_not_match_their_checksum_are_refused(store: Store) -> None:
    write_version(store, "v1", b"the model")
    (store.versions.folder / "v1.npz").unlink()
    with store.db.write() as db:
        db.execute("UPDATE version_files SET data = ? WHERE id = ?", (b"tampered", "v1"))
    with pytest.raises(VersionFileError, match="SHA-256"):
        store.versions.file("v1")
    assert not (store.versions.folder / "v1.npz").exists()


def test_deleting_a_version_removes_its_row_bytes_and_copy(store: Store) -> None:
    write_version(store, "v1")
    store.versions.delete("v1")
    with pytest.raises(NotFoundError):
        store.versions.file("v1")
    with store.db.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM version_files").fetchone()[0] == 0
    assert not (store.versions.folder / "v1.npz").exists()


def test_feedback_rows_round_trip_on_both_databases(store: Store) -> None:
    from app.feedback.store import FeedbackStore, Submission

    feedback = FeedbackStore(store, max_count=10, max_bytes=1 << 20)
    digit = bytes(range(256)) * 3 + bytes(16)
    sub = Submission(label=3, predicted=5, model_version="default", image=b"\x89PNG...", digit28=digit,
                     strokes=[[[1.0, 2.0], [3.0, 4.0]]], client="c1")
    feedback_id, new = feedback.add(sub)
    assert new and feedback.add(sub) == (feedback_id, False)  # the same PNG: kept once
    kept = feedback.get(feedback_id)
    assert (kept.label, kept.predicted, kept.image, kept.digit28, kept.strokes) == (
        3, 5, b"\x89PNG...", digit, [[[1.0, 2.0], [3.0, 4.0]]])
    assert [feedback.count_post("c1") for _ in range(2)] == [1, 2] and feedback.count_post("c2") == 1
    assert feedback.counts()["pending"] == 1
    assert feedback.right_share(10) == {"default": {"count": 1, "right": 0.0}}
    feedback.review(feedback_id, "accepted", None)
    assert feedback.accepted().digits.tobytes() == digit


def test_one_active_run_among_many_asking_at_once(store: Store) -> None:
    """The database's unique index decides, not a check and then an insert."""
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def ask() -> None:
        barrier.wait()
        try:
            outcomes.append(store.create_run({}))
        except RunActiveError:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("refused") == 9
    assert store.count_runs_by_status() == {"starting": 1}


def test_concurrent_events_of_one_run_get_distinct_numbers(store: Store) -> None:
    run_id = store.create_run({})
    threads = [threading.Thread(target=lambda k=k: [store.add_events(run_id, [("batch", {"k": k, "i": i})])
                                                    for i in range(10)]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = store.events_after(run_id, 0)
    assert [seq for seq, _, _ in events] == list(range(1, 41))


def set_clock(store: Store, seconds: float) -> None:
    """The database's clock, as the store reads it (``db.now``), stands at ``seconds`` from now on:
    time passes when the test says so, by as much as it says."""
    with store.db.connect() as db:
        if store.db.now != "(SELECT t FROM test_clock)":
            db.execute("CREATE TABLE test_clock (t DOUBLE PRECISION)")
            db.execute("INSERT INTO test_clock (t) VALUES (0)")
            store.db.now = "(SELECT t FROM test_clock)"
        db.execute("UPDATE test_clock SET t = ?", (seconds,))


def test_a_run_that_stops_beating_is_found_silent(store: Store) -> None:
    set_clock(store, 1000.0)
    run_id = store.create_run({})  # its first beat: when it was made
    set_clock(store, 1059.0)
    assert store.silent_runs(60) == []
    set_clock(store, 1061.0)
    assert store.silent_runs(60) == [run_id]
    assert store.heartbeat(run_id) and store.silent_runs(60) == []
    set_clock(store, 1122.0)
    assert store.silent_runs(60) == [run_id]  # that beat too ages
    store.end_if_active(run_id, "interrupted", "no heartbeat")
    assert not store.heartbeat(run_id)  # the run's process learns it was ended


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hosts_starting_at_once_on_a_new_database_migrate_it_once(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Four processes start together on an empty database (four hosts on PostgreSQL, four workers
    of one host on SQLite): a migration applied twice would fail (its tables exist, its number is
    a primary key)."""
    from app.state.migrations import MIGRATIONS

    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    homes = [tmp_path / f"host-{i}" for i in range(4)] if url else [tmp_path / "home"] * 4
    started: list[Store] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def start(home: Path) -> None:
        barrier.wait()
        try:
            started.append(Store(home, url))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(home,)) for home in homes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(started) == 4
    with started[0].db.connect() as db:
        versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [number for number, *_ in MIGRATIONS]
    assert len({s.host for s in started}) == (4 if url else 1)  # one host id per state directory


def test_a_state_directory_of_the_first_release_is_migrated_with_its_versions(tmp_path: Path) -> None:
    """Made by the schema before migrations were numbered: its runs and versions stay, and its
    model files are copied into the database."""
    from app.state.migrations import FIRST

    home = tmp_path / "home"
    (home / "versions").mkdir(parents=True)
    (home / "versions" / "v1.npz").write_bytes(b"old model")
    old = sqlite3.connect(home / "digitnet.db")
    old.executescript(FIRST.format(blob="BLOB", float="REAL", bigint="INTEGER"))
    old.execute("INSERT INTO versions VALUES ('v1', 1.0, NULL, 'x', ?, 0.9, '{}')",
                (hashlib.sha256(b"old model").hexdigest(),))
    old.execute("INSERT INTO runs (id, status, params, created_at) VALUES ('r1', 'finished', '{}', 1.0)")
    old.commit()
    old.close()
    store = Store(home)
    assert store.get_run("r1").status == "finished"
    (home / "versions" / "v1.npz").unlink()
    assert store.versions.file("v1").read_bytes() == b"old model"


def test_a_second_host_sees_the_same_runs_versions_and_promotion(pg_store: Store, other_host: Store) -> None:
    assert pg_store.host != other_host.host
    run_id = pg_store.create_run({"config": {}})
    with pytest.raises(RunActiveError):
        other_host.create_run({})
    pg_store.add_events(run_id, [("batch", {"loss": 1.0})])
    assert other_host.events_after(run_id, 0) == [(1, "batch", {"loss": 1.0})]
    write_version(pg_store, "v1", b"made on host a")
    other_host.versions.promote("v1")
    assert pg_store.versions.promoted() == "v1"
    assert other_host.versions.file("v1").read_bytes() == b"made on host a"  # no shared disk


def test_recover_leaves_the_runs_of_other_hosts_to_their_heartbeat(pg_store: Store,
                                                                   other_host: Store) -> None:
    """A pid means nothing on another host: the run there may well be alive."""
    run_id = pg_store.create_run({})
    pg_store.update_run(run_id, status="running", pid=2**22 + 1)  # no such process here
    assert other_host.recover() == [] and other_host.get_run(run_id).status == "running"
    assert pg_store.recover() == [run_id]


def test_a_stopped_database_is_unavailable_then_works_again(pg_store: Store, pg_cluster) -> None:
    from app.state.db import UnavailableError

    pg_store.versions.promote("default")
    pg_cluster.stop()
    try:
        with pytest.raises(UnavailableError, match="cannot reach"):
            pg_store.versions.promoted()
    finally:
        pg_cluster.start()
    assert pg_store.versions.promoted() == "default"


def test_workers_opening_a_new_sqlite_database_at_once_all_start(tmp_path: Path) -> None:
    """Switching a new file to WAL is refused at once ("locked") to all but one of several openers,
    without waiting: before the fix, about one start in ten of four workers failed here."""
    errors: list[str] = []
    for attempt in range(50):
        home = tmp_path / f"home-{attempt}"
        barrier = threading.Barrier(4)

        def start(home: Path = home, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                Store(home)
            except Exception as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
