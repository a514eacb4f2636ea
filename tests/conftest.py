"""Fixtures shared across the test tree."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import Cluster, ClusterError


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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the whole session (tests/postgres.py), removed at the end.

    Pytest tears session fixtures down on Ctrl-C too, so an interrupted run leaves no server behind.
    """
    try:
        cluster = Cluster()
    except ClusterError as error:
        if os.environ.get("CI"):  # in CI the server must be there: a skip would hide a broken setup
            pytest.fail(str(error))
        pytest.skip(str(error))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database of this test's own, empty, dropped after it even if still connected to."""
    # the test's name makes a leftover easy to place; the suffix keeps parametrised cases apart
    name = f"{re.sub(r'[^a-z0-9]+', '_', request.node.name.lower())[:40]}_{uuid.uuid4().hex[:8]}"
    pg_cluster.create_database(name)
    try:
        yield pg_cluster.dsn(name)
    finally:
        pg_cluster.resume()  # if the test paused it and failed before resuming it; else nothing
        pg_cluster.start()  # again, if the test stopped it and failed before starting it; else nothing
        pg_cluster.drop_database(name)
