"""The load benchmark runs end to end: both servers, every level, idle and under training, no errors.

A smoke run with tiny windows (timings are the benchmark's business, never a test's): it keeps the
harness in the README working, and any error or wrong answer under concurrent load fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_serve_load_runs_both_servers_idle_and_while_training(mnist_dir: Path, pendigits_file: Path) -> None:
    env = {**os.environ, "DIGITNET_DATA": str(mnist_dir)}  # the training run's MNIST
    command = [sys.executable, "benchmarks/serve_load.py", "--seconds", "0.4", "--warmup", "0.1",
               "--rounds", "2", "--clients", "1,3", "--count", "12", "--pendigits", str(pendigits_file),
               "--while-training", "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["payloads"]["count"] == 12 and result["payloads"]["source"].startswith("pendigits")
    assert set(result["levels"]) == {"ours", "reference", "ours, training"}
    for name, levels in result["levels"].items():
        assert [level["clients"] for level in levels] == [1, 3], name
        for level in levels:
            assert level["requests"] > 0 and level["errors"] == 0 and level["wrong"] == 0, (name, level)
    assert set(result["rps_ratio"]) == {"1", "3"} and all(r > 0 for r in result["rps_ratio"].values())


def test_serve_load_measures_explain_against_predict_in_the_same_run(pendigits_file: Path) -> None:
    command = [sys.executable, "benchmarks/serve_load.py", "--seconds", "0.4", "--warmup", "0.1",
               "--clients", "2", "--count", "8", "--pendigits", str(pendigits_file), "--explain", "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result["levels"]) == {"ours", "reference", "ours, /explain"}
    explain = result["levels"]["ours, /explain"][0]
    assert explain["requests"] > 0 and explain["errors"] == 0 and explain["wrong"] == 0, result["levels"]
    ratio = result["explain_over_predict"]["2"]
    assert ratio["server_cpu_ms"] > 0 and ratio["rps"] > 0, ratio
