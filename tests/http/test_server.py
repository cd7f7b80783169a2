"""The app served by a real uvicorn inside the test's event loop, on port 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

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


async def test_chunked_body_without_length_is_bounded_on_the_stream() -> None:
    # Issue 13: a chunked POST to a route that never reads its body took 12 MB.

    handle = await serve(
        create_app(FakeState(store=seeded_store(), api_token=TOKEN)), "127.0.0.1", 0
    )
    await handle.started()
    reader, writer = await asyncio.open_connection("127.0.0.1", handle.port)
    writer.write(
        b"POST /api/deliveries/msg_dead1/redeliver HTTP/1.1\r\nhost: x\r\n"
        b"transfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    answer = asyncio.create_task(reader.read(200))
    sent = 0
    try:
        for _ in range(12 * 16):  # 12 MB
            if answer.done():
                break
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 5)
            sent += 64 * 1024
    except (ConnectionError, TimeoutError):
        pass
    head = await asyncio.wait_for(answer, 5)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    await handle.stop()
    assert head.startswith(b"HTTP/1.1 413"), head
    assert sent < 12 * 1024 * 1024  # the server stopped reading long before 12 MB


async def test_small_chunked_body_still_reaches_the_route() -> None:
    state = FakeState(store=seeded_store(), api_token=TOKEN)
    handle = await serve(create_app(state), "127.0.0.1", 0)
    await handle.started()

    async def body() -> AsyncIterator[bytes]:
        yield b'{"by": "ana",'
        yield b' "note": "seen"}'

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{handle.port}") as client:
        r = await client.post(
            "/api/deliveries/msg_dead1/redeliver",
            content=body(),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    await handle.stop()
    assert r.status_code == 202


async def test_an_idle_server_sets_no_timer_and_still_dates_its_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handle = await serve(create_app(FakeState()), "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    call_at = loop.call_at

    def counting(when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        timers.append(when)
        return call_at(when, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting)
    await asyncio.sleep(0.5)  # one timer: this sleep's own
    assert len(timers) == 1, "the server woke the loop while nothing happened"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{handle.port}") as client:
        first = (await client.get("/healthz")).headers["date"]
        await asyncio.sleep(1.1)
        second = (await client.get("/healthz")).headers["date"]
    dated = [parsedate_to_datetime(d) for d in (first, second)]
    assert abs((datetime.now(UTC) - dated[1]).total_seconds()) < 2
    assert dated[1] > dated[0]  # made when asked, not frozen at the start
    started = time.monotonic()
    await handle.stop()
    assert time.monotonic() - started < 2
