"""``tminus run`` with templated bodies, an apprise channel and templated Slack and Apprise
messages with their Acknowledge links, to real loopback receivers."""

from __future__ import annotations

import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.daemon.conftest import PLACEHOLDER, SECRET, webhook_config
from tests.support.daemon import iso_in
from tests.support.receiver import Receiver, Response
from tests.support.secrets import assert_no_secret

pytestmark = pytest.mark.slow

PD_KEY = "R0UT1NGKEY-e2e-0123456789"
PD_BODY = """\
{"routing_key": "{{ env.PD_KEY }}", "event_action": "trigger", "dedup_key": "{{ delivery_id }}",
 "payload": {"summary": {{ text | tojson }}, "source": "tminus", "severity": "warning",
             "custom_details": {"tags": {{ milestone.tags | tojson }},
                                "late": {{ late | tojson }}}}}"""
INF = "INF Treaty withdrawal takes effect"


def test_pagerduty_body_arrives_signed(receiver: Receiver, make_daemon) -> None:
    url = receiver.url + "/v2/enqueue"
    channel = {"template_env": ["PD_KEY"], "body_template": PD_BODY}
    d = make_daemon(webhook_config(url, PLACEHOLDER, channel=channel), env={"PD_KEY": PD_KEY})
    d.start()
    milestone = {"id": "withdrawal-effective", "title": INF, "at": iso_in(2), "tags": ["inf"]}
    d.reload_with(webhook_config(url, [milestone], channel=channel))
    [req] = receiver.wait_for(1, timeout=20)
    # The reference implementation of Standard Webhooks accepts the templated body's signature.
    event = Webhook(SECRET).verify(req.body, req.headers)
    assert event["routing_key"] == PD_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == req.headers["webhook-id"]
    assert event["payload"]["summary"].startswith(f"Now: {INF} — ")
    assert event["payload"]["custom_details"] == {"tags": ["inf"], "late": False}
    assert req.headers["x-team"] == "arms-control"
    assert d.stop() == 0
    assert [h["status"] for h in d.history()] == ["sent"]
    assert_no_secret(d.log(), [PD_KEY, url, SECRET])


def test_a_template_failing_at_run_time_sends_the_built_in_body(
    receiver: Receiver, make_daemon
) -> None:
    url = receiver.url + "/hook"
    # The sample reminder of ``check`` has two tags, so this passes; a milestone with one fails.
    channel = {"body_template": '{"second_tag": "{{ milestone.tags[1] }}"}'}
    d = make_daemon(webhook_config(url, PLACEHOLDER, channel=channel)).start()
    milestone = {"id": "one-tag", "title": INF, "at": iso_in(2), "tags": ["inf"]}
    d.reload_with(webhook_config(url, [milestone], channel=channel))
    [req] = receiver.wait_for(1, timeout=20)
    body = Webhook(SECRET).verify(req.body, req.headers)
    assert body["type"] == "milestone.reached"  # the built-in body, signed as ever
    assert body["milestone"]["id"] == "one-tag"
    [event] = d.wait_log("template failed; sent the built-in text")
    assert event["channel"] == "audit"
    assert event["template"] == "body_template"
    assert event["delivery_id"] == req.headers["webhook-id"]
    assert "unknown variable" in event["problem"] and "template line 1" in event["problem"]
    assert d.stop() == 0
    assert [h["status"] for h in d.history()] == ["sent"]


def test_apprise_channel_delivers_end_to_end(make_daemon) -> None:
    answers = [Response(500, b"busy")]  # the first notify fails: Apprise says no, we retry
    receiver = Receiver(lambda req: answers.pop() if answers else Response(200, b"ok")).start()
    try:
        apprise_url = receiver.url.replace("http://", "json://") + "/ntfy/t0pic-secret-abc"
        phones = {
            "type": "apprise",
            "urls": [apprise_url],
            "template": "{{ countdown }} {{ milestone.title }} ({{ reminder.label }})",
            "retry": {"max_attempts": 3, "initial": "1s", "max_delay": "1s"},
        }
        config = {
            "version": 1,
            "timezone": "Europe/Brussels",
            "defaults": {"remind": ["0"], "notify": ["phones"]},
            "channels": {"phones": phones},
            "milestones": PLACEHOLDER,
        }
        d = make_daemon(config).start()
        config["milestones"] = [{"id": "withdrawal-effective", "title": INF, "at": iso_in(2)}]
        d.reload_with(config)
        d.wait_statuses({"sent": 1}, timeout=30)
        got = receiver.requests
        assert len(got) == 2, "one refused notify, one retry"
        for req in got:
            assert req.path == "/ntfy/t0pic-secret-abc"
            assert req.json()["title"] == f"🏁 {INF}"
            assert req.json()["message"] == f"Now {INF} (at the moment)"
        [row] = d.history()
        assert row["attempts"] == 2
        assert d.stop() == 0
        secrets = [apprise_url, "/ntfy/t0pic-secret-abc", "t0pic-secret-abc"]
        assert_no_secret(d.log(), secrets)
        assert_no_secret(json.dumps(d.history()), secrets)
    finally:
        receiver.stop()


def test_templated_slack_message_keeps_its_acknowledge_button(make_daemon) -> None:
    receiver = Receiver(Response(200, b"ok")).start()
    try:
        team = {
            "type": "slack",
            "url": receiver.url + "/services/T0000/B0000/XXXXXXXXXXXX",
            "template": "{{ countdown }}: *{{ milestone.title }}*",
        }
        milestone = {"id": "withdrawal", "title": INF, "at": iso_in(2), "notify": ["team"]}
        config = webhook_config(receiver.url + "/hook", [milestone], extra_channels={"team": team})
        d = make_daemon(config)
        d.env.update(TMINUS_PUBLIC_URL=d.base, TMINUS_SECRET_KEY="templated-ack-key-0001")
        d.start()
        [req] = receiver.wait_for(1, timeout=20)
        message = req.json()
        assert message["text"] == f"Now: *{INF}*"
        [section] = message["blocks"]
        assert section["text"] == {"type": "mrkdwn", "text": f"Now: *{INF}*"}
        button = section["accessory"]
        assert button["text"]["text"] == "Acknowledge"
        assert button["url"].startswith(f"{d.base}/ack/")
        # The link is the daemon's own, signed: it opens the confirmation page.
        page = httpx.get(button["url"], timeout=10)
        assert page.status_code == 200 and INF in page.text
        assert d.stop() == 0
        assert [h["status"] for h in d.history()] == ["sent"]
    finally:
        receiver.stop()


def test_templated_apprise_message_ends_with_its_acknowledge_link(make_daemon) -> None:
    receiver = Receiver(Response(200, b"ok")).start()
    try:
        phones = {
            "type": "apprise",
            "urls": [receiver.url.replace("http://", "json://") + "/ntfy/t0pic"],
            "template": "{{ countdown }} {{ milestone.title }}",
        }
        milestone = {"id": "withdrawal", "title": INF, "at": iso_in(2), "notify": ["phones"]}
        config = webhook_config(
            receiver.url + "/hook", [milestone], extra_channels={"phones": phones}
        )
        d = make_daemon(config)
        d.env.update(TMINUS_PUBLIC_URL=d.base, TMINUS_SECRET_KEY="templated-ack-key-0001")
        d.start()
        [req] = receiver.wait_for(1, timeout=20)
        text, ack_line = req.json()["message"].split("\n")
        assert text == f"Now {INF}"
        label, _, url = ack_line.partition(": ")
        assert label == "Acknowledge" and url.startswith(f"{d.base}/ack/")
        # The link is the daemon's own, signed: it opens the confirmation page.
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and INF in page.text
        assert d.stop() == 0
        assert [h["status"] for h in d.history()] == ["sent"]
    finally:
        receiver.stop()
