"""The TCP_NODELAY benchmark runs end to end over both parsers and both kinds of listening socket
(what the option saves a request is its business, never a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nagle_stall_times_ours_and_uvicorns_on_every_socket() -> None:
    command = [sys.executable, "benchmarks/nagle_stall.py", "--requests", "2", "--rounds", "1", "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)["rows"]
    assert {(row["parser"], row["socket"]) for row in rows} == {
        (parser, socket) for parser in ("httptools", "h11") for socket in ("proto 0", "uvicorn's own")}
    assert all(row["ours_ms"] > 0 and row["uvicorn_ms"] > 0 for row in rows)
