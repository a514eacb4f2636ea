"""download_mnist against a real HTTP server on 127.0.0.1 that can misbehave on purpose."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from model.data.download import download_mnist
from model.data.mnist import FILES, DataError, load_mnist

SMALL_COUNT = 5
Files = dict[str, tuple[str, int]]


class _FixtureServer(ThreadingHTTPServer):
    """Serves the files of ``root`` as ``/<mode>/<name>``; the mode says how to (mis)behave.

    good: the file as it is. corrupt: one byte flipped. drop: Content-Length of the whole file,
    then half of it and a closed connection. stall: headers, then silence. missing: 404.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[str] = []
        self.release = threading.Event()

    def url(self, mode: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{mode}/"


class _Handler(BaseHTTPRequestHandler):
    server: _FixtureServer

    def do_GET(self) -> None:  # noqa: N802 -- the name http.server dispatches to
        self.server.requests.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        path = self.server.root / name
        if mode == "missing" or "/" in name or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if mode == "corrupt":
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "stall":
            self.server.release.wait(timeout=10)
            return
        self.wfile.write(body[: len(body) // 2] if mode == "drop" else body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@pytest.fixture
def serve() -> Iterator[Callable[[Path], _FixtureServer]]:
    """Start a fixture server for a directory, in a thread; all are shut down after the test."""
    servers: list[_FixtureServer] = []

    def start(root: Path) -> _FixtureServer:
        server = _FixtureServer(root)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def small_files(tmp_path: Path) -> tuple[Path, Files]:
    """Four tiny gzip IDX files under the real MNIST names, and their name -> (sha256, count)."""
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    files: Files = {}
    for name in FILES:
        if "images" in name:
            header = struct.pack(">iiii", 2051, SMALL_COUNT, 28, 28)
            data = rng.integers(0, 256, size=(SMALL_COUNT, 784), dtype=np.uint8)
        else:
            header = struct.pack(">ii", 2049, SMALL_COUNT)
            data = rng.integers(0, 10, size=SMALL_COUNT, dtype=np.uint8)
        body = gzip.compress(header + data.tobytes(), mtime=0)
        (src / name).write_bytes(body)
        files[name] = (hashlib.sha256(body).hexdigest(), SMALL_COUNT)
    return src, files


def _closed_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_downloads_verifies_and_reports_progress(tmp_path, small_files, serve) -> None:
    src, files = small_files
    server = serve(src)
    dest = tmp_path / "new" / "mnist"
    calls: list[tuple[str, int, int | None]] = []

    paths = download_mnist(
        dest, [server.url("good")], progress=lambda *call: calls.append(call), files=files
    )

    assert paths == [dest / name for name in files]
    for name in files:
        size = (src / name).stat().st_size
        assert (dest / name).read_bytes() == (src / name).read_bytes()
        reported = [call for call in calls if call[0] == name]
        assert reported[0] == (name, 0, size)
        assert reported[-1] == (name, size, size)
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)


@pytest.mark.parametrize("bad", ["corrupt", "drop", "stall", "missing"])
def test_a_bad_mirror_is_left_for_the_next(tmp_path, small_files, serve, bad: str) -> None:
    src, files = small_files
    server = serve(src)
    dest = tmp_path / "mnist"

    paths = download_mnist(dest, [server.url(bad), server.url("good")], timeout=0.3, files=files)

    assert all(p.read_bytes() == (src / p.name).read_bytes() for p in paths)
    assert server.requests == [f"/{mode}/{name}" for name in files for mode in (bad, "good")]
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)


def test_all_mirrors_bad_raises_and_leaves_nothing(tmp_path, small_files, serve) -> None:
    src, files = small_files
    server = serve(src)
    dest = tmp_path / "mnist"
    mirrors = [server.url("corrupt"), server.url("drop")]

    with pytest.raises(DataError) as info:
        download_mnist(dest, mirrors, files=files)

    first, message = next(iter(files)), str(info.value)
    assert first in message
    assert all(url + first in message for url in mirrors)
    assert "SHA-256" in message and "connection dropped" in message
    assert "offline" not in message
    assert list(dest.iterdir()) == []


def test_good_files_already_present_are_kept(tmp_path, small_files, serve, monkeypatch) -> None:
    src, files = small_files
    monkeypatch.setattr("model.data.mnist.FILES", files)
    server = serve(src)
    dest = tmp_path / "mnist"
    dest.mkdir()
    kept, stale = list(files)[:2]
    shutil.copyfile(src / kept, dest / kept)
    (dest / stale).write_bytes(b"an old, broken download")

    download_mnist(dest, [server.url("good")])

    assert server.requests == [f"/good/{name}" for name in files if name != kept]
    assert (dest / stale).read_bytes() == (src / stale).read_bytes()


def test_unreachable_mirrors_say_the_machine_is_offline(tmp_path, small_files) -> None:
    _, files = small_files
    dest = tmp_path / "mnist"
    mirrors = [f"http://127.0.0.1:{_closed_port()}/", f"http://127.0.0.1:{_closed_port()}/"]

    with pytest.raises(DataError, match="appears to be offline") as info:
        download_mnist(dest, mirrors, timeout=2, files=files)

    message = str(info.value)
    assert str(dest) in message and "by hand" in message
    assert all(name in message for name in FILES)
    assert list(dest.iterdir()) == []


def test_real_mnist_downloads_and_loads(tmp_path, mnist_dir: Path, serve) -> None:
    server = serve(mnist_dir)
    dest = tmp_path / "mnist"

    paths = download_mnist(dest, [server.url("good")])

    assert [p.name for p in paths] == list(FILES)
    data = load_mnist(dest)
    assert data.train_images.shape == (60000, 784)
    assert data.test_labels.shape == (10000,)
    assert data.checksums == {name: digest for name, (digest, _) in FILES.items()}
