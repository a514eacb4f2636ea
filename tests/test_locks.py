"""The locks in requirements/ agree with pyproject.toml and with each other, and pin what is installed.

A dependency added to pyproject.toml without `scripts/lock --same` would make `scripts/setup` fail
(pip --require-hashes refuses anything unpinned) on the next fresh machine only: caught here first.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from scripts.lock_moved import pins

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"test": ("test", "postgres", "build", "tools"), "serve": ("postgres", "build"),
         "bench": ("test", "postgres", "build", "tools", "bench")}


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's requirements of the app and the given extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]
    return [Requirement(name) for name in names]


def versions(lock: str) -> dict[str, list[Version]]:
    """Each package's pinned versions (several where a pin holds for some Pythons only)."""
    found: dict[str, list[Version]] = {}
    for key, version in pins(ROOT / "requirements" / f"{lock}.lock").items():
        found.setdefault(canonicalize_name(key.split(" ;")[0]), []).append(Version(version))
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_requirement_is_pinned_within_its_range(lock: str) -> None:
    pinned = versions(lock)
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements/{lock}.lock: run scripts/lock --same"
        assert all(requirement.specifier.contains(v, prereleases=True) for v in pinned[name]), \
            f"requirements/{lock}.lock pins {name} {pinned[name]} outside {requirement.specifier}"


@pytest.mark.parametrize("lock", ["serve", "bench"])
def test_the_locks_agree_with_the_test_lock(lock: str) -> None:
    tested = versions("test")
    assert {name: v for name, v in versions(lock).items() if name in tested} == \
        {name: v for name, v in tested.items() if name in versions(lock)}


def test_what_runs_the_tests_is_what_the_lock_pins() -> None:
    """This environment was installed from the test lock (scripts/setup): the app's own packages here
    are the pinned versions."""
    pinned = versions("test")
    for requirement in declared(()):
        name = canonicalize_name(requirement.name)
        assert Version(metadata.version(name)) in pinned[name], f"{name} {metadata.version(name)} here"
