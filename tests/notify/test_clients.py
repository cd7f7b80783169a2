"""A channel's client: its connections as small pools, against a real loopback receiver."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from scheduler.notify.clients import ChannelClients, PooledTransport
from tests.support.daemon import free_port
from tests.support.receiver import Response, running_receiver


def test_connections_are_split_into_pools_of_at_most_eight() -> None:
    cases = {64: [8] * 8, 20: [7, 7, 7], 8: [8], 3: [3]}
    for connections, sizes in cases.items():
        transport = PooledTransport(connections=connections)
        assert [p._pool._max_connections for p in transport._pools] == sizes


async def test_concurrent_requests_share_the_channel_connections_and_reuse_them() -> None:
    with running_receiver(Response(200, body="ok", delay=0.2)) as receiver:
        async with ChannelClients(connections=16, headers={}) as clients:
            client = clients.for_channel("hook")
            transport = client._transport
            assert isinstance(transport, PooledTransport)

            async def post() -> int:
                response = await client.post(receiver.url + "/x", content=b"{}")
                return response.status_code

            for _ in range(2):  # the second round goes out on the first round's connections
                statuses = await asyncio.gather(*(post() for _ in range(16)))
                assert statuses == [200] * 16
                assert transport._in_flight == [0, 0]
            ports = {r.client_port for r in receiver.requests}
            assert len(receiver.requests) == 32
            assert len(ports) == 16  # one connection per request in flight, kept alive


async def test_a_request_spreads_to_the_least_busy_pool() -> None:
    with running_receiver(Response(200, delay=0.3)) as receiver:
        transport = PooledTransport(connections=4, per_pool=2)
        async with httpx.AsyncClient(transport=transport) as client:
            first = asyncio.ensure_future(client.post(receiver.url, content=b"a"))
            await asyncio.sleep(0.1)
            assert sorted(transport._in_flight) == [0, 1]
            second = asyncio.ensure_future(client.post(receiver.url, content=b"b"))
            await asyncio.sleep(0.1)
            assert transport._in_flight == [1, 1]
            await asyncio.gather(first, second)
            assert transport._in_flight == [0, 0]


async def test_a_failed_request_gives_its_place_back() -> None:
    transport = PooledTransport(connections=2, per_pool=1)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{free_port()}/", content=b"{}")
    assert transport._in_flight == [0, 0]
