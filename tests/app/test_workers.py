"""Two uvicorn workers serve the same promoted version: a promotion reaches both within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.app.conftest import ADMIN_TOKEN
from tests.postgres import free_port

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


def test_a_promotion_reaches_every_worker(tmp_path: Path, mnist_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGITNET_HOME": str(tmp_path), "DIGITNET_ADMIN_TOKEN": ADMIN_TOKEN,
           "DIGITNET_DATA": str(mnist_dir)}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if len(serving_versions(base, 10)[1]) == 2:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "two workers did not come up"
            time.sleep(0.2)
        run = httpx.post(f"{base}/train", json={"preset": "seed", "hidden": [16], "epochs": 1,
                                                "limit": 500}, headers=AUTH).json()
        while (r := httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json())["status"] != "finished":
            assert time.monotonic() < deadline + 60, r
            time.sleep(0.1)
        promoted_at = time.monotonic()
        assert httpx.post(f"{base}/versions/{r['version_id']}/promote", headers=AUTH).status_code == 200
        while True:
            versions, pids = serving_versions(base)
            if versions == {r["version_id"]} and len(pids) == 2:
                break
            assert time.monotonic() - promoted_at < 3.0, (versions, pids)
        answer = httpx.post(f"{base}/predict", json={"pixels": [0.5] * 784}).json()
        assert answer["model_version"] == r["version_id"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
