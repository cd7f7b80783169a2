"""``tminus run`` delivering email to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest

from tests.daemon.conftest import PLACEHOLDER
from tests.support.daemon import iso_in
from tests.support.secrets import assert_no_secret
from tests.support.smtp import LoopbackCA, SMTPServer

pytestmark = pytest.mark.slow

USER, PASSWORD = "deadlines-bot", "correct-horse-battery-staple"
INF = "INF Treaty withdrawal takes effect"


def email_config(
    server: SMTPServer, milestones: list[dict[str, Any]], **channel: Any
) -> dict[str, Any]:
    mail = {
        "type": "email",
        "smtp": server.url,
        "from": "tminus <deadlines@example.org>",
        "to": ["legal@example.org", "counsel@example.org"],
        "timeout": "3s",
        "retry": {"max_attempts": 3, "initial": "1s", "max_delay": "1s"},
        **channel,
    }
    return {
        "version": 1,
        "timezone": "Europe/Brussels",
        "defaults": {"remind": ["0"], "notify": ["legal-mail"], "catch_up": "1h"},
        "channels": {"legal-mail": mail},
        "milestones": milestones,
    }


@pytest.fixture
def ca() -> LoopbackCA:
    return LoopbackCA()


@pytest.fixture
def tls_server(ca: LoopbackCA) -> Iterator[SMTPServer]:
    server = SMTPServer(tls="starttls", ca=ca, credentials=(USER, PASSWORD)).start()
    yield server
    server.stop()


@pytest.fixture
def plain() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def trusting(ca: LoopbackCA, tmp_path: Path) -> dict[str, str]:
    """The daemon's environment trusting the test CA, as a private CA is configured."""
    return {"SSL_CERT_FILE": str(ca.bundle(tmp_path)), "SMTP_PASSWORD": PASSWORD}


def test_reminders_thread_and_group_over_starttls(
    tls_server: SMTPServer, ca: LoopbackCA, make_daemon, tmp_path: Path
) -> None:
    login = {"username": USER, "password": "${SMTP_PASSWORD}"}
    d = make_daemon(email_config(tls_server, PLACEHOLDER, **login), env=trusting(ca, tmp_path))
    d.start()
    at = iso_in(8)
    milestones = [
        {"id": "withdrawal-effective", "title": INF, "at": at, "remind": ["6s", "3s", "0"]},
        {"id": "suspension", "title": "Russia suspends the treaty", "at": at},
    ]
    d.reload_with(email_config(tls_server, milestones, **login))
    mails = tls_server.wait_for(3, timeout=25)
    assert all(m.tls and m.login == USER for m in mails)
    assert all(m.rcpt_tos == ["legal@example.org", "counsel@example.org"] for m in mails)
    messages = [m.message for m in mails]
    for mail, offset in zip(mails, [6, 3, 0], strict=True):
        due = datetime.fromisoformat(at).timestamp() - offset
        assert due - 0.01 <= mail.arrived < due + 2.0, f"{offset}s reminder off its time"
    # Three reminders of one occurrence: three messages, one thread.
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == 3
    root = messages[0]["References"]
    assert root.startswith("<occ_") and root.endswith("@example.org>")
    assert all(root in m["References"].split() for m in messages)
    assert all(root in m["In-Reply-To"].split() for m in messages)
    # The last is both milestones at their moment, grouped into one message.
    assert ids[2].startswith("<grp_")
    assert messages[2]["Subject"].startswith("2 reminders: ")
    assert len(messages[2]["References"].split()) == 2
    assert messages[0]["Subject"].startswith(f"Now: {INF} — ")  # seconds ahead: "Now"
    attachments = [list(m.iter_attachments()) for m in messages]
    assert [len(a) for a in attachments] == [1, 1, 2]
    uids = [
        str(event["UID"])
        for parts in attachments
        for part in parts
        for event in icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
    ]
    inf = [u for u in uids if u.startswith("withdrawal-effective-")]
    assert len(inf) == 3 and len(set(inf)) == 1, "one deadline, one calendar event"
    assert len(set(uids)) == 2
    (event,) = icalendar.Calendar.from_ical(attachments[0][0].get_content()).walk("VEVENT")
    assert event.decoded("DTSTART").timestamp() == pytest.approx(
        datetime.fromisoformat(at).timestamp(), abs=1
    )
    assert d.stop() == 0
    assert len(tls_server.mails) == 3, "a reminder was mailed twice"
    assert sorted(h["status"] for h in d.history()) == ["sent"] * 4
    assert_no_secret(d.log(), [PASSWORD])


def test_kill_9_between_send_and_record_resends_the_same_message_id(
    plain: SMTPServer, make_daemon
) -> None:
    plain.hold_data = 2.0  # the server has the message, and answers too late
    d = make_daemon(email_config(plain, PLACEHOLDER)).start()
    d.reload_with(email_config(plain, [{"id": "m", "title": "Deadline", "at": iso_in(2)}]))
    assert plain.data_event.wait(20), "the message never reached the server"
    d.kill()  # after the server took the message, before the daemon recorded it
    d.start()
    (accepted,) = plain.wait_for(1, timeout=30)  # the first answer never reached anyone
    d.wait_statuses({"sent": 1})
    first, second = (email.message_from_bytes(raw) for raw in plain.data_seen)
    (row,) = d.history()
    assert first["Message-ID"] == second["Message-ID"] == f"<{row['id']}@example.org>"
    assert accepted.message["Message-ID"] == first["Message-ID"]
    assert row["attempts"] == 2


def test_451_then_success_keeps_the_message_id(plain: SMTPServer, make_daemon) -> None:
    plain.script.append(("DATA", "451 4.3.0 Mailbox busy, try again later"))
    d = make_daemon(email_config(plain, PLACEHOLDER)).start()
    d.reload_with(email_config(plain, [{"id": "m", "title": "Deadline", "at": iso_in(2)}]))
    (mail,) = plain.wait_for(1, timeout=20)
    d.wait_statuses({"sent": 1})
    (row,) = d.history()
    assert row["attempts"] == 2
    first, second = (email.message_from_bytes(raw) for raw in plain.data_seen)
    assert first["Message-ID"] == second["Message-ID"] == f"<{row['id']}@example.org>"
    assert mail.message["Message-ID"] == first["Message-ID"]


def test_550_is_dead_at_once(plain: SMTPServer, make_daemon) -> None:
    plain.script.append(("RCPT", "550 5.1.1 No such user here"))
    d = make_daemon(email_config(plain, PLACEHOLDER)).start()
    d.reload_with(email_config(plain, [{"id": "m", "title": "Deadline", "at": iso_in(2)}]))
    d.wait_statuses({"dead": 1})
    (row,) = d.history()
    assert row["attempts"] == 1
    assert "550" in (row["last_error"] or "") and "legal@example.org" in row["last_error"]
    assert plain.mails == [] and plain.data_seen == []


def test_535_disables_the_channel_and_the_password_stays_secret(
    tls_server: SMTPServer, ca: LoopbackCA, make_daemon, tmp_path: Path
) -> None:
    wrong = "wrong-horse-battery-staple"
    login = {"username": USER, "password": wrong}
    d = make_daemon(email_config(tls_server, PLACEHOLDER, **login), env=trusting(ca, tmp_path))
    d.start()
    milestones = [
        {"id": "a", "title": "First", "at": iso_in(2)},
        {"id": "b", "title": "Second", "at": iso_in(5)},
    ]
    d.reload_with(email_config(tls_server, milestones, **login))
    d.wait_log("delivery dead", count=2, timeout=20)
    assert len(tls_server.auth_sessions) == 1, "a disabled channel was still used"
    assert set(tls_server.auth_attempts) == {(USER, wrong)}
    assert tls_server.mails == []
    rows = {h["milestone_id"]: h for h in d.history()}
    assert rows["a"]["status"] == rows["b"]["status"] == "dead"
    assert "535" in (rows["a"]["last_error"] or "")
    assert "channel_disabled" in (rows["b"]["reason"] or rows["b"]["last_error"] or "")
    assert any("DISABLED" in e["event"] for e in d.events())
    api = httpx.get(f"{d.base}/api/deliveries", timeout=5).text
    page = httpx.get(f"{d.base}/", timeout=5).text
    assert_no_secret(d.log() + api + page + repr(d.history()), [wrong])
