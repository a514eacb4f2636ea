"""The conv mode of train_speed.py runs end to end on a tiny network (timings are its business)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_conv_mode_times_a_step_its_products_and_each_layer(mnist_dir: Path) -> None:
    command = [sys.executable, "benchmarks/train_speed.py", "--conv", "conv3x3x4, pool, dense10",
               "--steps", "1", "--repeats", "1", "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DIGITNET_DATA": str(mnist_dir)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["layers"] == ["conv3x3x4", "pool", "dense10"] and result["batch"] == 128
    assert {"ours", "gemm"} <= set(result["ms_per_step"]) and 0 < result["gemm_fraction"]
    assert [layer for layer, _, _ in result["breakdown_ms"]] == [
        "Reshape", "Conv2D", "MaxPool", "Reshape", "Dense"]
    assert result["one_image_ms"]["predict"] > 0 and result["threads"] == 1
