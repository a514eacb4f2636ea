"""The store: runs, their events and model versions in SQLite, shared by every worker and the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import DEFAULT_VERSION, NotFoundError, RunActiveError, Store, valid_version_id


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def test_a_new_run_starts_and_only_one_may_be_active(store: Store) -> None:
    run_id = store.create_run({"config": {"epochs": 1}})
    run = store.get_run(run_id)
    assert run["status"] == "starting" and run["params"] == {"config": {"epochs": 1}}
    assert run["cancel_requested"] is False and run["pid"] is None
    with pytest.raises(RunActiveError, match=run_id):
        store.create_run({})
    store.update_run(run_id, status="finished")
    second = store.create_run({})
    assert [r["id"] for r in store.list_runs()] == [second, run_id]  # newest first
    assert store.count_runs_by_status() == {"finished": 1, "starting": 1}


def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_run("nope")
    with pytest.raises(NotFoundError):
        store.get_version("nope")


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
    assert (run["status"], run["reason"]) == ("failed", "killed") and run["finished_at"]
    assert store.events_after(run_id, 0) == [(1, "failed", {"status": "failed", "reason": "killed"})]


def test_cancel_is_recorded_only_for_an_active_run(store: Store) -> None:
    run_id = store.create_run({})
    assert store.request_cancel(run_id)["cancel_requested"] and store.cancel_requested(run_id)
    store.update_run(run_id, status="cancelled")
    other = store.create_run({})
    store.update_run(other, status="finished")
    assert not store.request_cancel(other)["cancel_requested"]


def test_versions_and_the_promoted_one_with_its_previous(store: Store, tmp_path: Path) -> None:
    assert store.promoted() == DEFAULT_VERSION and store.previous() is None
    store.add_version("v1", tmp_path / "v1.npz", "ab" * 32, 0.97, {"seed": 1}, run_id="r1")
    record = store.get_version("v1")
    assert (record["sha256"], record["test_accuracy"], record["meta"], record["run_id"]) == (
        "ab" * 32, 0.97, {"seed": 1}, "r1")
    assert [v["id"] for v in store.list_versions()] == ["v1"]
    assert store.set_promoted("v1") == DEFAULT_VERSION
    assert (store.promoted(), store.previous()) == ("v1", DEFAULT_VERSION)


def test_recover_interrupts_runs_whose_process_is_gone_and_removes_temp_files(store: Store) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_id = store.create_run({})
    store.update_run(run_id, status="running", pid=dead.pid)
    (store.versions_dir / ".tmp-half-written.npz").write_bytes(b"half")
    assert store.recover() == [run_id]
    assert store.get_run(run_id)["status"] == "interrupted"
    assert list(store.versions_dir.iterdir()) == []


def test_recover_leaves_a_run_whose_process_lives(store: Store) -> None:
    run_id = store.create_run({})
    store.update_run(run_id, status="running", pid=os.getpid())
    assert store.recover() == [] and store.get_run(run_id)["status"] == "running"


@pytest.mark.parametrize("version_id, ok", [
    ("run-abc123", True), ("default", True), ("a_b-9", True), ("../etc", False), ("a/b", False),
    ("", False), ("-leading", False), ("x" * 65, False), ("abc\n", False), ("abc\ndef", False),
])
def test_version_ids_can_never_name_a_path(version_id: str, ok: bool) -> None:
    assert valid_version_id(version_id) is ok
