"""A full disk: a run whose version cannot be saved fails with the reason; the old model serves on."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.reading.serving import ModelHolder
from app.runs.job import main
from app.state.store import Store
from model.architecture import Architecture
from model.network import Network
from model.serialize import save_model
from tests.app.conftest import WEIGHTS


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs of our own (needs root: skipped, saying so, elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill the file system but for about ``leave`` bytes."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_failed_save_keeps_the_serving_model_and_says_why(small_disk: Path, mnist_dir: Path) -> None:
    store = Store(small_disk)
    net = Network(Architecture((784, 64, 10)))
    net.initialize(np.random.default_rng(0))
    good = save_model(store.versions.folder / "v1.npz", net, {})
    store.versions.add("v1", good, hashlib.sha256(good.read_bytes()).hexdigest(), 0.9, {})
    store.versions.promote("v1")
    run_id = store.create_run({"config": {"hidden": [256], "epochs": 1, "limit": 300},
                               "data": str(mnist_dir)})
    fill(small_disk, leave=200_000)  # room for the database, not for a 784-256-10 model (0.8 MB)
    assert main(["training_job", str(small_disk), run_id]) == 1
    run = store.get_run(run_id)
    assert run.status == "failed" and "No space left on device" in run.reason
    assert [p.name for p in store.versions.folder.iterdir()] == ["v1.npz"]  # no half file, no temp file
    assert ModelHolder(store, WEIGHTS).current.version == "v1"
