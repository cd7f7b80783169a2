"""HTTP clients, one per channel.

Each channel posts through a connection pool of its own, as large as the requests it
may have in flight (:data:`~scheduler.delivery.policy.DEFAULT_CONCURRENCY`), so a
burst on one channel never leaves another waiting for a connection. The daemon owns
the clients (it opens them lazily, by channel name, and closes them all at the end).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx


class ChannelClients:
    """Lazily made ``httpx.AsyncClient`` values, one per channel name."""

    def __init__(self, *, connections: int, headers: Mapping[str, str]) -> None:
        self._limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections
        )
        self._headers = dict(headers)
        self._clients: dict[str, httpx.AsyncClient] = {}

    def for_channel(self, name: str) -> httpx.AsyncClient:
        """The client of channel ``name`` (the same one across reloads)."""
        client = self._clients.get(name)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False, limits=self._limits, headers=self._headers
            )
            self._clients[name] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> ChannelClients:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
