"""``tminus run`` with quiet hours and digests: real subprocesses, a loopback receiver.

Quiet hours have minute resolution, so the window under test opens at the next whole
minute (at least a few seconds away) and a reminder due before it waits for it.
Digests run every minute (``* * * * *``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def _next_minute(lead: float = 10.0) -> datetime:
    """The next whole minute at least ``lead`` seconds away."""
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if (start - now).total_seconds() < lead:
        start += timedelta(minutes=1)
    return start


def _early_in_a_minute(low: float = 4.0, high: float = 40.0) -> None:
    """Wait until the clock is ``low``..``high`` seconds into a minute, so a daemon
    started now is up well before the next minute's fire and a restart after that
    fire stays inside its minute."""
    second = datetime.now(UTC).second + datetime.now(UTC).microsecond / 1e6
    if second < low:
        time.sleep(low - second)
    elif second > high:
        time.sleep(60 - second + low)


def test_a_reminder_due_outside_the_hours_arrives_at_the_opening(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    opening = _next_minute(lead=25)  # the daemon's start and the reminder's 3 s fit before
    closing = opening + timedelta(minutes=30)
    hours = {"days": "daily", "between": f"{opening:%H:%M}-{closing:%H:%M}", "timezone": "UTC"}
    url = receiver.url + "/quiet"
    d = make_daemon(webhook_config(url, PLACEHOLDER, channel={"hours": hours})).start()
    due = iso_in(3)
    d.reload_with(
        webhook_config(
            url, [{"id": "quiet", "title": "Due at night", "at": due}], channel={"hours": hours}
        )
    )
    # It falls due outside the hours: held (in history), nothing sent before that.
    deadline = time.monotonic() + 20
    while True:
        arrived = len(receiver.requests)
        rows = d.history()
        if [h["status"] for h in rows] == ["held"]:
            break
        assert time.monotonic() < deadline and datetime.now(UTC) < opening, rows
        time.sleep(0.2)
    assert arrived == 0
    (row,) = rows
    assert row["reason"] == "quiet_hours" and row["attempts"] == 0
    assert datetime.fromisoformat(row["next_attempt_at"]) == opening
    wait = (opening - datetime.now(UTC)).total_seconds() + 15
    (req,) = receiver.wait_for(1, timeout=wait)
    assert req.arrived >= opening.timestamp() - 0.01, "sent before the opening"
    assert req.arrived - opening.timestamp() < 2.0, "not sent at the opening"
    body = req.json()
    assert body["held"] is True
    assert datetime.fromisoformat(body["reminder"]["due_at"]) == datetime.fromisoformat(due)
    assert body["attempt"] == 1 and body["late"] is False
    assert d.stop() == 0
    assert len(receiver.requests) == 1
    assert [(h["status"], h["attempts"]) for h in d.history()] == [("sent", 1)]


def _digest_config(url: str, **digest: Any) -> dict[str, Any]:
    soon = datetime.now(UTC)
    milestones = [
        {
            "id": "renewal",
            "title": "Contract renewal",
            "at": _iso(soon + timedelta(hours=1)),
            "tags": ["contracts"],
        },
        {
            "id": "picnic",
            "title": "Team picnic",
            "at": _iso(soon + timedelta(minutes=30)),
            "tags": ["social"],
        },
        {
            "id": "audit",
            "title": "Contract audit",
            "at": _iso(soon + timedelta(hours=5)),
            "tags": ["contracts"],
        },
    ]
    config = webhook_config(
        url + "/hook",
        milestones,
        extra_channels={"team": {"type": "webhook", "url": url + "/digest"}},
    )
    config["digests"] = [
        {
            "id": "every",
            "schedule": "* * * * *",
            "within": "2h",
            "notify": ["team"],
            "tags": ["contracts"],
            **digest,
        }
    ]
    return config


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def test_an_every_minute_digest_is_sent_once_per_fire_across_a_restart(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    _early_in_a_minute()
    d = make_daemon(_digest_config(receiver.url)).start()
    # Catch-up: of the fires of the last hour only the latest goes out, late, at once.
    (late,) = receiver.wait_for(1, timeout=15)
    # Then the next minute's fire, on time.
    wait = (_next_minute(lead=0) - datetime.now(UTC)).total_seconds() + 10
    _, on_time = receiver.wait_for(2, timeout=wait)
    first, second = late.json(), on_time.json()
    assert (first["late"], second["late"]) == (True, False)
    for req, body in ((late, first), (on_time, second)):
        assert req.path == "/digest"
        assert body["type"] == "digest"
        assert body["digest"]["id"] == "every" and body["digest"]["within"] == "PT2H"
        assert [m["id"] for m in body["milestones"]] == ["renewal"]
        assert body["milestones"][0]["acknowledged"] is None
        assert body["delivery_id"] == req.headers["webhook-id"]
    fired = [datetime.fromisoformat(b["digest"]["fired_at"]) for b in (first, second)]
    assert fired[1] - fired[0] == timedelta(minutes=1)
    assert fired[1].second == 0 and on_time.arrived >= fired[1].timestamp() - 0.01
    assert on_time.arrived - fired[1].timestamp() < 2.0
    # A restart inside the same minute sends neither fire again.
    assert d.stop() == 0
    d.start()
    assert datetime.now(UTC) < fired[1] + timedelta(seconds=55), "restart left the minute"
    time.sleep(2)
    assert d.stop() == 0
    assert receiver.webhook_ids() == {
        late.headers["webhook-id"]: 1,
        on_time.headers["webhook-id"]: 1,
    }
    digests = [h for h in d.history() if h["milestone_id"] == "digest:every"]
    assert sorted(h["status"] for h in digests if h["status"] != "scheduled") == ["sent", "sent"]


@pytest.mark.postgres
def test_two_replicas_send_each_digest_once(
    tmp_path: Path, pg_databases: Callable[[], str], receiver: Receiver
) -> None:
    _early_in_a_minute()
    url = pg_databases()
    config = tmp_path / "milestones.yaml"
    write_config(config, _digest_config(receiver.url))
    replicas = [
        DaemonProcess(workdir=tmp_path / f"r{i}", config=config, database_url=url) for i in range(2)
    ]
    try:
        for r in replicas:
            r.workdir.mkdir()
            r.start()
        wait = (_next_minute(lead=0) - datetime.now(UTC)).total_seconds() + 10
        ids = receiver.wait_ids(2, timeout=wait)  # the coalesced late fire, then on time
        assert len(ids) == 2, ids
        for r in replicas:
            assert r.stop() == 0
        ids = receiver.webhook_ids()
        assert len(ids) == 2 and max(ids.values()) == 1, "a digest was sent twice"
        fired = sorted(req.json()["digest"]["fired_at"] for req in receiver.requests)
        assert len(set(fired)) == 2
    finally:
        for r in replicas:
            r.close()
