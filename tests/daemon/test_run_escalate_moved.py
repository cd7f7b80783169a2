"""``tminus run`` end to end: escalations arrive at their moment on their channel only, and
a moved deadline is announced once to each channel that was told the old date (on a
reload, after a restart with an edited config, and from a fleet of replicas)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.timekeeping import format_when
from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Received, Receiver
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
BRUSSELS = ZoneInfo("Europe/Brussels")

WHY = "us-notice moved; withdrawal-effective follows it"
SLACK_PATH = "/services/T000/B000/XXXXXXXX"


def config(receiver: Receiver, milestones: list[dict[str, Any]]) -> dict[str, Any]:
    """``audit`` posts to ``/audit``, ``phones`` to ``/phones``, the Slack channel ``pager``
    to ``/services/…``: one receiver, three channels."""
    phones = {"type": "webhook", "url": receiver.url + "/phones", "timeout": "2s"}
    pager = {"type": "slack", "url": receiver.url + SLACK_PATH, "timeout": "2s"}
    return webhook_config(
        receiver.url + "/audit", milestones, extra_channels={"phones": phones, "pager": pager}
    )


def by_path(receiver: Receiver, path: str) -> list[Received]:
    return [r for r in receiver.requests if r.path == path]


def treaty(receiver: Receiver, notice_at: str) -> dict[str, Any]:
    """us-notice sends nothing itself; withdrawal-effective follows it by an hour: its
    "1 hour before" reminder goes to audit at the notice's moment, and its escalation to
    phones only at its own moment."""
    return config(
        receiver,
        [
            {"id": "us-notice", "title": "U.S. notice", "at": notice_at, "notify": []},
            {
                "id": "withdrawal-effective",
                "title": "INF Treaty withdrawal takes effect",
                "after": "us-notice",
                "offset": "1h",
                "remind": ["1h"],
                "escalate": [{"at": "0", "notify": ["phones"]}],
            },
        ],
    )


def shifted(instant: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(instant) + delta).isoformat(timespec="milliseconds")


def moved_notices(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.requests if r.json()["type"] == "milestone.moved"]


def assert_moved(body: dict[str, Any], was: str, now: str, why: str) -> None:
    assert body["milestone"]["id"] == "withdrawal-effective"
    moved = body["moved"]
    assert datetime.fromisoformat(moved["was"]) == datetime.fromisoformat(was) + timedelta(hours=1)
    assert datetime.fromisoformat(moved["now"]) == datetime.fromisoformat(now) + timedelta(hours=1)
    assert moved["why"] == why
    assert body["milestone"]["at"] == moved["now"]


def test_escalation_arrives_at_its_moment_on_its_channel_only(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(config(receiver, PLACEHOLDER)).start()
    at = iso_in(6)
    milestone = {
        "id": "notice-deadline",
        "title": "Last day to give notice",
        "at": at,
        "remind": ["0"],
        "escalate": [{"at": "3s", "notify": ["phones", "pager"]}],
    }
    d.reload_with(config(receiver, [milestone]))
    receiver.wait_for(3, timeout=20)
    (escalated,) = by_path(receiver, "/phones")
    body = escalated.json()
    assert body["type"] == "milestone.escalated"
    assert body["escalation"] == {"at": "PT3S", "level": 1}
    assert body["reminder"]["label"] == "escalation 1 · 3 seconds before"
    due = datetime.fromisoformat(at).timestamp() - 3
    assert escalated.arrived >= due - 0.01, "escalated before its moment"
    assert escalated.arrived - due < 1.5, f"late by {escalated.arrived - due:.3f}s"
    (slack,) = by_path(receiver, SLACK_PATH)
    assert slack.json()["text"] == (
        "Unacknowledged: Last day to give notice — "
        f"{format_when(datetime.fromisoformat(at).astimezone(BRUSSELS))} (Now)"
    )  # three seconds before the moment is "Now", as for any alert within 30 s of it
    assert slack.arrived >= due - 0.01, "escalated before its moment"
    (reached,) = by_path(receiver, "/audit")
    assert reached.json()["type"] == "milestone.reached"
    assert d.stop() == 0
    assert len(receiver.requests) == 3, "an alert was sent twice or to the wrong channel"
    assert sorted(h["status"] for h in d.history()) == ["sent", "sent", "sent"]


def test_a_reload_that_moves_the_base_tells_the_channels_that_were_told(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(config(receiver, PLACEHOLDER)).start()
    at = iso_in(4)
    d.reload_with(treaty(receiver, at))
    (reminder,) = receiver.wait_for(1, timeout=20)
    assert reminder.path == "/audit" and reminder.json()["type"] == "reminder.due"
    later = shifted(at, timedelta(days=1))
    d.reload_with(treaty(receiver, later))
    wait_until(lambda: moved_notices(receiver), timeout=15, message="no milestone.moved arrived")
    assert d.stop() == 0
    (notice,) = moved_notices(receiver)
    assert_moved(notice, at, later, WHY)
    assert by_path(receiver, "/phones") == [], "phones was never told the old date"
    rows = {(h["channel"], h["status"], h["reason"]) for h in d.history()}
    # the old occurrence's unsent escalation is cancelled as moved; the new one planned
    assert ("phones", "cancelled", "moved") in rows
    assert ("phones", "scheduled", "new") in rows


def test_a_restart_with_an_edited_config_tells_once(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(config(receiver, PLACEHOLDER)).start()
    at = iso_in(4)
    d.reload_with(treaty(receiver, at))
    receiver.wait_for(1, timeout=20)
    d.wait_statuses({"scheduled": 1, "sent": 1}, timeout=15)
    assert d.stop() == 0
    later = shifted(at, timedelta(days=1))
    write_config(d.config, treaty(receiver, later))  # edited while the daemon was down
    d.start()
    wait_until(lambda: moved_notices(receiver), timeout=15, message="no milestone.moved arrived")
    (notice,) = moved_notices(receiver)
    # After a restart the previous config is unknown, and us-notice sends nothing, so
    # nothing shows that the base moved: the notice names no reason rather than guess one.
    assert_moved(notice, at, later, "")
    d.wait_statuses({"sent": 2, "cancelled": 1, "scheduled": 2}, timeout=15)
    assert d.stop() == 0
    d.start()  # a second restart: the database knows the channel was told
    d.wait_log("reconciled", count=3)
    assert d.stop() == 0
    assert len(moved_notices(receiver)) == 1
    statuses = sorted(h["status"] for h in d.history())
    assert statuses == ["cancelled", "scheduled", "scheduled", "sent", "sent"]


@pytest.mark.postgres
def test_two_replicas_send_each_moved_notice_once(
    tmp_path: Path, pg_databases: Callable[[], str], receiver: Receiver
) -> None:
    url = pg_databases()
    path = tmp_path / "milestones.yaml"
    write_config(path, config(receiver, PLACEHOLDER))
    replicas = [
        DaemonProcess(workdir=tmp_path / f"r{i}", config=path, database_url=url) for i in range(2)
    ]
    try:
        for r in replicas:
            r.workdir.mkdir()
            r.start()
        at = iso_in(5)
        for r in replicas:  # both read the same file; each is told to reload
            r.reload_with(treaty(receiver, at))
        receiver.wait_for(1, timeout=20)
        later = shifted(at, timedelta(days=1))
        for r in replicas:
            r.reload_with(treaty(receiver, later))
        wait_until(lambda: moved_notices(receiver), timeout=15, message="no milestone.moved")
        replicas[0].wait_statuses({"sent": 2, "cancelled": 1, "scheduled": 2}, timeout=15)
        # Graceful stops let requests in flight finish: a duplicate would be here by now.
        for r in replicas:
            assert r.stop() == 0
        (notice,) = moved_notices(receiver)
        assert_moved(notice, at, later, WHY)
        assert max(receiver.webhook_ids().values()) == 1
        assert len(receiver.requests) == 2
    finally:
        for r in replicas:
            r.close()
