"""Fixtures shared across the test tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST files: $DIGITNET_DATA if set, else the checkout's sibling ``shared/mnist``."""
    env = os.environ.get("DIGITNET_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "mnist"
    if not root.is_dir():
        if os.environ.get("CI"):  # in CI the data must be there: a skip would hide a broken setup
            pytest.fail(f"real MNIST directory {root} does not exist")
        pytest.skip(f"real MNIST directory {root} does not exist (set DIGITNET_DATA to use one)")
    return root


@pytest.fixture(scope="session")
def pendigits_file() -> Path:
    """The real pen trajectories (UNIPEN) beside the checkout; CI must have them."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"
    if not path.is_file():
        if os.environ.get("CI"):  # in CI the data must be there: a skip would hide a broken setup
            pytest.fail(f"pendigits file {path} does not exist")
        pytest.skip(f"pendigits file {path} does not exist")
    return path
