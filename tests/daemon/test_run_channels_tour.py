"""The shipped channel tour (``config/channels-tour.yaml``: email, Teams, Apprise and
templates) passes ``tminus check`` and ``tminus run`` delivers to each of its channels
through real servers on loopback."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.daemon import iso_in
from tests.support.receiver import Received, Receiver, Response
from tests.support.smtp import SMTPServer

pytestmark = pytest.mark.slow

TOUR = Path(__file__).resolve().parents[2] / "config" / "channels-tour.yaml"
TITLE = "Supplier contract renewal — notice period ends"


def test_the_tour_passes_check_with_no_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scheduler", "check", "-c", str(TOUR)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "OK: 1 milestone, 3 reminders, 5 channels"


def _answer(req: Received) -> Response:
    return Response(200, b"ok")  # Slack wants "ok"; Teams, Apprise and webhooks any 2xx


def test_every_channel_of_the_tour_receives_the_reminder(make_daemon) -> None:
    config: dict[str, Any] = yaml.safe_load(TOUR.read_text())
    # Quiet hours are the tour's own feature; here the mail must go now, whatever the hour.
    del config["channels"]["legal-mail"]["hours"]
    config["milestones"] = [
        {"id": "contract-renewal", "title": TITLE, "at": iso_in(3), "tags": ["contracts"]}
    ]
    receiver = Receiver(_answer).start()
    smtp = SMTPServer().start()
    try:
        env = {
            "SMTP_URL": smtp.url,
            "TEAMS_WORKFLOW_URL": receiver.url + "/teams",
            "PHONES_APPRISE_URL": receiver.url.replace("http://", "json://") + "/apprise",
            "NTFY_URL": receiver.url + "/ntfy",
            "SLACK_WEBHOOK_URL": receiver.url + "/slack",
        }
        d = make_daemon(config, env=env).start()
        d.wait_statuses({"sent": 5}, timeout=40)
        by_path = {req.path: req for req in receiver.requests}
        assert set(by_path) == {"/teams", "/apprise", "/ntfy", "/slack"}

        card = by_path["/teams"].json()
        assert card["type"] == "message"
        content = card["attachments"][0]["content"]
        assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
        assert TITLE in json.dumps(content, ensure_ascii=False)

        assert by_path["/apprise"].json()["message"] == f"Now {TITLE} (at the moment)"

        ntfy = by_path["/ntfy"].json()
        assert ntfy["topic"] == "deadlines" and ntfy["title"] == TITLE
        assert ntfy["message"].startswith(f"Now: {TITLE} — ")
        assert ntfy["click"] == ""  # no TMINUS_PUBLIC_URL: no acknowledge link
        assert "webhook-signature" not in by_path["/ntfy"].headers  # the tour sets no secret

        slack = by_path["/slack"].json()
        assert slack["text"].startswith(f"Now: *{TITLE}* (")

        [mail] = smtp.wait_for(1)
        message = email.message_from_bytes(mail.raw, policy=default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == f"Now: {TITLE}"
        assert sorted(mail.rcpt_tos) == ["counsel@example.org", "legal@example.org"]
        kinds = {part.get_content_type() for part in message.walk()}
        assert {"text/plain", "text/html", "text/calendar"} <= kinds
        assert d.stop() == 0
    finally:
        receiver.stop()
        smtp.stop()
