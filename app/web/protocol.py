"""uvicorn's HTTP protocols with a deadline for a request's head, and replies sent at once.

uvicorn closes a connection that stays idle between two requests, but one that sends part of a
request's head (a line of headers, then nothing) is kept open for as long as the client likes, and
the app never hears of it. Here every request's head must be complete within the receive timeout
(``DIGITNET_RECEIVE_TIMEOUT``) of the connection opening or of the previous answer; if it is not,
the connection gets a 408 and is closed. The body's own deadline is in app.web.limits.

Every connection also gets TCP_NODELAY. asyncio sets it only on a connection whose listening socket
says it is TCP (``proto`` 6); a socket bound with ``proto`` 0 leaves Nagle's algorithm on, so each
answer's body waited until the client acknowledged its head, and the client delays that
acknowledgement: with two workers the page's drawing took many times longer a request (uvicorn issue
3149; the figures are in docs/performance.md, Serving). uvicorn's ``--workers N`` bound such a socket
before 0.55; ``--fd``, systemd's socket activation and gunicorn may still hand one over.

Two parsers, the same deadline: ``HeadDeadlineHttpToolsProtocol`` on httptools (llhttp, in C: what
``digitnet serve`` runs, since it costs the server less a request, docs/performance.md) and
``HeadDeadlineProtocol`` on h11 (pure Python). Chosen with
``uvicorn.run(..., http="app.web.protocol:HeadDeadlineHttpToolsProtocol")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import sys
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings


@functools.cache
def head_timeout_s() -> float:
    """Read once per process (each uvicorn worker is one): the settings' receive timeout."""
    return Settings.from_env().receive_timeout_s


def _answer(status: bytes, detail: str) -> bytes:
    """A JSON error, as every error of the API, on a connection about to close."""
    body = json.dumps({"detail": detail}).encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on a TCP connection: each write leaves at once, not after the previous one is
    acknowledged (see the module docstring)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _HeadDeadline(asyncio.Protocol):
    """What both protocols share: a connection sends at once, and a timer is started when a head
    is awaited and stopped when it is in (or the connection ends)."""

    timeout_s: float | None = None  # None: the settings' receive timeout
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _head_timer: asyncio.TimerHandle | None = None

    def _awaiting_head(self) -> bool:
        """Every request whose head came in is answered: the next head is awaited (or half in)."""
        raise NotImplementedError

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        send_at_once(transport)
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        seconds = self.timeout_s if self.timeout_s is not None else head_timeout_s()
        self._head_timer = self.loop.call_later(seconds, self._head_late, seconds)

    def _stop_head_timer(self) -> None:
        timer: Any = self._head_timer
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_late(self, seconds: float) -> None:
        self._head_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.transport.write(_answer(b"408 Request Timeout",
                                         f"the request head did not arrive within {seconds:g} s"))
            self.transport.close()


class HeadDeadlineProtocol(_HeadDeadline, H11Protocol):
    """H11Protocol, plus: a request's head that has not arrived in time is a 408 and a closed connection."""

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the app has the request now
            self._stop_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._start_head_timer()  # the next request's head, on the same connection


class HeadDeadlineHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
    """HttpToolsProtocol, plus the head's deadline, and its refusals worded as the API's errors.

    llhttp itself refuses a request with both Content-Length and Transfer-Encoding (which app.web.limits
    refuses on h11); here that 400 says so, in JSON, as it does there.
    """

    _heads = 0  # heads parsed on this connection
    _answered = 0  # responses completed on it
    _refusal: bytes | None = None  # a 400 waiting for the request before it to be answered

    def _awaiting_head(self) -> bool:
        return self._heads == self._answered

    def on_headers_complete(self) -> None:
        self._heads += 1  # the head is in: the app has the request now
        self._stop_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()
        if self._refusal is not None and not self.transport.is_closing():
            self.transport.write(self._refusal)
            self.transport.close()
        elif not self.transport.is_closing() and self._awaiting_head():
            self._start_head_timer()  # the next request's head, on the same connection

    def send_400_response(self, msg: str) -> None:
        """Called while the parser's error is being handled (uvicorn's data_received). Bytes that
        follow a request's body (past its Content-Length) and are no request are refused once that
        request is answered, as h11 does: the app never sees them, and the client its answer."""
        error = str(sys.exception() or "")
        both = "Content-Length" in error and "Transfer-Encoding" in error
        detail = "the request has both Content-Length and Transfer-Encoding" if both else \
            f"the request is not valid HTTP/1.1 ({error or msg})"
        refusal = _answer(b"400 Bad Request", detail)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:  # its body is in
            if self._refusal is None:
                self._refusal = refusal
                self.flow.pause_reading()  # nothing more is read from this connection
            return
        self.transport.write(refusal)
        self.transport.close()
