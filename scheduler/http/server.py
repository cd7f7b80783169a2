"""Serve the app with uvicorn inside the caller's event loop.

The daemon owns the process: its event loop, its signals and its logging. So
uvicorn runs as one task among the scheduler's, with no lifespan (the daemon
starts and stops resources itself), no logging config of its own and no
signal handlers (uvicorn's would swallow the SIGTERM the daemon handles).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator, Sequence

import uvicorn
from fastapi import FastAPI

# Connections still open this long after stop() are cut: a stuck client must
# not delay the daemon's graceful exit.
GRACEFUL_SHUTDOWN_SECONDS = 5.0


class _Server(uvicorn.Server):
    """A uvicorn server that installs no signal handlers and reports startup."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

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
        self._server.should_exit = True
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
