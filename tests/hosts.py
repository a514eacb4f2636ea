"""`digitnet serve` as a host of its own, for the tests and benchmarks of several hosts.

Each host is a server process in a process group of its own (its training runs are in it too, so a
kill -9 of the group is the host dying), with a state directory of its own and the environment it
is given (a shared DIGITNET_DATABASE_URL makes the hosts one service).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.app.conftest import ADMIN_TOKEN
from tests.postgres import free_port

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ROOT = Path(__file__).resolve().parents[1]


def host_env(home: Path, database_url: str, **settings: str) -> dict[str, str]:
    """This process's environment with the host's own state directory and the shared database."""
    return {**os.environ, "DIGITNET_HOME": str(home), "DIGITNET_DATABASE_URL": database_url,
            "DIGITNET_ADMIN_TOKEN": ADMIN_TOKEN, **settings}


@dataclass
class Host:
    """One `digitnet serve` in a process group of its own (its training runs are in it too)."""

    home: Path
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Host:
        self.port = self.port or free_port()
        log = open(self.home.parent / f"{self.home.name}.log", "ab")  # noqa: SIM115
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"{self.home.name} exited: {self.log_tail()}"
            assert time.monotonic() < deadline, f"{self.home.name} did not start: {self.log_tail()}"
            time.sleep(0.2)

    def kill(self) -> None:
        """kill -9 of the host: the server and its training run, at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self) -> str:
        return (self.home.parent / f"{self.home.name}.log").read_text()[-2000:]

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=AUTH, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", headers=AUTH, timeout=30, **kw)  # type: ignore[arg-type]
