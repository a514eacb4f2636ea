"""The smallest ASGI app behind a real uvicorn server, on a listening socket of either kind: what
tests/app/web/test_protocol.py checks TCP_NODELAY on, and benchmarks/nagle_stall.py times.

asyncio sets TCP_NODELAY only on connections whose listening socket says it is TCP (``proto`` 6);
``proto_zero`` binds one that does not, as ``--fd``, systemd or gunicorn may hand over.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import Receive, Scope, Send

from tests.waiting import wait_until

Bind = Callable[[uvicorn.Config], socket.socket]


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    """200 and two bytes, the head and the body in two writes (where Nagle's algorithm holds the second)."""
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
def serving(protocol: type, bind: Bind) -> Iterator[tuple[uvicorn.Server, tuple[str, int]]]:
    """A real uvicorn server running ``ok`` with ``protocol`` on the socket ``bind`` makes, in a thread."""
    config = uvicorn.Config(ok, host="127.0.0.1", port=0, http=protocol, loop="asyncio", lifespan="off",
                            log_level="warning")
    listener = bind(config)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn starting")
        assert server.started, "uvicorn did not start"
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
