"""The in-process request benchmark runs end to end and splits every request into its parts.

A smoke run (timings are the benchmark's business, never a test's): both apps answer every payload
kind with 200 (the harness raises otherwise), and the parts it times were really reached: image
work for the image kinds and none for ``pixels``, a forward pass in every request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_serve_inproc_times_the_parts_of_every_payload(mnist_dir: Path, pendigits_file: Path) -> None:
    command = [sys.executable, "benchmarks/serve_inproc.py", "--rounds", "1", "--count", "3",
               "--mnist", str(mnist_dir), "--pendigits", str(pendigits_file), "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result) == {"page", "data-url", "multipart", "pixels"}
    for kind, apps in result.items():
        assert set(apps) == {"ours", "reference"}, kind
        for name, parts in apps.items():
            assert parts["forward"] > 0 and parts["request"] > parts["forward"], (kind, name, parts)
            if kind == "pixels":
                assert parts["image work"] == 0, (kind, name, parts)
            else:
                assert parts["image work"] > 0, (kind, name, parts)
            assert parts["the rest"] > 0, (kind, name, parts)  # the framework is never free
