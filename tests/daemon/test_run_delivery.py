"""``tminus run`` delivering to a real loopback receiver: timing, signatures, retries."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from standardwebhooks.webhooks import Webhook

from tests.daemon.conftest import PLACEHOLDER, SECRET, webhook_config
from tests.support.daemon import free_port, iso_in
from tests.support.receiver import Receiver, Response
from tests.support.secrets import assert_no_secret

pytestmark = pytest.mark.slow

INF = "INF Treaty withdrawal takes effect"


def test_on_time_signed_delivery(receiver: Receiver, make_daemon) -> None:
    url = receiver.url + "/hook"
    d = make_daemon(webhook_config(url, PLACEHOLDER)).start()
    at = iso_in(4)
    d.reload_with(
        webhook_config(
            url, [{"id": "withdrawal-effective", "title": INF, "at": at, "remind": ["2s", "0"]}]
        )
    )
    got = receiver.wait_for(2, timeout=20)
    first, second = got[0], got[1]
    for req in got:
        assert req.path == "/hook"
        assert req.headers["content-type"] == "application/json"
        assert req.headers["user-agent"].startswith("tminus/")
        assert req.headers["x-team"] == "arms-control"
        # The reference implementation of Standard Webhooks accepts the signature.
        payload = Webhook(SECRET).verify(req.body, req.headers)
        assert payload["delivery_id"] == req.headers["webhook-id"]
        offset = 2.0 if payload["type"] == "reminder.due" else 0.0
        due = datetime.fromisoformat(at).timestamp() - offset
        assert req.arrived >= due - 0.01, "sent before it was due"
        assert req.arrived - due < 1.5, f"late by {req.arrived - due:.3f}s"
        assert payload["late"] is False
        assert payload["attempt"] == 1
    assert first.json()["type"] == "reminder.due"
    assert first.json()["reminder"]["offset"] == "PT2S"
    assert second.json()["type"] == "milestone.reached"
    assert second.json()["milestone"]["timezone"] == "Europe/Brussels"
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    # The daemon has exited after its deliveries in flight finished, and the receiver
    # records each request before it answers: a repeat would be here by now.
    assert d.stop() == 0
    assert len(receiver.requests) == 2, "a reminder was sent twice"
    history = d.history()
    assert sorted(h["status"] for h in history) == ["sent", "sent"]
    assert_no_secret(d.log(), [SECRET, receiver.url + "/hook", SECRET.removeprefix("whsec_")])


def test_500_then_200_is_retried_with_the_same_id(receiver: Receiver, make_daemon) -> None:
    receiver.script.append(Response(500, b"boom"))
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "T", "at": iso_in(2)}]))
    got = receiver.wait_for(2, timeout=20)
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    assert [g.json()["attempt"] for g in got] == [1, 2]
    # Backoff from initial 1 s with equal jitter: 0.5–1 s, and not held back by anything else.
    assert 0.45 <= got[1].arrived - got[0].arrived < 2.5
    d.wait_log("delivery sent")
    (row,) = d.history()
    assert row["status"] == "sent"
    assert row["attempts"] == 2


def test_429_retry_after_is_honoured(receiver: Receiver, make_daemon) -> None:
    receiver.script.append(Response(429, b"slow down", {"Retry-After": "2"}))
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "T", "at": iso_in(2)}]))
    got = receiver.wait_for(2, timeout=20)
    assert got[1].arrived - got[0].arrived >= 1.95
    d.wait_log("delivery sent")


def test_410_kills_the_delivery_and_disables_the_channel(receiver: Receiver, make_daemon) -> None:
    receiver.script.append(Response(410, b"gone"))
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    d.reload_with(
        webhook_config(
            receiver.url,
            [
                {"id": "a", "title": "First", "at": iso_in(2)},
                {"id": "b", "title": "Second", "at": iso_in(4)},
            ],
        )
    )
    receiver.wait_for(1, timeout=20)
    d.wait_log("delivery dead", count=2, timeout=15)
    assert len(receiver.requests) == 1, "a disabled channel was still posted to"
    rows = {h["milestone_id"]: h for h in d.history()}
    assert rows["a"]["status"] == "dead"
    assert rows["b"]["status"] == "dead"
    assert "channel_disabled" in (rows["b"]["reason"] or rows["b"]["last_error"] or "")
    assert any("DISABLED" in e["event"] for e in d.events())


def test_timeout_then_success(receiver: Receiver, make_daemon) -> None:
    receiver.script.append(Response(200, b"ok", delay=3.0))  # channel timeout is 2s
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "T", "at": iso_in(2)}]))
    got = receiver.wait_for(2, timeout=25)
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    d.wait_log("delivery sent", timeout=10)
    (row,) = d.history()
    assert row["attempts"] == 2


def test_connection_refused_is_retried_then_dead(make_daemon) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    retry = {"retry": {"max_attempts": 2, "initial": "1s", "max_delay": "1s"}}
    d = make_daemon(webhook_config(url, PLACEHOLDER, channel=retry)).start()
    d.reload_with(webhook_config(url, [{"id": "m", "title": "T", "at": iso_in(2)}], channel=retry))
    d.wait_log("delivery failed, will retry", timeout=15)
    d.wait_log("delivery dead", timeout=15)
    (row,) = d.history()
    assert row["status"] == "dead"
    assert row["attempts"] == 2
    assert_no_secret(d.log(), [url])


def test_sigterm_exits_zero_quickly(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    started = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - started < 5


def test_sigterm_lets_a_request_in_flight_finish(make_daemon) -> None:
    receiver = Receiver(Response(200, b"ok", delay=1.2)).start()  # channel timeout: 2 s
    try:
        d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
        d.reload_with(webhook_config(receiver.url, [{"id": "m", "title": "T", "at": iso_in(1)}]))
        receiver.wait_for(1, timeout=15)  # the request is now in flight for 1.2 s
        assert d.stop() == 0
        (row,) = d.history()
        assert row["status"] == "sent", "the in-flight delivery was not recorded"
        assert len(receiver.requests) == 1
    finally:
        receiver.stop()
