"""Fixtures for the web tests: the app in-process, a real uvicorn server, drawings as PNG bytes."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.main import create_app
from app.settings import ROOT, Settings
from app.web.protocol import HeadDeadlineHttpToolsProtocol
from model.data.mnist import load_mnist

# the shipped model, unless DIGITNET_WEIGHTS names another
WEIGHTS = Settings.from_env().weights
# the second shipped model, the dense network (the version "dense" that scripts/run offers)
DENSE = ROOT / "weights" / "dense.npz"


ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def settings(tmp_path_factory, mnist_dir) -> Settings:
    """The shipped model, a fresh state directory, the real MNIST, a known admin token."""
    return Settings(weights=WEIGHTS, home=tmp_path_factory.mktemp("home"), data_dir=str(mnist_dir),
                    admin_token=ADMIN_TOKEN)


@pytest.fixture(scope="session")
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@contextmanager
def serving(settings: Settings, protocol: type = HeadDeadlineHttpToolsProtocol) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, http=protocol, loop="asyncio",
                            log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings) -> Iterator[str]:
    """The app of ``settings``, served by a real uvicorn server for the whole session."""
    with serving(settings) as url:
        yield url


@pytest.fixture(scope="session")
def dense_client(tmp_path_factory, mnist_dir) -> Iterator[TestClient]:
    """The shipped dense network (weights/dense.npz) serving as the default, in-process."""
    settings = Settings(weights=DENSE, home=tmp_path_factory.mktemp("dense-home"), data_dir=str(mnist_dir),
                        admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as c:
        yield c


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def drawn_one(size: int = 280) -> bytes:
    """A vertical stroke on white, as a canvas would send a "1"."""
    image = Image.new("L", (size, size), 255)
    ImageDraw.Draw(image).line([(size * 0.5, size * 0.15), (size * 0.5, size * 0.85)], fill=0,
                               width=max(2, size // 15))
    return png_bytes(image)


@pytest.fixture(scope="session")
def mnist_samples(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """The first 20 MNIST test digits (N, 784) uint8 and their labels."""
    mnist = load_mnist(mnist_dir)
    return mnist.test_images[:20], mnist.test_labels[:20]


def mnist_png(pixels: np.ndarray, size: int = 280) -> bytes:
    """An MNIST digit as a canvas-like picture: dark ink on white, enlarged."""
    ink = Image.fromarray(255 - pixels.reshape(28, 28)).resize((size, size), Image.Resampling.BILINEAR)
    return png_bytes(ink)


def raw_http(base_url: str, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are over a socket (no client fixes anything up) and read one answer:
    (status, headers with lower-case names, body read by Content-Length or to the close)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before an answer: {data!r}")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers.get("content-length", -1))
        while length < 0 or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(status_line.split()[1]), headers, body
