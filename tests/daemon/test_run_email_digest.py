"""``tminus run`` mailing an every-minute digest to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.daemon.conftest import PLACEHOLDER
from tests.daemon.test_run_email import email_config
from tests.daemon.test_run_quiet_digests import _early_in_a_minute, _iso, _next_minute
from tests.support.daemon import DaemonProcess
from tests.support.smtp import SMTPServer

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[SMTPServer]:
    smtp = SMTPServer().start()
    yield smtp
    smtp.stop()


def test_an_every_minute_digest_arrives_as_its_own_mail_each_minute(
    server: SMTPServer, make_daemon: Callable[..., DaemonProcess]
) -> None:
    soon = datetime.now(UTC)
    milestones = [
        {"id": "renewal", "title": "Contract renewal", "at": _iso(soon + timedelta(hours=1))},
        {"id": "picnic", "title": "Team picnic", "at": _iso(soon + timedelta(minutes=30))},
        {"id": "audit", "title": "Contract audit", "at": _iso(soon + timedelta(hours=5))},
    ]
    for m in milestones:
        m["tags"] = ["social"] if m["id"] == "picnic" else ["contracts"]
    config = email_config(server, milestones)
    config["digests"] = [
        {
            "id": "every",
            "schedule": "* * * * *",
            "within": "2h",
            "notify": ["legal-mail"],
            "tags": ["contracts"],
        }
    ]
    _early_in_a_minute()
    d = make_daemon(email_config(server, PLACEHOLDER)).start()
    d.reload_with(config)
    # Catch-up: the latest past fire goes out at once, late; then the next one on time.
    (late,) = server.wait_for(1, timeout=15)
    fire = _next_minute(lead=0)
    wait = (fire - datetime.now(UTC)).total_seconds() + 10
    _, on_time = server.wait_for(2, timeout=wait)
    assert fire.timestamp() - 0.01 <= on_time.arrived < fire.timestamp() + 2.0
    assert d.stop() == 0
    assert len(server.mails) == 2, "a digest was mailed twice"
    rows = {h["id"]: h for h in d.history() if h["milestone_id"] == "digest:every"}
    for mail in (late, on_time):
        message = mail.message
        subject = message["Subject"]
        assert subject.startswith("Digest every: 1 milestone in the next 2 hours"), subject
        assert " — T-" in subject and ": Contract renewal — " in subject
        assert "Contract audit" not in subject and "Team picnic" not in subject
        assert message.get_content_type() == "multipart/alternative"
        assert list(message.iter_attachments()) == [], "a digest carries no calendar"
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        lines = plain.get_content().splitlines()
        assert lines[0] == "📋 Digest every: 1 milestone in the next 2 hours"
        listed = [line for line in lines if line.startswith("T-")]
        assert len(listed) == 1 and "Contract renewal" in listed[0], lines
        assert "Team picnic" not in plain.get_content()
        assert "Contract renewal" in html.get_content()
        delivery = message["X-Tminus-Delivery"]
        assert message["Message-ID"] == f"<{delivery}@example.org>"
        assert rows[delivery]["status"] == "sent"
    assert late.message["Message-ID"] != on_time.message["Message-ID"]
    assert "(late by " in late.message["Subject"] and "(late" not in on_time.message["Subject"]
    late_text = late.message.get_body(("plain",))
    assert late_text is not None and "Late: this digest was due" in late_text.get_content()
