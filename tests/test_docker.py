"""The Dockerfile keeps the state in a volume, and .dockerignore keeps out nothing it copies."""

from __future__ import annotations

import dataclasses
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
    named = re.findall(r"/srv/digitnet/(weights/\S+\.npz)", (ROOT / "Dockerfile").read_text())
    assert "weights/dense.npz" in named and set(named) <= set(files)  # every model the image names
    assert [f for f in files if ignored(f, patterns)] == []
    assert ignored(".venv/bin/python", patterns) and ignored("tests/conftest.py", patterns)


def test_the_compose_file_agrees_with_the_settings_the_image_and_the_balancer() -> None:
    """deploy/compose.yaml is not run here (no Docker engine): its names are checked instead."""
    from app.settings import Settings

    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    known = {f.metadata["env"] for f in dataclasses.fields(Settings)}
    assert set(re.findall(r"\b(DIGITNET_[A-Z_]+):", compose)) <= known
    assert "DIGITNET_DATABASE_URL: postgresql://" in compose and "build: .." in compose
    services = compose.split("\nservices:\n")[1].split("\nvolumes:\n")[0]
    hosts = re.findall(r"^  (app-\d+):$", services, flags=re.MULTILINE)
    assert len(hosts) >= 2 and re.findall(r"server (app-\d+):8000", nginx) == hosts
    for host in hosts:  # a state directory of its own: the Dockerfile's volume, never shared
        assert f'"{host}:/var/lib/digitnet"' in compose
    assert "proxy_buffering off" in nginx  # the event streams
    # the hosts trust the balancer's X-Forwarded-For and nobody else's; it writes the client's own
    trusted = re.findall(r"FORWARDED_ALLOW_IPS: (\S+)", compose)
    assert trusted == re.findall(r"ipv4_address: (\S+)", services) and "*" not in trusted[0]
    assert "X-Forwarded-For $remote_addr;" in nginx
    # the image installs the pinned app with psycopg, every file checked against its hash
    assert "pip install --require-hashes -r requirements/serve.lock" in (ROOT / "Dockerfile").read_text()
    assert re.search(r"^psycopg==", (ROOT / "requirements" / "serve.lock").read_text(), flags=re.MULTILINE)
