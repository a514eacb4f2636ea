"""Two hosts, one PostgreSQL: two `digitnet serve` processes with state directories of their own (no
shared disk) and one database, from the throwaway cluster the tests start.

What an operator running several hosts behind a load balancer relies on: a run started on one host
streams on the other; a version promoted on either serves on both; one run at a time however the
requests are spread; a host that dies mid-run is noticed by the other; and the database going away
and coming back costs no prediction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.test_admin import stream_events
from tests.hosts import Host, host_env
from tests.waiting import wait_until

HEARTBEAT_TIMEOUT_S = 3
SMALL_RUN = {"preset": "seed", "hidden": [16], "epochs": 2, "limit": 2000}
LONG_RUN = {"preset": "seed", "hidden": [16], "epochs": 100, "limit": 20000}


@pytest.fixture
def hosts(tmp_path: Path, pg_url: str, mnist_dir: Path) -> Iterator[tuple[Host, Host]]:
    made = [Host(tmp_path / name, host_env(tmp_path / name, pg_url, DIGITNET_DATA=str(mnist_dir),
                                           DIGITNET_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT_S)))
            for name in ("host-a", "host-b")]
    try:
        for host in made:
            host.start()
        yield made[0], made[1]
    finally:
        for host in made:
            host.stop()


def stream(host: Host, run_id: str) -> list[tuple[str, dict]]:
    """The run's events as Server-Sent Events from ``host``, to the final one."""
    return stream_events(host.url, run_id)


def test_a_run_on_one_host_streams_on_the_other_and_its_version_serves_on_both(hosts) -> None:
    a, b = hosts
    run = a.post("/train", json=SMALL_RUN)
    assert run.status_code == 202, run.text
    events = stream(b, run.json()["id"])
    kinds = [kind for kind, _ in events]
    assert "batch" in kinds and "epoch" in kinds and kinds[-1] == "finished", kinds
    version_id = events[-1][1]["version_id"]
    assert not (b.home / "versions" / f"{version_id}.npz").exists()  # made on a, on a's disk only
    promoted = b.post(f"/versions/{version_id}/promote")
    assert promoted.status_code == 200, promoted.text
    assert (b.home / "versions" / f"{version_id}.npz").exists()  # b fetched it from the database
    for host in (a, b):
        wait_until(lambda h=host: httpx.post(f"{h.url}/predict", json={"pixels": [0.5] * 784}).json()
                   ["model_version"] == version_id, 30, f"{host.home.name} serving {version_id}")
        assert host.get("/versions").json()["promoted"] == version_id


def test_ten_concurrent_runs_asked_of_two_hosts_start_exactly_one(hosts) -> None:
    a, b = hosts
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def ask(host: Host) -> None:
        barrier.wait()
        statuses.append(host.post("/train", json=LONG_RUN).status_code)

    threads = [threading.Thread(target=ask, args=((a, b)[i % 2],)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [202] + [409] * 9, statuses
    run = next(r for r in a.get("/runs").json() if r["status"] in ("starting", "running"))
    # cancelled from both hosts: the one not running it can only set the flag, which the run reads
    for host in (a, b):
        assert host.post(f"/train/{run['id']}/cancel").status_code in (202, 409)
    final = wait_until(lambda: (r := b.get(f"/train/{run['id']}").json())["status"] not in
                       ("starting", "running") and r, 60, "the run stopping")
    assert final["status"] == "cancelled", final


def test_a_host_killed_during_a_run_is_noticed_by_the_other_and_both_recover(hosts) -> None:
    a, b = hosts
    run = a.post("/train", json=LONG_RUN).json()
    wait_until(lambda: a.get(f"/train/{run['id']}").json()["status"] == "running", 60, "the run starting")
    a.kill()
    ended = wait_until(lambda: (r := b.get(f"/train/{run['id']}").json())["status"] != "running" and r,
                       HEARTBEAT_TIMEOUT_S + 30, "b noticing that a died")
    assert ended["status"] == "interrupted" and "heartbeat" in ended["reason"], ended
    second = b.post("/train", json=SMALL_RUN)
    assert second.status_code == 202, second.text  # the slot is free again
    a.start()  # a comes back with its own state directory
    assert a.get(f"/train/{run['id']}").json()["status"] == "interrupted"
    done = wait_until(lambda: (r := a.get(f"/train/{second.json()['id']}").json())["status"] not in
                      ("starting", "running") and r, 120, "the run on b ending")
    assert done["status"] == "finished", done


def test_the_database_stopped_and_restarted_under_load_fails_no_prediction(hosts, pg_cluster) -> None:
    """Predictions go on from the model in memory; admin routes say 503 meanwhile; a run and a
    stream of its events live through it. The run is a long one, cancelled once the database is back:
    a short one could end before the outage began (a fresh-clone run saw that)."""
    a, b = hosts
    failures: list[str] = []
    answered = {a.url: 0, b.url: 0}
    stop = threading.Event()

    def load(host: Host) -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                r = client.post(f"{host.url}/predict", json={"pixels": [0.5] * 784})
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                answered[host.url] += 1

    def more_answers(count: int, what: str) -> None:
        """Both hosts answer ``count`` more predictions than they had so far."""
        start = dict(answered)
        wait_until(lambda: all(answered[url] >= start[url] + count for url in start), 60, what)

    run = a.post("/train", json=LONG_RUN).json()
    wait_until(lambda: a.get(f"/train/{run['id']}").json()["status"] == "running", 60, "the run starting")
    streamed: list[list[tuple[str, dict]]] = []
    watcher = threading.Thread(target=lambda: streamed.append(stream(b, run["id"])))
    watcher.start()
    threads = [threading.Thread(target=load, args=(h,)) for h in (a, b, a, b)]
    for t in threads:
        t.start()
    try:
        more_answers(5, "predictions under load")
        pg_cluster.stop()
        down = a.get("/versions")
        assert down.status_code == 503 and "database" in down.json()["detail"], down.text
        assert down.headers["retry-after"]
        assert b.post("/train", json=SMALL_RUN).status_code == 503
        assert a.get("/readyz").status_code == 200  # keeps serving: the balancer keeps it
        more_answers(10, "predictions while the database is down")
        log = a.home / f"run-{run['id']}.log"  # what the run's process says: it met the outage too
        # the run's process may not have written its log yet on a busy machine: no file is not yet
        wait_until(lambda: log.exists() and "not stored" in log.read_text(), 60,
                   "the run finding the database away")
        pg_cluster.start()
        wait_until(lambda: a.get("/versions").status_code == 200 and b.get("/versions").status_code == 200,
                   60, "the admin routes coming back")
        more_answers(5, "predictions after the database came back")
        assert a.post(f"/train/{run['id']}/cancel").status_code == 202  # it is running still
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == [], failures[:5]
    # the run trained through the outage, and the stream on b, waiting it out, saw it end when asked
    watcher.join(timeout=180)
    assert streamed and streamed[0][-1][0] == "cancelled", streamed[0][-3:] if streamed else "no stream"
