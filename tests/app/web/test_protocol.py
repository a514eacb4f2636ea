"""Our HTTP protocols send each write at once (TCP_NODELAY), however the listening socket was bound.

asyncio sets TCP_NODELAY only on connections whose listening socket says it is TCP (``proto`` 6). A
socket bound with ``proto`` 0 (uvicorn's ``--workers N`` before 0.55, ``--fd``, a socket handed over
by systemd or gunicorn) left Nagle's algorithm on: an answer's body waited for the client's delayed
acknowledgement of its head, ~40 ms a request after a connection's first (app/web/protocol.py). What we
need is the behaviour, whatever uvicorn's version: on both kinds of listening socket, the option is
set on the server's side of a live connection, and a kept-alive connection's requests do not stall.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app.web.protocol import HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol

# Linux delays an acknowledgement by at least 40 ms (TCP_DELACK_MIN): a request that waited for one
# takes at least that; half of it leaves room for a busy machine and none for the stall
STALL_S = 0.020


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    """The smallest ASGI app: 200 and two bytes, the head and the body in two writes."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def uvicorn_bound(config: uvicorn.Config) -> socket.socket:
    """The socket uvicorn's supervisor binds for its workers (``proto`` 0 before 0.55, 6 from it)."""
    return config.bind_socket()


def proto_zero(config: uvicorn.Config) -> socket.socket:
    """A listening socket with ``proto`` 0, as ``--fd`` or a socket manager hands one over."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((config.host, config.port))
    listener.listen()
    listener.set_inheritable(True)
    assert listener.proto == 0
    return listener


@contextmanager
def serving(protocol: type, bind: object) -> Iterator[tuple[uvicorn.Server, tuple[str, int]]]:
    """A real uvicorn server running ``ok`` with ``protocol`` on the socket ``bind`` makes."""
    config = uvicorn.Config(ok, host="127.0.0.1", port=0, http=protocol, loop="asyncio", lifespan="off",
                            log_level="warning")
    listener = bind(config)  # type: ignore[operator]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        yield server, listener.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def get(client: socket.socket) -> None:
    """One request on a kept-alive connection, read to the end of its two-byte body."""
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not (answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\nok")):
        chunk = client.recv(1024)
        assert chunk, f"connection closed after {answer!r}"
        answer += chunk


@pytest.mark.parametrize("bind", [uvicorn_bound, proto_zero])
@pytest.mark.parametrize("protocol", [HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol],
                         ids=["httptools", "h11"])
def test_connections_send_at_once_whatever_socket_they_were_accepted_on(protocol: type, bind: object) -> None:
    with serving(protocol, bind) as (server, address), \
            socket.create_connection(address, timeout=10) as client:
        get(client)
        (connection,) = server.server_state.connections  # the server's side of this connection
        accepted = connection.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        took = []
        for _ in range(9):  # the stall hit every request after a connection's first
            start = time.perf_counter()
            get(client)
            took.append(time.perf_counter() - start)
        assert statistics.median(took) < STALL_S, f"requests waited for an acknowledgement: {took}"
