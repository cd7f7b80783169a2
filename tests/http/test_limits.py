"""The request size bounds on their own, around a route that reads its body and one
that does not: a body streamed in chunks (no ``content-length`` to refuse it by) is
bounded on the stream either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from scheduler.http.limits import MAX_BODY_BYTES, RequestLimits


def _app() -> FastAPI:
    """Two routes, one reading its body and one not, behind the limits as in the app."""
    app = FastAPI()

    @app.post("/echo")
    async def echo_length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    @app.post("/ignore")
    async def ignore_body() -> dict[str, bool]:
        return {"read": False}

    app.add_middleware(RequestLimits)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://tminus") as c:
        yield c


def _chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            part = min(size, total - sent)
            sent += part
            yield b"x" * part

    return gen()


async def test_a_streamed_body_up_to_the_limit_is_read(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo", content=_chunks(MAX_BODY_BYTES))
    assert (r.status_code, r.json()) == (200, {"length": MAX_BODY_BYTES})


async def test_a_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo", content=_chunks(MAX_BODY_BYTES + 1))
    assert r.status_code == 413
    assert r.json() == {"detail": f"body larger than {MAX_BODY_BYTES} bytes"}


async def test_a_declared_length_over_the_limit_is_413_at_once(client: httpx.AsyncClient) -> None:
    r = await client.post("/ignore", content=b"x" * (MAX_BODY_BYTES + 1))
    assert r.status_code == 413
    assert r.json() == {"detail": f"body larger than {MAX_BODY_BYTES} bytes"}


async def test_a_streamed_body_is_bounded_even_where_the_route_never_reads_it(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/ignore", content=_chunks(MAX_BODY_BYTES * 2))
    assert r.status_code == 413
    small = await client.post("/ignore", content=_chunks(1024))
    assert (small.status_code, small.json()) == (200, {"read": False})
