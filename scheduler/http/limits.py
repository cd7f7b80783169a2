"""Request size bounds, as a small pure-ASGI middleware.

tminus's API takes no large input, so anything big is refused before a route
runs: query strings over 4 KiB get 414, bodies over 64 KiB get 413 (from the
``content-length`` header at once; a chunked body, which declares no length, is
read here up to the limit before the route runs, so a route that never reads
its body cannot make the server take in megabytes).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
MAX_QUERY_BYTES = 4 * 1024
MAX_PATH_BYTES = 4 * 1024


class _TooLarge(HTTPException):
    """Raised from ``receive``: a route reading the body answers 413 through the
    framework's exception handling; anything else is caught here."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Refuse oversized query strings (414) and bodies (413)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = MAX_BODY_BYTES,
        max_query: int = MAX_QUERY_BYTES,
        max_path: int = MAX_PATH_BYTES,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_query = max_query
        self.max_path = max_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query:
            await _refuse(send, 414, f"query string longer than {self.max_query} bytes")
            return
        if len(scope.get("raw_path") or scope["path"].encode()) > self.max_path:
            await _refuse(send, 414, f"path longer than {self.max_path} bytes")
            return
        streamed = False
        for name, value in scope.get("headers", []):
            if name == b"transfer-encoding":
                streamed = True
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(send, 400, "invalid content-length")
                    return
                if declared > self.max_body:
                    await _refuse(send, 413, f"body larger than {self.max_body} bytes")
                    return
        if streamed:
            # A chunked body declares no length, and a route that never reads its body
            # would let the server take in all of it: read it here, at most max_body.
            buffered = await self._read_bounded(receive)
            if buffered is None:
                await _refuse(send, 413, f"body larger than {self.max_body} bytes")
                return
            await self.app(scope, _replay(buffered, receive), send)
            return
        await self._bounded(scope, receive, send)

    async def _read_bounded(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None once it passes ``max_body``."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return message
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body", False):
                return {"type": "http.request", "body": bytes(body), "more_body": False}

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, refusing a body that grows past ``max_body`` as it is read."""
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge(self.max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, f"body larger than {self.max_body} bytes")


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that gives ``first`` once, then whatever the server sends next."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
