"""HTTP clients, one per channel.

Each channel posts through connections of its own, as many as the requests it may have
in flight (:data:`~scheduler.delivery.policy.DEFAULT_CONCURRENCY`), so a burst on one
channel never leaves another waiting for a connection. The daemon owns the clients (it
opens them lazily, by channel name, and closes them all at the end).

A channel's connections are split into small pools (:class:`PooledTransport`): httpcore
1.0's pool re-examines every one of its connections, and polls each idle socket, on
every request start and end (encode/httpcore#1035), so one pool of 64 spent more CPU on
that bookkeeping than on the requests themselves during a burst (about 40 % of the
daemon's busy time, profiled; 70 % in a bare client at concurrency 64). Eight pools of
eight do the same work at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType

import httpx

POOL_CONNECTIONS = 8  # connections per small pool of a channel's transport


class PooledTransport(httpx.AsyncBaseTransport):
    """``connections`` keep-alive connections as several small httpcore pools; each
    request goes to the pool with the fewest requests in flight, so no pool queues a
    request while another has a connection free (with at most ``connections`` in flight:
    the channel's send slots)."""

    def __init__(self, *, connections: int, per_pool: int = POOL_CONNECTIONS) -> None:
        count = max(1, math.ceil(connections / per_pool))
        size = math.ceil(connections / count)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(count)]
        self._in_flight = [0] * count  # requests whose response is not closed yet

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._in_flight[index] -= 1
            raise
        # The connection stays taken until the response is closed, not just answered.
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, lambda: self._done(index))
        return response

    def _done(self, index: int) -> None:
        self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _Released(httpx.AsyncByteStream):
    """A response stream that reports, once, when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, closed: Callable[[], None]) -> None:
        self._stream = stream
        self._closed: Callable[[], None] | None = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            closed, self._closed = self._closed, None
            if closed is not None:
                closed()


class ChannelClients:
    """Lazily made ``httpx.AsyncClient`` values, one per channel name."""

    def __init__(self, *, connections: int, headers: Mapping[str, str]) -> None:
        self._connections = connections
        self._headers = dict(headers)
        self._clients: dict[str, httpx.AsyncClient] = {}

    def for_channel(self, name: str) -> httpx.AsyncClient:
        """The client of channel ``name`` (the same one across reloads)."""
        client = self._clients.get(name)
        if client is None:
            client = httpx.AsyncClient(
                follow_redirects=False,
                transport=PooledTransport(connections=self._connections),
                headers=self._headers,
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
