"""Our HTTP protocols send each write at once (TCP_NODELAY), however the listening socket was bound.

asyncio sets TCP_NODELAY only on connections whose listening socket says it is TCP (``proto`` 6). A
socket bound with ``proto`` 0 (uvicorn's ``--workers N`` before 0.55, ``--fd``, a socket handed over
by systemd or gunicorn) left Nagle's algorithm on: an answer's body waited for the client's delayed
acknowledgement of its head (app/web/protocol.py). What we need is the behaviour, whatever uvicorn's
version: on both kinds of listening socket, the option is set on the server's side of a live
connection, and a kept-alive connection's requests are all answered. What the option saves a request
is benchmarks/nagle_stall.py's to measure, not this test's.
"""

from __future__ import annotations

import socket

import pytest

from app.web.protocol import HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol
from tests.tiny_server import Bind, get, proto_zero, serving, uvicorn_bound


@pytest.mark.parametrize("bind", [uvicorn_bound, proto_zero])
@pytest.mark.parametrize("protocol", [HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol],
                         ids=["httptools", "h11"])
def test_connections_send_at_once_whatever_socket_they_were_accepted_on(protocol: type, bind: Bind) -> None:
    with serving(protocol, bind) as (server, address), \
            socket.create_connection(address, timeout=10) as client:
        get(client)
        (connection,) = server.server_state.connections  # the server's side of this connection
        accepted = connection.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        for _ in range(9):  # the stall hit every request after a connection's first: each is answered
            get(client)
        assert server.server_state.connections == {connection}  # on the same connection
