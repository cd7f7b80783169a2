"""A burst on PostgreSQL: thousands of reminders due at one instant, every outcome kept.

Lease renewal (one statement over hundreds of rows in flight) and the batched outcome
write used to lock rows in different orders and deadlock; the losing batch of outcomes
stayed ``sending`` through a clean SIGTERM and was sent again on the next start.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.conftest import PLACEHOLDER, webhook_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Receiver, Response

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

BURST = 1000


def _wait_ids(receiver: Receiver, count: int, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
        if len(ids) >= count:
            return ids
        time.sleep(0.2)
    return Counter(r.headers["webhook-id"] for r in receiver.requests)


def test_a_burst_keeps_every_outcome_through_sigterm_and_restart(
    make_daemon: Callable[..., DaemonProcess], pg_databases: Callable[[], str], tmp_path: Path
) -> None:
    receiver = Receiver(Response(200, b"ok", delay=0.01)).start()
    try:
        daemon = make_daemon(
            webhook_config(receiver.url, PLACEHOLDER),
            database_url=pg_databases(),
            # Leases renewed every second: renewal and recording overlap all the time.
            env={"TMINUS_LEASE_SECONDS": "3"},
        ).start()
        at = iso_in(6)
        burst = [{"id": f"b{i:05d}", "title": f"Burst {i}", "at": at} for i in range(BURST)]
        daemon.reload_with(webhook_config(receiver.url, [*PLACEHOLDER, *burst]), timeout=60)
        ids = _wait_ids(receiver, BURST, timeout=180)
        assert len(ids) == BURST, f"lost {BURST - len(ids)} deliveries"
        time.sleep(2.0)  # the last outcomes are written
        assert daemon.stop() == 0
        assert "deadlock" not in daemon.log().lower()
        statuses = Counter(row["status"] for row in daemon.history())
        assert statuses == {"sent": BURST}, statuses
        # Nothing the receiver answered 200 is sent again by the next start.
        before = len(receiver.requests)
        daemon.start()
        time.sleep(8.0)  # past the 3 s lease of anything left claimed, and a sweep
        assert len(receiver.requests) == before, "deliveries answered 200 were sent again"
        assert daemon.stop() == 0
    finally:
        receiver.stop()
