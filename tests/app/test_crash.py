"""Crash safety: SIGKILL during saves and during a run loses nothing and leaves nothing half-made."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from app.state.store import Store
from tests.app.conftest import ADMIN_TOKEN
from tests.postgres import free_port
from tests.waiting import wait_until

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

SAVER = textwrap.dedent("""
    import hashlib, sys, numpy as np
    from pathlib import Path
    from app.state.store import Store
    from model.architecture import Architecture
    from model.network import Network
    from model.serialize import save_model
    store = Store(Path(sys.argv[1]))
    net = Network(Architecture((784, 400, 10)))
    i = 0
    while True:  # save version after version until killed
        i += 1
        net.initialize(np.random.default_rng(i))
        vid = f"v{i}-{np.random.default_rng().integers(1 << 30)}"
        path = save_model(store.versions.folder / f"{vid}.npz", net, {"i": i})
        store.versions.add(vid, path, hashlib.sha256(path.read_bytes()).hexdigest(), None, {})
        if i % 2:
            store.versions.promote(vid)
""")


def check_versions(home: Path) -> int:
    """Every recorded version's file is whole (matches its SHA-256); no temp file remains."""
    store = Store(home)
    store.recover()
    versions = store.versions.list()
    for v in versions:
        data = (store.versions.folder / f"{v['id']}.npz").read_bytes()
        assert hashlib.sha256(data).hexdigest() == v["sha256"], v["id"]
    assert list(store.versions.folder.glob(".tmp-*")) == []
    return len(versions)


def test_kill_9_during_saves_and_promotions_never_leaves_a_broken_version(tmp_path: Path) -> None:
    from app.reading.serving import ModelHolder
    from tests.app.conftest import WEIGHTS

    rng = random.Random(0)
    counts = []
    watcher = Store(tmp_path)
    for _ in range(20):
        saved = len(watcher.versions.list())
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)])
        more = rng.randint(1, 3)  # killed once it saved 1-3 more, wherever it is in the next save
        wait_until(lambda n=saved + more: len(watcher.versions.list()) >= n, 60, "the saver saving")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(check_versions(tmp_path))
        store = Store(tmp_path)
        assert ModelHolder(store, WEIGHTS).current.version == store.versions.promoted()  # what restarts serve
    assert counts == sorted(counts) and counts[-1] >= 20  # versions accumulate, none is lost


def start_server(home: Path, port: int, mnist_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "DIGITNET_HOME": str(home), "DIGITNET_ADMIN_TOKEN": ADMIN_TOKEN,
           "DIGITNET_DATA": str(mnist_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def ended(pid: int) -> bool:
    """The process is gone, or dead and not yet reaped (a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] == "Z"
    except FileNotFoundError:
        return True


def test_server_killed_mid_run_restarts_with_the_run_interrupted(tmp_path: Path, mnist_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path, port, mnist_dir)
    try:
        run = httpx.post(f"{base}/train", json={"preset": "seed", "epochs": 100}, headers=AUTH).json()
        pid = wait_until(lambda: (r := httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json())["status"]
                         == "running" and r["pid"], 60, "the run starting")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    wait_until(lambda: ended(pid), 60, "the orphaned run stopping by itself")
    server = start_server(tmp_path, port, mnist_dir)
    try:
        after = httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json()
        assert after["status"] == "interrupted" and after["version_id"] is None
        assert httpx.get(f"{base}/readyz").json()["model_version"] == "default"
        assert check_versions(tmp_path) == 0
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


SENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.feedback.store import FeedbackStore, Submission
    from app.state.store import Store
    feedback = FeedbackStore(Store(Path(sys.argv[1])), max_count=10**9, max_bytes=10**12)
    i = int(sys.argv[2])
    while True:  # keep drawing after drawing, relabel and erase some, until killed
        i += 1
        image = i.to_bytes(8, "big") * 2000  # 16 KB: a write takes a moment
        feedback_id, _ = feedback.add(Submission(i % 10, (i + 1) % 10, "default", image, bytes(784),
                                                 [[[i, i], [i + 1, i + 2]]], "c"))
        if i % 3 == 0:
            feedback.review(feedback_id, "accepted", (i + 2) % 10)
        if i % 7 == 0:
            feedback.delete(feedback_id)
""")


def test_kill_9_while_drawings_are_kept_leaves_every_row_whole(tmp_path: Path) -> None:
    from app.feedback.reader import STATUSES
    from app.feedback.store import FeedbackStore

    rng = random.Random(1)
    seen = 0
    watcher = FeedbackStore(Store(tmp_path), max_count=10**9, max_bytes=10**12)
    for round_ in range(10):
        kept = watcher.totals()[0]
        proc = subprocess.Popen([sys.executable, "-c", SENDER, str(tmp_path), str(round_ * 10**6)])
        more = rng.randint(1, 20)  # killed once it kept 1-20 more, wherever it is in the next write
        wait_until(lambda n=kept + more: watcher.totals()[0] >= n, 60, "the sender keeping drawings")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = Store(tmp_path)
        with store.db.connect() as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        feedback = FeedbackStore(store, max_count=10**9, max_bytes=10**12)
        items = feedback.page(STATUSES, 10**6, 0)
        for item in items:  # every kept row is whole: its image and strokes are what was written
            full = feedback.get(item.id)
            assert full.image is not None
            i = int.from_bytes(full.image[:8], "big")
            assert full.image == i.to_bytes(8, "big") * 2000
            assert full.strokes == [[[i, i], [i + 1, i + 2]]]
            assert item.label in (i % 10, (i + 2) % 10)
        sizes = sum(len(feedback.get(i.id).image or b"") + len(json.dumps(feedback.get(i.id).strokes))
                    for i in items)
        assert feedback.totals() == (len(items), sizes)  # the running totals are the rows'
        assert len(items) >= seen  # nothing kept is lost
        seen = len(items)
    assert seen >= 10
