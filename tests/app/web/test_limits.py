"""Overload and slowness: a quick 503 with Retry-After instead of an unbounded queue."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from app.main import create_app
from app.reading.images import InputError, open_image
from app.reading.work import BusyError, TimedOutError, WorkPool, check_deadline
from app.settings import Settings
from app.web.drawings import INLINE_PIXELS
from app.web.limits import InFlightLimitMiddleware
from app.web.protocol import HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol
from tests.app.conftest import WEIGHTS, drawn_one, png_bytes, raw_http, serving
from tests.waiting import until_done, wait_until


def test_requests_beyond_the_limit_get_503_at_once() -> None:
    release = asyncio.Event()

    async def slow_app(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = InFlightLimitMiddleware(slow_app, limit=2)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tasks = [asyncio.create_task(client.post("/predict")) for _ in range(5)]
            await until_done(tasks, 3, what="three answers")
            refused = [t for t in tasks if t.done()]
            assert len(refused) == 3  # answered while the two admitted ones still wait
            release.set()
            responses = await asyncio.gather(*tasks)
            assert (await client.get("/livez")).status_code == 200  # not counted
            return responses

    responses = asyncio.run(scenario())
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 503, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]
    assert app.in_flight == 0


def test_a_prediction_that_takes_too_long_is_cut_off(tmp_path) -> None:
    settings = Settings(weights=WEIGHTS, home=tmp_path, request_timeout_s=1e-6)
    png = {"content-type": "image/png"}
    with TestClient(create_app(settings)) as client:
        assert 320 * 320 > INLINE_PIXELS  # so it goes to the worker thread, where the timeout applies
        response = client.post("/predict", content=drawn_one(320), headers=png)
        assert response.status_code == 503 and "took longer" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
        assert client.get("/readyz").status_code == 200
        # a page-sized drawing is bounded work, answered on the event loop: no timeout can hit it
        assert 140 * 140 <= INLINE_PIXELS
        assert client.post("/predict", content=drawn_one(140), headers=png).json()["digit"] == 1


def test_bad_utf8_and_deep_nesting_are_400_not_500(client) -> None:
    for body in (b'{"pixels": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000):
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text


# --- the doors, tried with raw sockets as an attacker would (an HTTP client would fix the requests up) ---

STRICT_TIMEOUT_S = 1.0


class Heard(asyncio.Protocol):
    """Counts the connections the server has read bytes from (tests wait for a stalled one's to arrive)."""

    connections: ClassVar[int] = 0  # over every server of this module, ever
    _heard = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._heard:
            self._heard = True
            Heard.connections += 1


class QuickHeadDeadline(Heard, HeadDeadlineProtocol):
    timeout_s = STRICT_TIMEOUT_S


class QuickHeadDeadlineHttpTools(Heard, HeadDeadlineHttpToolsProtocol):
    timeout_s = STRICT_TIMEOUT_S


@pytest.fixture(scope="module", params=[QuickHeadDeadlineHttpTools, QuickHeadDeadline],
                ids=["httptools", "h11"])
def strict_server(request, tmp_path_factory) -> Iterator[str]:
    """A server with a 1 s receive deadline and room for 4 predictions at once, on either parser."""
    settings = Settings(weights=WEIGHTS, home=tmp_path_factory.mktemp("strict"), admin_token="t" * 16,
                        receive_timeout_s=STRICT_TIMEOUT_S, max_in_flight=4)
    with serving(settings, request.param) as url:
        yield url


def predict_png(base: str, png: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    return raw_http(base, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(png) + png, timeout)


def read_to_close(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def open_socket(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_content_length_and_chunked_together_are_refused_unread(strict_server) -> None:
    """A small declared length with a large chunked body behind it (40 MiB were read whole before):
    refused on its head, the connection closed, so the body has nowhere to go."""
    sock = open_socket(strict_server)
    sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 10\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n100000\r\n" + b"x" * 1000)
    answer = read_to_close(sock)
    assert answer.startswith(b"HTTP/1.1 400") and b"both Content-Length and Transfer-Encoding" in answer
    with pytest.raises(OSError):  # closed: the rest of the 40 MiB cannot be sent
        for _ in range(40):
            sock.sendall(b"x" * (1 << 20))
    sock.close()


def test_a_chunked_body_is_counted_as_it_streams(strict_server) -> None:
    chunk = b"x" * 65536
    body = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"  # 1.25 MiB
    head = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, headers, answer = raw_http(strict_server, head + body)
    assert status == 413 and "byte limit" in json.loads(answer)["detail"]


def test_a_stalled_head_or_body_gets_408_and_holds_no_slot(strict_server) -> None:
    """More stalled requests than there are slots: a normal client is answered at once, and each
    stalled one gets a 408 (then a closed connection) at its deadline."""
    heard = Heard.connections
    heads = [open_socket(strict_server) for _ in range(6)]
    bodies = [open_socket(strict_server) for _ in range(6)]
    for sock in heads:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-")
    for sock in bodies:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 1000\r\n\r\n\x89PNG")
    wait_until(lambda: Heard.connections >= heard + 12, what="the server reading the stalled requests")
    status, _, answer = predict_png(strict_server, drawn_one(140))
    assert status == 200 and json.loads(answer)["digit"] == 1
    for sock, words in [(s, b"request head") for s in heads] + [(s, b"request body") for s in bodies]:
        answer = read_to_close(sock)  # the server closes the connection after its answer
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert words in answer and b"connection: close" in answer.lower()
        sock.close()


def test_hundreds_of_idle_and_half_sent_connections_do_not_stop_a_client(strict_server) -> None:
    socks = [open_socket(strict_server) for _ in range(300)]
    for i, sock in enumerate(socks):
        if i % 3 == 1:
            sock.sendall(b"GET /livez HTTP/1.1\r\nHo")
        elif i % 3 == 2:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
    try:
        for _ in range(5):
            status, _, answer = predict_png(strict_server, drawn_one(140))  # 503 if they held slots
            assert status == 200 and json.loads(answer)["digit"] == 1
    finally:
        for sock in socks:
            sock.close()


def test_a_request_may_hold_only_so_many_pixels(strict_server) -> None:
    big = png_bytes(Image.new("L", (2048, 2048), 255))
    boundary = b"b0und"
    part = (b'\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + big + b"\r\n")
    parts = b"".join(b"--" + boundary + part for _ in range(3))
    body = parts + b"--" + boundary + b"--\r\n"
    status, _, answer = raw_http(strict_server, b"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                 b"multipart/form-data; boundary=" + boundary + b"\r\nContent-Length: %d\r\n"
                                 b"Connection: close\r\n\r\n" % len(body) + body)
    assert status == 413 and "pixels in all" in json.loads(answer)["detail"]


def test_a_png_packed_with_text_chunks_is_refused_without_decompressing_it_all() -> None:
    png = png_with_text_chunks(900)
    assert 800_000 < len(png) < 1 << 20
    with pytest.raises(InputError) as info:
        open_image(png)
    assert info.value.status == 422
    plain = Image.new("L", (28, 28))
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Software", "a drawing program")
    buf = io.BytesIO()
    plain.save(buf, format="PNG", pnginfo=meta)
    assert open_image(buf.getvalue()).size == (28, 28)  # a little metadata, as tools write, is fine


def png_with_text_chunks(n: int) -> bytes:
    """A 28x28 PNG with ``n`` zTXt chunks, each 1 MB of text compressed to about 1 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    buf = io.BytesIO()
    Image.new("L", (28, 28)).save(buf, format="PNG")
    png = buf.getvalue()
    text = chunk(b"zTXt", b"comment\0\0" + zlib.compress(b"a" * 1_000_000, 9))
    return png[:33] + text * n + png[33:]  # after the signature and IHDR


def test_work_past_its_timeout_holds_its_place_until_it_stops() -> None:
    """Work that outlives its request: the client gets its 503 on time; the work keeps its thread
    and its place in the pool until it ends, and ends at its next deadline check."""
    pool = WorkPool("test", threads=1, slots=1, timeout_s=0.05)
    release, ended = threading.Event(), []

    def slow(_: object) -> None:
        release.wait(10)  # a long step: the deadline passes inside it
        try:
            check_deadline()
        except TimedOutError:
            ended.append("at its deadline")
            raise
        ended.append("past its deadline")

    async def scenario() -> list[str]:
        refusals = []
        for _ in range(2):
            try:
                await pool.run(slow, None)
            except (TimedOutError, BusyError) as exc:
                refusals.append(type(exc).__name__)
            assert pool.held == 1 and pool.running == 1  # the first work still holds both
        release.set()
        return refusals

    assert asyncio.run(scenario()) == ["TimedOutError", "BusyError"]  # then busy, at once
    wait_until(lambda: pool.held == 0)
    assert ended == ["at its deadline"] and pool.most_running == 1
