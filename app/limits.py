"""Refuse request bodies over a size limit before reading them whole (413, JSON)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Pure ASGI middleware: checks Content-Length up front, and counts streamed bytes as they come.

    A declared length over the limit is answered at once, without reading the body. A body without
    one (chunked) is counted as it streams and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            # the HTTP server passes on no more than the declared length (h11 and httptools both
            # stop there), so there is nothing left to count: no wrappers, no cost per request
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"the request body is over the {self.max_bytes} byte limit"})
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body.encode()})


class InFlightLimitMiddleware:
    """Beyond ``limit`` prediction requests in flight, answer 503 with Retry-After at once.

    Queuing without bound would let latency and memory grow with the load; a quick 503 tells a
    client (or the proxy in front) to come back, while the requests already admitted finish fast.
    Only the paths starting with ``prefix`` count: health checks and admin streams are not held up.
    """

    def __init__(self, app: ASGIApp, limit: int, prefix: str = "/predict", retry_after_s: int = 1) -> None:
        self.app, self.limit, self.prefix, self.retry_after = app, limit, prefix, retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = json.dumps({"detail": f"the server is busy ({self.limit} requests in flight); "
                                         f"retry in {self.retry_after} s"}).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", str(self.retry_after).encode()),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1  # one event loop per worker: no lock needed between awaits
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
