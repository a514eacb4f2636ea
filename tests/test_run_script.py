"""The README's run command, ``scripts/run``, as a newcomer runs it: a real server on the shipped
weights, the dense network beside them as the version ``dense``, and (where the development copy of
the pen digits lies beside the checkout, as MNIST's does) the versions scored on those digits too."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.conftest import ADMIN_TOKEN
from tests.postgres import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
PEN_BESIDE = ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"  # what scripts/run looks for
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITNET_")}
    env.update(DIGITNET_HOME=str(tmp_path / "home"), DIGITNET_ADMIN_TOKEN=ADMIN_TOKEN)
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(ROOT / "scripts" / "run"), "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "run.log").read_text()
        try:
            return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, 120, "scripts/run serving")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_the_run_command_serves_the_shipped_model_with_dense_beside_it(served: str) -> None:
    versions = httpx.get(f"{served}/versions", headers=AUTH).json()
    assert versions["serving"] == "default"
    assert {"default", "dense"} <= {v["id"] for v in versions["versions"]}
    answer = httpx.post(f"{served}/predict", json={"pixels": [0.0] * 300 + [1.0] * 184 + [0.0] * 300})
    assert answer.status_code == 200 and answer.json()["model_version"] == "default", answer.text

    def report() -> dict:
        r = httpx.get(f"{served}/versions/default/report", headers=AUTH, timeout=30)
        return r.json() if r.status_code == 200 else {}  # 503 while it is being computed

    sets = {s["name"]: s for s in wait_until(report, 180, "the shipped model's report")["sets"]}
    if PEN_BESIDE.is_file():  # scripts/run named them: every pen digit read
        assert sets["pendigits"]["count"] == 7494 and sets["pendigits"]["accuracy"] > 0.99, sets["pendigits"]
    else:
        assert "pendigits" not in sets
