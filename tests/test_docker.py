"""The Dockerfile keeps the state in a volume, and .dockerignore keeps out nothing it copies."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_state_directory_is_the_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    home = re.search(r"DIGITNET_HOME=(\S+)", dockerfile)
    volume = re.search(r'^VOLUME \["([^"]+)"\]', dockerfile, flags=re.MULTILINE)
    assert home and volume and home.group(1) == volume.group(1)
    assert f"chown digitnet:digitnet {home.group(1)}" in dockerfile  # the server's user can write it


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches decides; '!' re-includes."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!")
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path, bare.replace("**/", "")) or \
                path.startswith(bare.rstrip("/") + "/"):
            result = not negate
    return result


def test_nothing_the_image_copies_is_ignored() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copied = re.findall(r"^COPY (.+) \S+$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    sources = [src for line in copied for src in line.split()]
    files = [p.relative_to(ROOT).as_posix() for src in sources for p in
             ([ROOT / src] if (ROOT / src).is_file() else (ROOT / src).rglob("*.*"))
             if "__pycache__" not in p.parts]
    assert "weights/digitnet.npz" in files and "app/main.py" in files
    assert [f for f in files if ignored(f, patterns)] == []
    assert ignored(".venv/bin/python", patterns) and ignored("tests/conftest.py", patterns)
