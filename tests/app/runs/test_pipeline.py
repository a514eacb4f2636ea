"""The one training pipeline: the command line and the server write the same metadata for one spec."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.runs.pipeline import RunSpec, Saved, build_data, execute
from app.runs.training import config_from
from model.serialize import load_model

DATA = os.environ.get("DIGITNET_DATA")


class Quiet:
    def batch(self, event: object) -> None: ...

    def epoch(self, event: object) -> None: ...


@pytest.mark.skipif(not DATA, reason="needs MNIST (DIGITNET_DATA)")
def test_both_ways_of_starting_a_run_write_the_same_keys(tmp_path: Path) -> None:
    spec = RunSpec(config_from("seed", {"hidden": [8], "epochs": 1, "limit": 300}), DATA)
    data = build_data(spec)
    written = {}
    for name, origin in (("cli", {"preset": "seed", "command": "digitnet train"}),
                         ("server", {"run_id": "r1", "scores": {}})):
        ended = execute(spec, data, Quiet(), lambda: False, tmp_path / f"{name}.npz", lambda _n, o=origin: o)
        assert isinstance(ended, Saved)
        written[name] = set(load_model(ended.path).meta) - set(origin)
    assert written["cli"] == written["server"]
    assert {"config", "data_sha256", "history", "pen_data", "feedback"} <= written["cli"]
