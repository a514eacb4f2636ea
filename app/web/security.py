"""Security headers on every HTTP response: a strict Content-Security-Policy and its companions.

The admin token lives in the admin tab's session storage, so a script injected into any page of
this origin could read it. The policy lets a page run only the scripts and styles served from
``/static`` (no inline ``<script>``, no ``style="..."`` in markup, no ``eval``), talk only to this
origin, and be framed by nobody. Swagger UI runs under it unchanged: its start-up is the static
file ``static/swagger-init.js``, and the styles it sets from JavaScript go through the CSSOM,
which ``style-src`` does not restrict (tests/app/web/test_security_headers.py watches for violations
in a real browser).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # the favicon is `data:,`; Swagger UI's icons are data: URIs in its CSS
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # for browsers that predate frame-ancestors
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: appends ``SECURITY_HEADERS`` to each ``http.response.start``.

    The headers are bytes built once at import; per response the only work is a look at the
    (few) header names already there, so that a route that sets its own policy keeps it, and
    one list concatenation. The message is copied rather than changed in place, since a
    response may hand us a header list it keeps using.
    """

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]] = SECURITY_HEADERS) -> None:
        self.app, self.headers = app, headers
        self.names = frozenset(name for name, _ in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # ASGI header names are lower-case bytes, so a set lookup finds the app's own
                present = self.names.intersection(name for name, _ in headers)
                extra = self.headers if not present else [h for h in self.headers if h[0] not in present]
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
