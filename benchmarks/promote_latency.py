"""How long from a finished run to its version serving on every worker, after the admin promotes it.

Starts `digitnet serve --workers 2` on 127.0.0.1 with a fresh state directory, trains a tiny run,
then times: the promote request itself (it loads and checks the file in the worker that takes it),
and the moment every worker answers with the new version (the others follow the database).

    python benchmarks/promote_latency.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.conftest import ADMIN_TOKEN as TOKEN  # noqa: E402
from tests.app.test_crash import free_port  # noqa: E402
from tests.app.test_workers import serving_versions  # noqa: E402

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(serving_versions(base, 10)[1]) == 2:
                return
        except (httpx.TransportError, KeyError):
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up with two workers")


def train_tiny(base: str, seed: int) -> str:
    body = {"preset": "seed", "hidden": [16], "epochs": 1, "limit": 500, "seed": seed}
    run = httpx.post(f"{base}/train", json=body, headers=AUTH).json()
    while (r := httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json())["status"] != "finished":
        time.sleep(0.05)
    return r["version_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    home = tempfile.mkdtemp(prefix="digitnet-bench-")
    env = {**os.environ, "DIGITNET_HOME": home, "DIGITNET_ADMIN_TOKEN": TOKEN}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    request_ms, everywhere_ms = [], []
    try:
        wait_ready(base)
        for i in range(args.rounds):
            version = train_tiny(base, i)
            start = time.perf_counter()
            assert httpx.post(f"{base}/versions/{version}/promote", headers=AUTH).status_code == 200
            request_ms.append((time.perf_counter() - start) * 1000)
            while serving_versions(base, 6)[0] != {version}:
                pass
            everywhere_ms.append((time.perf_counter() - start) * 1000)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    print(f"promote request: median {statistics.median(request_ms):.1f} ms, max {max(request_ms):.1f} ms")
    print(f"serving on both workers: median {statistics.median(everywhere_ms):.0f} ms, "
          f"max {max(everywhere_ms):.0f} ms (the other worker polls every 0.5 s)")


if __name__ == "__main__":
    main()
