"""The wrk benchmark runs end to end: four payload kinds on both servers (two workers each), no errors.

A smoke run with 1-second windows (timings are the benchmark's business, never a test's): it keeps
the harness in the README working, and any non-2xx answer or socket error under load fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"page", "data-url", "multipart", "pixels"}


@pytest.fixture(scope="module")
def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        if os.environ.get("CI"):  # scripts/test installs it: missing in CI is a broken setup, not a skip
            pytest.fail("wrk is not installed (scripts/test installs Debian's wrk when missing)")
        pytest.skip("wrk is not installed: apt-get install wrk, or scripts/bench-setup")
    return path


def test_serve_wrk_measures_every_payload_on_both_servers(wrk: str, mnist_dir: Path,
                                                          pendigits_file: Path) -> None:
    command = [sys.executable, "benchmarks/serve_wrk.py", "--seconds", "1", "--rounds", "1", "--warmup", "0",
               "--clients", "4", "--count", "8", "--workers", "2", "--mnist", str(mnist_dir),
               "--pendigits", str(pendigits_file), "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result["payloads"]) == KINDS and set(result["ratio"]) == KINDS
    for kind, servers in result["payloads"].items():
        assert set(servers) == {"ours", "reference"}, kind
        for name, row in servers.items():
            assert row["requests"] > 0 and row["errors"] == 0, (kind, name, row)
            # with two workers the requests ran in uvicorn's child processes, and their CPU counts: a
            # request costs a server well over 0.2 ms, its supervisor alone spends next to nothing
            assert row["server_cpu_ms"] > 0.2, (kind, name, row)
    assert set(result["checked_digits"]) == KINDS
    assert result["wrk"].startswith("wrk") and result["workers"] == 2


def test_serve_wrk_says_how_to_install_wrk_when_it_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH: no wrk
    done = subprocess.run([sys.executable, "benchmarks/serve_wrk.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "apt-get install wrk" in done.stderr and "scripts/bench-setup" in done.stderr


def test_wrk_latencies_are_read_in_every_unit() -> None:
    """As wrk prints them: a one-letter unit is padded with a space (a p99 of 1.20 s failed once)."""
    from benchmarks.serve_wrk import latency_percentiles

    out = ("  Latency Distribution\n     50%  812.00us\n     75%    2.50ms\n     90%   40.10ms\n"
           "     99%    1.20s \n  1234 requests in 1.00s, 2.00MB read\n")
    assert latency_percentiles(out) == {50: 0.812, 75: 2.5, 90: 40.1, 99: 1200.0}
