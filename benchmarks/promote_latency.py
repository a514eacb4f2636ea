"""How long from a promotion to the new version answering everywhere: two workers, or two hosts.

``--workers`` (the default): `digitnet serve --workers 2` on 127.0.0.1 with a fresh state directory
(SQLite). ``--hosts``: two `digitnet serve` processes with state directories of their own and one
PostgreSQL database (``--database-url``, else a throwaway cluster started here as the tests do,
tests/postgres.py), promoting on each host in turn.

Each round trains a tiny run (1 epoch of 500 digits), promotes its version, and times: the promote
request itself (it reads and checks the file and builds the network in the worker that takes it;
on a host that did not train it, the file comes from the database first), and the moment every
worker or host answers POST /predict with the new version (the others follow the database: they
poll it every ``app.reading.serving.POLL_S`` = 0.5 s).

    python benchmarks/promote_latency.py [--rounds 5] [--hosts [--database-url URL]] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hosts import AUTH, Host, free_port, host_env  # noqa: E402
from tests.postgres import Cluster  # noqa: E402

PIXELS = {"pixels": [0.5] * 784}


def train_tiny(base: str, seed: int) -> str:
    body = {"preset": "seed", "hidden": [16], "epochs": 1, "limit": 500, "seed": seed}
    run = httpx.post(f"{base}/train", json=body, headers=AUTH, timeout=30).json()
    while (r := httpx.get(f"{base}/train/{run['id']}", headers=AUTH).json())["status"] != "finished":
        if r["status"] not in ("starting", "running"):
            raise SystemExit(f"the tiny run ended {r['status']}: {r['reason']}")
        time.sleep(0.05)
    return r["version_id"]


def answers_with(base: str, version: str, connections: int) -> bool:
    """Whether ``connections`` fresh connections (spread over the workers) all get ``version``."""
    for _ in range(connections):
        with httpx.Client() as c:
            if c.post(f"{base}/predict", json=PIXELS).json()["model_version"] != version:
                return False
    return True


def measure(rounds: int, train_on: Callable[[int], str], promote_on: Callable[[int], str],
            everywhere: Callable[[str], bool]) -> dict[str, list[float]]:
    request_ms, everywhere_ms = [], []
    for i in range(rounds):
        version = train_tiny(train_on(i), i)
        start = time.perf_counter()
        r = httpx.post(f"{promote_on(i)}/versions/{version}/promote", headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        request_ms.append((time.perf_counter() - start) * 1000)
        while not everywhere(version):
            assert time.perf_counter() - start < 30, f"{version} did not reach everyone in 30 s"
        everywhere_ms.append((time.perf_counter() - start) * 1000)
    return {"request_ms": request_ms, "everywhere_ms": everywhere_ms}


def two_workers(rounds: int) -> dict[str, list[float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIGITNET_HOME": tempfile.mkdtemp(prefix="digitnet-bench-"),
           "DIGITNET_ADMIN_TOKEN": AUTH["Authorization"].split()[1]}
    env.pop("DIGITNET_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                               "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if answers_with(base, "default", 4):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up")
            time.sleep(0.2)
        return measure(rounds, lambda i: base, lambda i: base, lambda v: answers_with(base, v, 6))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


def two_hosts(rounds: int, database_url: str | None) -> dict[str, list[float]]:
    with ExitStack() as stack:
        if database_url is None:
            cluster = Cluster()
            cluster.start()
            stack.callback(cluster.destroy)
            cluster.create_database("promote_latency")
            database_url = cluster.dsn("promote_latency")
        work = Path(tempfile.mkdtemp(prefix="digitnet-bench-"))
        hosts = [Host(work / name, host_env(work / name, database_url)) for name in ("host-a", "host-b")]
        for host in hosts:
            host.start()
            stack.callback(host.stop)
        # trained on one host, promoted on the other, then the other way round: the promoting host
        # fetches the file from the database in half the rounds, the training one in the other half
        return measure(rounds, lambda i: hosts[i % 2].url, lambda i: hosts[(i + 1) % 2].url,
                       lambda v: all(answers_with(h.url, v, 1) for h in hosts))
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", action="store_true", help="two hosts on PostgreSQL, not two workers")
    parser.add_argument("--database-url", help="with --hosts: this PostgreSQL, not a throwaway cluster")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = two_hosts(args.rounds, args.database_url) if args.hosts else two_workers(args.rounds)
    where = "hosts" if args.hosts else "workers"
    if args.json:
        print(json.dumps({"where": where, **result}))
        return
    request_ms, everywhere_ms = result["request_ms"], result["everywhere_ms"]
    print(f"promote request: median {statistics.median(request_ms):.1f} ms, max {max(request_ms):.1f} ms")
    print(f"serving on both {where}: median {statistics.median(everywhere_ms):.0f} ms, "
          f"max {max(everywhere_ms):.0f} ms (the others poll the database every 0.5 s)")


if __name__ == "__main__":
    main()
