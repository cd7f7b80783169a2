"""A loopback webhook receiver in its own process, fast enough not to be the bottleneck.

The benchmarks measure the sender, so the receiver is a bare ``asyncio.Protocol``
speaking just enough HTTP/1.1 (keep-alive, ``content-length`` bodies) to answer
``200 ok`` at once, and it runs in a process of its own so it shares no GIL with the
daemon or the baselines. It keeps ``(arrival time, path, body)`` of every request; the
parent fetches and clears them over a pipe (:meth:`ReceiverProcess.take`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"
Arrival = tuple[float, str, bytes]  # time.time() at arrival, path, body


class _Http(asyncio.Protocol):
    def __init__(self, arrivals: list[Arrival]) -> None:
        self._arrivals = arrivals
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            path = head.split(" ", 2)[1]
            self._arrivals.append((time.time(), path, body))
            assert self._transport is not None
            self._transport.write(ANSWER)


def _serve(conn: Connection) -> None:
    arrivals: list[Arrival] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Http(arrivals), "127.0.0.1", 0, backlog=1024, reuse_address=True
        )
        port = server.sockets[0].getsockname()[1]
        conn.send(f"http://127.0.0.1:{port}")
        stopped = loop.create_future()

        def command() -> None:
            try:
                what = conn.recv()
            except EOFError:
                what = "stop"
            if what == "take":
                conn.send(list(arrivals))
                arrivals.clear()
            elif what == "count":
                conn.send(len(arrivals))
            elif not stopped.done():
                stopped.set_result(None)

        loop.add_reader(conn.fileno(), command)
        await stopped
        server.close()

    asyncio.run(main())


@dataclass
class ReceiverProcess:
    """The receiver process: ``url`` to post to; ``take()`` what arrived since the last call."""

    process: Any
    conn: Connection
    url: str

    @classmethod
    def start(cls) -> ReceiverProcess:
        parent, child = multiprocessing.Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child,), daemon=True
        )
        process.start()
        if not parent.poll(30):
            raise SystemExit("the benchmark receiver did not start within 30 s")
        return cls(process=process, conn=parent, url=str(parent.recv()))

    def count(self) -> int:
        self.conn.send("count")
        return int(self.conn.recv())

    def wait_for(self, count: int, timeout: float) -> int:
        """Poll until ``count`` requests arrived or ``timeout`` passed; returns the count."""
        deadline = time.monotonic() + timeout
        seen = self.count()
        while seen < count and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = self.count()
        return seen

    def take(self) -> list[Arrival]:
        self.conn.send("take")
        arrivals: list[Arrival] = self.conn.recv()
        return arrivals

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)
