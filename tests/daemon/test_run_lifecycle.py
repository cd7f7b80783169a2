"""``tminus run`` across restarts, crashes and reloads, on real subprocesses."""

from __future__ import annotations

import re
import signal
from datetime import timedelta

import httpx
import pytest

from tests.daemon.conftest import PLACEHOLDER, SECRET, webhook_config, write_config
from tests.support.daemon import iso_in
from tests.support.receiver import Receiver, Response
from tests.support.secrets import assert_no_secret
from tests.support.waiting import wait_past

pytestmark = pytest.mark.slow


def test_restart_across_due_time_sends_late_or_skips(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    due = iso_in(2.5)
    d.reload_with(
        webhook_config(
            receiver.url,
            [
                {"id": "recent", "title": "Caught up", "at": due, "catch_up": "1h"},
                {"id": "stale", "title": "Too old", "at": due, "catch_up": "1s"},
                {"id": "future", "title": "Later", "at": iso_in(3600)},
            ],
        )
    )
    assert d.stop() == 0
    # Both reminders fall due while the daemon is down, and by the restart they are
    # overdue by more than the stale one's catch-up (1 s) and the late grace (1 s).
    wait_past(due, by=timedelta(seconds=2.5))
    assert receiver.requests == []
    d.start()
    (req,) = receiver.wait_for(1, timeout=15)
    body = req.json()
    assert body["milestone"]["id"] == "recent"
    assert body["late"] is True
    d.wait_log("delivery sent")
    rows = {h["milestone_id"]: h for h in d.history()}
    assert rows["stale"]["status"] == "skipped"
    assert rows["future"]["status"] == "scheduled"
    # A graceful stop lets every delivery in flight finish: after it, nothing more comes.
    assert d.stop() == 0
    assert len(receiver.requests) == 1


def test_old_milestones_send_nothing(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(
        webhook_config(
            receiver.url,
            [
                {"id": "us-notice", "title": "U.S. notice", "at": "2019-02-02"},
                {
                    "id": "withdrawal-effective",
                    "title": "Withdrawal",
                    "after": "us-notice",
                    "offset": "6 months",
                },
            ],
        )
    ).start()
    # Ready means the first reconcile ran; an empty store after it means nothing to send.
    d.wait_log("reconciled")
    assert d.stop() == 0
    assert receiver.requests == []
    assert d.history() == []


def test_kill_9_mid_burst_loses_nothing(make_daemon) -> None:
    # A slow receiver so that the burst is still in flight when the process is killed.
    receiver = Receiver(Response(200, b"ok", delay=0.02)).start()
    try:
        d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
        at = iso_in(2)
        milestones = [{"id": f"m{i:03d}", "title": f"Deadline {i}", "at": at} for i in range(300)]
        d.reload_with(webhook_config(receiver.url, milestones))
        receiver.wait_for(40, timeout=20)
        d.kill()
        before = len(receiver.requests)
        assert before < 300, "the burst finished before the kill; the test proves nothing"
        # What the database knew was sent when the process died: never to be sent again.
        recorded = {h["id"] for h in d.history() if h["status"] == "sent"}
        d.start()
        received = receiver.wait_ids(300, timeout=40)
        assert len(received) == 300, f"lost {300 - len(received)} deliveries"
        by_id = {r.headers["webhook-id"]: r.json()["milestone"]["id"] for r in receiver.requests}
        assert sorted(by_id.values()) == sorted(m["id"] for m in milestones)
        # Repeats share the webhook-id by construction: a duplicate shows up as a count of
        # two on one id, never as a new id. Only a request the kill caught between its POST
        # and the commit of its outcome may repeat: the webhook's 64 on the wire, plus
        # answered ones whose outcome was still in the recorder's batch.
        twice = {i for i, n in received.items() if n > 1}
        assert not twice & recorded, f"sent again after being recorded: {twice & recorded}"
        assert all(n <= 2 for n in received.values()), received.most_common(3)
        d.wait_statuses({"sent": 300}, timeout=30)
        assert d.stop() == 0
    finally:
        receiver.stop()


def test_sighup_with_broken_config_keeps_the_old_one(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    good = webhook_config(receiver.url, [{"id": "a", "title": "Old", "at": iso_in(4)}])
    d.reload_with(good)
    d.config.write_text("version: 1\nmilestones:\n  - id: a\n    title: [unclosed\n")
    d.signal(signal.SIGHUP)
    d.wait_log("config rejected: the previous config stays in force")
    (req,) = receiver.wait_for(1, timeout=15)
    assert req.json()["milestone"]["title"] == "Old"
    fixed = webhook_config(
        receiver.url,
        [
            {"id": "a", "title": "Old", "at": good["milestones"][0]["at"]},
            {"id": "b", "title": "New", "at": iso_in(3)},
        ],
    )
    d.reload_with(fixed)
    got = receiver.wait_for(2, timeout=15)
    assert got[1].json()["milestone"]["title"] == "New"
    metrics = httpx.get(f"{d.base}/metrics").text
    failed = re.search(r'tminus_config_reloads_total\{result="failed"\} (\S+)', metrics)
    assert failed is not None and float(failed.group(1)) >= 1  # SIGHUP and the file watcher
    assert d.stop() == 0


def test_moved_milestone_cancels_old_reminders(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    old_due = iso_in(5)
    d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "Moving", "at": old_due}]))
    moved = webhook_config(receiver.url, [{"id": "m", "title": "Moving", "at": iso_in(3600)}])
    before = len([e for e in d.events() if e.get("event") == "config reloaded"])
    write_config(d.config, moved)  # the file watcher reloads without a signal
    d.wait_log("config reloaded", count=before + 1, timeout=10)
    # No event follows a reminder that is rightly not sent: wait until its old moment
    # is past (a wrongly kept one goes out at that moment), then check nothing came.
    wait_past(old_due, by=timedelta(seconds=1))
    assert receiver.requests == []
    statuses = sorted(h["status"] for h in d.history())
    assert statuses == ["cancelled", "scheduled"]
    assert d.stop() == 0
    assert_no_secret(d.log(), [SECRET, receiver.url])


def test_reload_cancels_a_delivery_claimed_ahead_of_its_time(
    receiver: Receiver, make_daemon
) -> None:
    # Claim 15 s ahead (instead of 1 s) so that the reload surely lands in the gap.
    d = make_daemon(
        webhook_config(receiver.url, PLACEHOLDER), env={"TMINUS_LOOKAHEAD_SECONDS": "15"}
    ).start()
    d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "Moving", "at": iso_in(10)}]))
    d.wait_statuses({"sending": 1}, timeout=5)  # claimed, waiting in memory for its moment
    d.reload_with(
        webhook_config(receiver.url, [{"id": "m", "title": "Moving", "at": iso_in(3600)}])
    )
    d.wait_statuses({"cancelled": 1, "scheduled": 1}, timeout=15)
    # The claim was cancelled instead of sent at its moment; a graceful stop then lets
    # anything in flight finish, so nothing can arrive after it.
    d.wait_log("delivery cancelled")
    assert d.stop() == 0
    assert receiver.requests == []


def test_a_symlinked_config_is_watched(receiver: Receiver, make_daemon, tmp_path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = real / "data.yaml"
    write_config(target, webhook_config(receiver.url, PLACEHOLDER))
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER))
    d.config.unlink()
    d.config.symlink_to(target)
    d.start()
    write_config(target, webhook_config(receiver.url, [{"id": "m", "title": "T", "at": iso_in(2)}]))
    d.wait_log("config reloaded", timeout=10)
    (req,) = receiver.wait_for(1, timeout=10)
    assert req.json()["milestone"]["id"] == "m"
    assert d.stop() == 0
