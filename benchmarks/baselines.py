"""The baselines: what bare libraries do with the same work, run beside ``tminus run``.

Each runs in a process of its own (``python -m benchmarks.baselines KIND …``, one JSON
line on stdout) against the same receiver process as the daemon, so a figure and its
baseline see the same machine at the same moment:

* ``burst``: a bare ``httpx.AsyncClient`` posting the same number of webhook bodies at
  a fixed concurrency, as fast as it can;
* ``lateness``: a bare APScheduler ``AsyncIOScheduler`` with one date job per reminder,
  each posting with httpx at its moment;
* ``fairness``: the burst on path ``/a`` while, from a second client, channel B's posts
  go out at their moments to ``/b``: how long the receiver alone makes B wait.

Every body carries ``reminder.due_at``, as tminus's do, so the receiver's arrivals give
lateness the same way for both.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler


def body(index: int, due: float, channel: str = "a") -> bytes:
    """A webhook body of the size and shape tminus sends (``type``, milestone, reminder)."""
    at = datetime.fromtimestamp(due, UTC).isoformat(timespec="milliseconds")
    document = {
        "type": "milestone.reached",
        "delivery_id": f"msg_{channel}{index:08d}" + "0" * 40,
        "milestone": {
            "id": f"{channel}{index:05d}",
            "title": f"Deadline {index}",
            "at": at,
            "timezone": "UTC",
            "description": None,
            "tags": [],
            "links": [],
        },
        "reminder": {"offset": "PT0S", "label": "at the moment", "due_at": at},
        "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "late": False,
        "attempt": 1,
    }
    return json.dumps(document, separators=(",", ":")).encode()


HEADERS = {"content-type": "application/json", "user-agent": "baseline/1"}


def _client(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Generous timeouts: on a loaded machine a request waiting for a pooled connection
    # must not fail (tminus's channels wait as long as their timeout says).
    return httpx.AsyncClient(limits=limits, headers=HEADERS, timeout=60.0)


async def _drain(client: httpx.AsyncClient, url: str, bodies: list[bytes], workers: int) -> None:
    queue = iter(bodies)

    async def worker() -> None:
        for content in queue:
            (await client.post(url, content=content)).raise_for_status()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


async def burst(url: str, count: int, concurrency: int, start: float) -> dict[str, float]:
    bodies = [body(i, start) for i in range(count)]
    async with _client(concurrency) as client:
        await _sleep_until(start)
        began, cpu = time.perf_counter(), time.process_time()
        await _drain(client, url, bodies, concurrency)
        elapsed = time.perf_counter() - began
        cpu_ms = (time.process_time() - cpu) / count * 1000
    return {"elapsed": elapsed, "rate": count / elapsed, "cpu_ms": cpu_ms}


async def lateness(url: str, count: int, spread: float, start: float) -> dict[str, float]:
    dues = [start + spread * i / count for i in range(count)]
    async with _client(64) as client:

        async def post(content: bytes) -> None:
            (await client.post(url, content=content)).raise_for_status()

        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
        for i, due in enumerate(dues):
            scheduler.add_job(
                post,
                "date",
                run_date=datetime.fromtimestamp(due, UTC),
                args=[body(i, due)],
                misfire_grace_time=None,
            )
        await _sleep_until(dues[-1] + 2.0)
        scheduler.shutdown(wait=False)
    return {}


async def fairness(
    url: str, burst_count: int, count: int, spread: float, concurrency: int, start: float
) -> dict[str, float]:
    bulk = [body(i, start) for i in range(burst_count)]
    dues = [start + spread * (i + 1) / count for i in range(count)]
    async with _client(concurrency) as client_a, _client(16) as client_b:

        async def one(i: int, due: float) -> None:
            await _sleep_until(due)
            (await client_b.post(f"{url}/b", content=body(i, due, "b"))).raise_for_status()

        await _sleep_until(start)
        await asyncio.gather(
            _drain(client_a, f"{url}/a", bulk, concurrency),
            *(one(i, due) for i, due in enumerate(dues)),
        )
    return {}


def main() -> None:
    """``KIND URL NUMBERS… LEAD``: the last number is how many seconds after this process
    has started (its imports done) the work is due, so a slow start is not lateness."""
    kind, url, *numbers = sys.argv[1:]
    args = [float(n) for n in numbers]
    args[-1] = time.time() + args[-1]
    if kind == "burst":
        result = asyncio.run(burst(url, int(args[0]), int(args[1]), args[2]))
    elif kind == "lateness":
        result = asyncio.run(lateness(url, int(args[0]), args[1], args[2]))
    elif kind == "fairness":
        result = asyncio.run(
            fairness(url, int(args[0]), int(args[1]), args[2], int(args[3]), args[4])
        )
    else:
        raise SystemExit(f"unknown baseline {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
