"""Serve the app with uvicorn inside the caller's event loop.

The daemon owns the process: its event loop, its signals and its logging. So
uvicorn runs as one task among the scheduler's, with no lifespan (the daemon
starts and stops resources itself), no logging config of its own and no
signal handlers (uvicorn's would swallow the SIGTERM the daemon handles).

Nor does it tick: uvicorn's main loop wakes every 0.1 s to refresh the ``Date`` header
and to look for a stop, which is most of what an idle daemon would otherwise do. Here
the header is made when a response reads it (:class:`_DatedState`) and the main loop
waits for :meth:`UvicornHandle.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Generator, Sequence
from email.utils import formatdate

import uvicorn
from fastapi import FastAPI
from uvicorn.server import ServerState

# Connections still open this long after stop() are cut: a stuck client must
# not delay the daemon's graceful exit.
GRACEFUL_SHUTDOWN_SECONDS = 5.0


class _DatedState(ServerState):
    """uvicorn's shared server state whose default headers (``Date`` first, as uvicorn
    makes them) are made when a response reads them, at most once a second, instead
    of by a timer."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._config = config
        self._second = -1
        self._headers: list[tuple[bytes, bytes]] = []
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        second = int(time.time())
        if second != self._second:
            self._second = second
            date = [(b"date", formatdate(second, usegmt=True).encode())]
            dated = date if self._config.date_header else []
            self._headers = dated + self._config.encoded_headers  # set by the startup
        return self._headers

    @default_headers.setter
    def default_headers(self, _value: list[tuple[bytes, bytes]]) -> None:
        """uvicorn's own refresh (its ``on_tick``, never called here) sets nothing."""


class _Server(uvicorn.Server):
    """A uvicorn server that installs no signal handlers, reports startup and does not
    tick while it serves."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.server_state = _DatedState(config)
        self.ready = asyncio.Event()
        self._exit = asyncio.Event()

    def exit(self) -> None:
        """Stop accepting connections and end :meth:`main_loop`."""
        self.should_exit = True
        self._exit.set()

    async def main_loop(self) -> None:
        await self._exit.wait()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: Sequence[socket.socket] | None = None) -> None:
        await super().startup(sockets=list(sockets) if sockets is not None else None)
        self.ready.set()


class UvicornHandle:
    """A running HTTP server: wait for it to listen, learn its port, stop it."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._task = asyncio.create_task(self._run(), name="tminus-http")

    async def _run(self) -> None:
        try:
            await self._server.serve()
        except SystemExit:
            # uvicorn exits the process when it cannot bind; here it is an error
            # the daemon reports like any other.
            config = self._server.config
            raise OSError(f"cannot listen on {config.host}:{config.port}") from None

    async def started(self) -> None:
        """Return once the server listens; raise if it could not start."""
        ready = asyncio.ensure_future(self._server.ready.wait())
        try:
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self._server.ready.is_set():
            await self._task  # raises the startup error
            raise OSError("HTTP server stopped before it listened")

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the HTTP server is not listening")

    @property
    def host(self) -> str:
        return str(self._server.config.host)

    async def stop(self) -> None:
        """Stop accepting connections, let open requests finish, return when closed."""
        self._server.exit()
        with contextlib.suppress(OSError):
            await self._task


async def serve(app: FastAPI, host: str, port: int) -> UvicornHandle:
    """Serve ``app`` on ``host:port`` in the running loop; return once it listens.

    Raises ``OSError`` when it cannot listen. ``handle.port`` is the bound port
    (the real one for port 0); ``await handle.stop()`` stops it.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_SECONDS),
        # Bounded like the API itself: small headers, few concurrent connections.
        h11_max_incomplete_event_size=16 * 1024,
        limit_concurrency=256,
    )
    handle = UvicornHandle(_Server(config))
    await handle.started()
    return handle
