"""A real HTTP receiver on loopback for delivery tests.

It runs in a thread so that both in-process async code and ``tminus run``
subprocesses can post to it. Each request is recorded with its arrival time;
answers come from a programmable script (a queue of responses, then a default).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time() at arrival
    client_port: int = 0  # the sender's end of the connection it came on

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


Responder = Callable[[Received], Response]


class _Server(ThreadingHTTPServer):
    """A listen backlog of 128 instead of 5: a burst of connections (a daemon catching
    up after a crash) is queued, not reset, as a production server would."""

    request_queue_size = 128


class Receiver:
    """Loopback HTTP server; ``url`` is where to post, ``requests`` what arrived."""

    def __init__(
        self, default: Response | Responder | None = None, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[Received] = []
        self.script: deque[Response] = deque()
        self.default: Response | Responder = default or Response(200, b"ok")
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: no request arrived
                    self.close_connection = True
                    return
                rec = Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                    int(self.client_address[1]),
                )
                with receiver._cond:
                    receiver.requests.append(rec)
                    scripted = receiver.script.popleft() if receiver.script else None
                    receiver._cond.notify_all()
                answer = scripted or receiver.default
                resp = answer(rec) if callable(answer) else answer
                if resp.delay:
                    time.sleep(resp.delay)
                payload = resp.body.encode() if isinstance(resp.body, str) else resp.body
                try:
                    self.send_response(resp.status)
                    for k, v in resp.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._scheme = "https" if tls else "http"
        if tls is not None:  # a failed handshake is an OSError in accept: the server skips it
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``count`` requests arrived (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} requests within {timeout}s, got {len(self.requests)}"
                    )
                self._cond.wait(left)
            return list(self.requests)

    def webhook_ids(self) -> Counter[str]:
        """How many requests arrived under each ``webhook-id`` (a repeat counts twice)."""
        with self._cond:
            return Counter(r.headers["webhook-id"] for r in self.requests)

    def wait_ids(self, count: int, timeout: float) -> Counter[str]:
        """Block until ``count`` distinct ``webhook-id`` values arrived, or ``timeout``
        passed; either way return the counts, for the caller's assertion to explain."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ids = Counter(r.headers["webhook-id"] for r in self.requests)
                left = deadline - time.monotonic()
                if len(ids) >= count or left <= 0:
                    return ids
                self._cond.wait(left)


@contextmanager
def running_receiver(
    default: Response | Responder | None = None, *, tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(default, tls=tls).start()
    try:
        yield receiver
    finally:
        receiver.stop()
