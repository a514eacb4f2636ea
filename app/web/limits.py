"""The doors of the server: how big a body may be, how long it may take to arrive, how many at once.

Two pure ASGI middlewares, outermost first:

- ``BodyLimitMiddleware`` (every request): a body over ``max_bytes`` is 413 before it is buffered
  whole, whatever the headers say; a body that has not arrived ``timeout_s`` after the request's
  head is 408; a request that declares both Content-Length and Transfer-Encoding is 400 (RFC 9112,
  6.1 lets a server refuse it, and says the connection is closed after the answer either way).
- ``InFlightLimitMiddleware`` (``POST /predict...``, ``/explain``): reads the body first, then takes one of
  ``limit`` slots for the work, or for the costly routes (COSTLY_PATHS) one of ``costly_limit`` slots
  of their own. A client that sends its body slowly, or not at all, holds no slot: it costs an idle
  connection until its deadline, and everyone else is answered.

The head of a request (before the app sees anything) has its own deadline in app.web.protocol.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# the routes whose work grows with what the client chooses (pieces of ink, images in a batch, a
# backward pass): their own slots, so that a crowd of them leaves the page's /predict answering
COSTLY_PATHS = frozenset({"/predict/number", "/predict/batch", "/explain"})


class RefusedError(Exception):
    """The request is answered with ``status`` and ``detail``, and its connection closed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None,
                 close: bool = True) -> None:
    """Answer with a JSON error, like every other error of the API."""
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            *(headers or [])]
    if close:  # the rest of the body, if any, is never read: the connection cannot be reused
        head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Counts a body as it streams and gives it a deadline; refuses what cannot be framed safely."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and b"transfer-encoding" in headers:
            await refuse(send, 400, "the request has both Content-Length and Transfer-Encoding")
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await refuse(send, 413, f"the request body is over the {self.max_bytes} byte limit")
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        seen = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, body_done
            if body_done:  # afterwards only a disconnect can come, whenever it comes: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                late = f"the request body did not arrive within {self.timeout_s:g} s"
                raise RefusedError(408, late) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # only a chunked body can get here: the server stops at a length
                    raise RefusedError(413, f"the request body is over the {self.max_bytes} byte limit")
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RefusedError as exc:
            if not started:
                await refuse(send, exc.status, exc.detail)


class InFlightLimitMiddleware:
    """Beyond ``limit`` prediction requests at work, answer 503 with Retry-After at once.

    Queuing without bound would let latency and memory grow with the load; a quick 503 tells a
    client (or the proxy in front) to come back, while the requests already admitted finish fast.
    Only the paths starting with one of ``prefixes`` count (the work on drawings): health checks and
    admin streams are not held up. The costly paths count apart, against ``costly_limit`` (default:
    ``limit``), in ``costly_in_flight``.
    A request takes its slot once its body has arrived whole (read here, through the body limit).
    """

    def __init__(self, app: ASGIApp, limit: int, prefixes: tuple[str, ...] = ("/predict", "/explain"),
                 retry_after_s: int = 1, costly_limit: int | None = None) -> None:
        self.app, self.limit, self.prefixes, self.retry_after = app, limit, prefixes, retry_after_s
        self.costly_limit = limit if costly_limit is None else costly_limit
        self.in_flight = 0
        self.costly_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "http.disconnect":
            return
        chunks = [first.get("body", b"")]
        more = first.get("more_body", False)
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        costly = scope["path"] in COSTLY_PATHS
        limit = self.costly_limit if costly else self.limit
        if (self.costly_in_flight if costly else self.in_flight) >= limit:
            kind = "costly requests" if costly else "requests"
            await refuse(send, 503, f"the server is busy ({limit} {kind} in flight); "
                                    f"retry in {self.retry_after} s",
                         [(b"retry-after", str(self.retry_after).encode())], close=False)
            return
        body = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        await self._admitted(scope, replay, send, costly)

    async def _admitted(self, scope: Scope, receive: Receive, send: Send, costly: bool) -> None:
        # one event loop per worker: no lock needed between awaits
        if costly:
            self.costly_in_flight += 1
        else:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            if costly:
                self.costly_in_flight -= 1
            else:
                self.in_flight -= 1
