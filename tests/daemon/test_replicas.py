"""Several ``tminus run`` replicas on one PostgreSQL share the work, each delivery once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Receiver, Response

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _replicas(
    tmp_path: Path, url: str, receiver: Receiver, n: int = 2, **env: str
) -> list[DaemonProcess]:
    config = tmp_path / "milestones.yaml"
    write_config(config, webhook_config(receiver.url, PLACEHOLDER))
    return [
        DaemonProcess(workdir=tmp_path / f"r{i}", config=config, database_url=url, env=dict(env))
        for i in range(n)
    ]


def test_two_replicas_deliver_each_reminder_once(
    tmp_path: Path, pg_databases: Callable[[], str], receiver: Receiver
) -> None:
    url = pg_databases()
    replicas = _replicas(tmp_path, url, receiver)
    try:
        for r in replicas:
            r.workdir.mkdir()
            r.start()
        at = iso_in(3)
        config = webhook_config(
            receiver.url,
            [{"id": f"m{i:03d}", "title": f"Deadline {i}", "at": at} for i in range(120)],
        )
        for r in replicas:  # both replicas read the same file; each is told to reload
            r.reload_with(config)
        receiver.wait_ids(120, timeout=30)
        replicas[0].wait_statuses({"sent": 120}, timeout=15)
        # A graceful stop lets every request in flight finish: once both replicas have
        # exited, every duplicate there would be has arrived.
        for r in replicas:
            assert r.stop() == 0
        ids = receiver.webhook_ids()
        assert len(ids) == 120
        assert max(ids.values()) == 1, "a delivery was sent by both replicas"
    finally:
        for r in replicas:
            r.close()


def test_a_dead_replicas_claims_are_taken_over(
    tmp_path: Path, pg_databases: Callable[[], str]
) -> None:
    url = pg_databases()
    slow = Receiver(Response(200, b"ok", delay=0.05)).start()
    replicas = _replicas(tmp_path, url, slow, TMINUS_LEASE_SECONDS="3")
    first, second = replicas
    try:
        first.workdir.mkdir()
        second.workdir.mkdir()
        first.start()
        at = iso_in(2)
        config = webhook_config(
            slow.url,
            [{"id": f"m{i:03d}", "title": f"Deadline {i}", "at": at} for i in range(200)],
        )
        first.reload_with(config)
        slow.wait_for(20, timeout=20)
        first.kill()  # dies holding claims on deliveries in flight
        assert len({r.headers["webhook-id"] for r in slow.requests}) < 200
        second.start()  # reads the same config file; takes over once the leases expire
        ids = slow.wait_ids(200, timeout=60)
        assert len(ids) == 200, f"lost {200 - len(ids)} deliveries"
        # Rows the dead replica held are sent again once their lease expires.
        second.wait_statuses({"sent": 200}, timeout=30)
        assert second.stop() == 0
    finally:
        for r in replicas:
            r.close()
        slow.stop()
