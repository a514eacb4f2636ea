"""Two uvicorn workers serve the same promoted version: a promotion reaches both. How soon is a
speed, measured by benchmarks/promote_latency.py, not asserted here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.app.conftest import ADMIN_TOKEN
from tests.postgres import free_port
from tests.waiting import wait_until

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def serving_versions(base: str, n: int = 30) -> tuple[set[str], set[int]]:
    """Ask n times on fresh connections (spread over the workers): versions seen, worker pids seen."""
    versions, pids = set(), set()
    for _ in range(n):
        with httpx.Client() as c:
            r = c.get(f"{base}/versions", headers=AUTH).json()
            versions.add(r["serving"])
            pids.add(r["worker_pid"])
    return versions, pids


def both_workers_answer(base: str) -> bool:
    try:
        return len(serving_versions(base, 10)[1]) == 2
    except httpx.TransportError:  # not listening yet
        return False


def every_worker_serves(base: str, version: str) -> bool:
    versions, pids = serving_versions(base)
    return versions == {version} and len(pids) == 2


def run_status(base: str, run_id: str) -> str:
    return str(httpx.get(f"{base}/train/{run_id}", headers=AUTH).json()["status"])


def test_a_promotion_reaches_every_worker(tmp_path: Path, mnist_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGITNET_HOME": str(tmp_path), "DIGITNET_ADMIN_TOKEN": ADMIN_TOKEN,
           "DIGITNET_DATA": str(mnist_dir)}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: both_workers_answer(base), guard_s=60, what="two workers")
        run = httpx.post(f"{base}/train", json={"preset": "seed", "hidden": [16], "epochs": 1,
                                                "limit": 500}, headers=AUTH).json()
        wait_until(lambda: run_status(base, run["id"]) == "finished", guard_s=120, what="the run's end")
        r = httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json()
        assert httpx.post(f"{base}/versions/{r['version_id']}/promote", headers=AUTH).status_code == 200
        wait_until(lambda: every_worker_serves(base, r["version_id"]), what="the new version on both workers")
        answer = httpx.post(f"{base}/predict", json={"pixels": [0.5] * 784}).json()
        assert answer["model_version"] == r["version_id"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
