"""The feedback benchmark runs end to end on a tiny setting and reports what docs/feedback.md reads.

One seed, one writer, one epoch on 3,000 MNIST digits (``--quick``): the figures mean nothing at this
size, so the test checks the report's structure and that every number is what it claims to be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.pen.pendigits import parse
from benchmarks.feedback_lift import writer_group
from benchmarks.holdout_model import FOLDS, held_out_writers

ROOT = Path(__file__).resolve().parents[2]


def test_feedback_lift_quick_run_reports_every_seed_and_weighting(mnist_dir: Path,
                                                                   pendigits_file: Path) -> None:
    env = {**os.environ, "DIGITNET_DATA": str(mnist_dir)}
    command = [sys.executable, "benchmarks/feedback_lift.py", "--quick", "--json",
               "--pendigits", str(pendigits_file)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["settings"]["seeds"] == [0] and result["settings"]["copies"] == [1, 3]
    rows = result["rows"]
    assert [(r["seed"], r["copies"]) for r in rows] == [(0, 1), (0, 3)]
    for r in rows:
        assert len(r["writers"]) == 1
        assert 0 <= r["feedback"] <= r["feedback_half"] and r["feedback_half"] + r["test"] > 100
        for key in ("writers_before", "writers_after", "mnist_before", "mnist_after"):
            assert 0.0 <= r[key] <= 1.0, (key, r)
        assert -1.0 <= r["reseed_change"] <= 1.0
        assert abs(r["lift"] - (r["writers_after"] - r["writers_before"])) < 1e-12
    assert rows[0]["feedback"] > 0  # one epoch on 3,000 digits misreads some of a writer's digits
    assert rows[0]["writers_before"] == rows[1]["writers_before"]  # one base model per seed
    assert set(result["summary"]) == {"0", "1", "3"}  # "0": the base model trained from another seed
    assert result["summary"]["0"]["lift"]["mean"] == rows[0]["reseed_change"] == rows[1]["reseed_change"]
    for copies in ("1", "3"):
        s = result["summary"][copies]
        lift = next(r["lift"] for r in rows if r["copies"] == int(copies))
        assert s["seeds"] == 1 and s["lift"]["mean"] == s["lift"]["min"] == s["lift"]["max"] == lift
        assert s["lift"]["std"] == 0.0 and -1.0 <= s["mnist_change"]["mean"] <= 1.0

def test_writer_groups_are_the_teams_split(tmp_path: Path) -> None:
    path = tmp_path / "writers.txt"  # one digit by each of 13 writers, in the file's layout
    path.write_text("".join(f'.SEGMENT DIGIT 0 ? "{w % 10}"\n.COMMENT {w % 10} {w} {w}\n'
                            ".PEN_DOWN\n 1 2\n 3 4\n.PEN_UP\n" for w in range(1, 14)))
    samples = parse(path)
    groups = [writer_group(samples, fold) for fold in range(FOLDS)]
    assert groups == [held_out_writers(path, fold) for fold in range(FOLDS)]
    assert sorted(w for group in groups for w in group) == list(range(1, 14))
