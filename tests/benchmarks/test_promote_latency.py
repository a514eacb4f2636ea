"""The promotion benchmark runs end to end, on two workers and on two hosts (timings are its business)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("where", ["workers", "hosts"])
def test_promote_latency_reaches_everyone(where: str, mnist_dir: Path) -> None:
    command = [sys.executable, "benchmarks/promote_latency.py", "--rounds", "2", "--json"]
    if where == "hosts":
        command.append("--hosts")  # starts a throwaway PostgreSQL of its own
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DIGITNET_DATA": str(mnist_dir)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["where"] == where
    assert len(result["request_ms"]) == len(result["everywhere_ms"]) == 2
    assert all(e >= r > 0 for r, e in zip(result["request_ms"], result["everywhere_ms"], strict=True))
