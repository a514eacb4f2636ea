"""Our HTTP protocols send each write at once (TCP_NODELAY), however uvicorn bound the listening socket.

With ``--workers N`` uvicorn's supervisor binds the socket itself (``Config.bind_socket``, ``proto``
0), and asyncio then leaves Nagle's algorithm on for every connection: an answer's body waited for
the client's delayed acknowledgement of its head, ~40 ms (app/protocol.py). Here a real uvicorn
server serves on a socket bound that very way, and the test reads the option on the server's side
of a live connection.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app.protocol import HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol


async def ok(scope: Scope, receive: Receive, send: Send) -> None:  # the smallest ASGI app: 200 and two bytes
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("protocol", [HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol],
                         ids=["httptools", "h11"])
def test_connections_on_a_socket_bound_as_workers_bind_it_send_at_once(protocol: type) -> None:
    config = uvicorn.Config(ok, host="127.0.0.1", port=0, http=protocol, loop="asyncio", lifespan="off",
                            log_level="warning")
    listener = config.bind_socket()  # what the supervisor of --workers N hands its workers
    assert listener.proto == 0  # the case asyncio leaves alone
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        with socket.create_connection(listener.getsockname(), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            (connection,) = server.server_state.connections  # the server's side of this connection
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
