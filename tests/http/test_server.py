"""The app served by a real uvicorn inside the test's event loop, on port 0."""

from __future__ import annotations

import signal
import socket

import httpx
import pytest

from scheduler.http import create_app, serve
from tests.http.fakes import TOKEN, FakeState, seeded_store


async def test_real_server_on_port_zero_leaves_signals_alone() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    state = FakeState(store=seeded_store(), api_token=TOKEN)
    handle = await serve(create_app(state), "127.0.0.1", 0)
    await handle.started()
    assert handle.port > 0
    assert {s: signal.getsignal(s) for s in before} == before
    base = f"http://127.0.0.1:{handle.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.post("/api/deliveries/msg_dead1/redeliver")).status_code == 401
        r = await client.post(
            "/api/deliveries/msg_dead1/redeliver", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert r.status_code == 202
        assert "server" not in r.headers  # no version banner
        long = await client.get("/api/deliveries?" + "a=1&" * 2000)
        assert long.status_code == 414
    await handle.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(base + "/healthz")


async def test_busy_port_is_an_error_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            await serve(create_app(FakeState()), "127.0.0.1", port)
