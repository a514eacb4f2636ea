"""uvicorn's h11 HTTP protocol with a deadline for a request's head.

uvicorn closes a connection that stays idle between two requests, but one that sends part of a
request's head (a line of headers, then nothing) is kept open for as long as the client likes, and
the app never hears of it. Here every request's head must be complete within the receive timeout
(``DIGITNET_RECEIVE_TIMEOUT``) of the connection opening or of the previous answer; if it is not,
the connection gets a 408 and is closed. The body's own deadline is in app.limits.

Chosen with ``uvicorn.run(..., http="app.protocol:HeadDeadlineProtocol")`` (``digitnet serve`` does).
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings


@functools.cache
def head_timeout_s() -> float:
    """Read once per process (each uvicorn worker is one): the settings' receive timeout."""
    return Settings.from_env().receive_timeout_s


def _answer_408(seconds: float) -> bytes:
    body = json.dumps({"detail": f"the request head did not arrive within {seconds:g} s"}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class HeadDeadlineProtocol(H11Protocol):
    """H11Protocol, plus: a request's head that has not arrived in time is a 408 and a closed connection."""

    timeout_s: float | None = None  # None: the settings' receive timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the app has the request now
            self._stop_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._start_head_timer()  # the next request's head, on the same connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        seconds = self.timeout_s if self.timeout_s is not None else head_timeout_s()
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(seconds, self._head_late, seconds)

    def _stop_head_timer(self) -> None:
        timer: Any = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_late(self, seconds: float) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(_answer_408(seconds))
            self.transport.close()
