"""``tminus notify-test`` for an email channel, against a real SMTP server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest

from scheduler.cli import main
from tests.support.secrets import assert_no_secret
from tests.support.smtp import LoopbackCA, SMTPServer

USER, PASSWORD = "deadlines-bot", "correct-horse-battery-staple"


def write_config(tmp_path: Path, server: SMTPServer, password: str) -> Path:
    path = tmp_path / "milestones.yaml"
    path.write_text(
        f"""\
version: 1
channels:
  legal-mail:
    type: email
    smtp: {server.url}
    username: {USER}
    password: {password}
    from: "tminus <deadlines@example.org>"
    to: [legal@example.org]
milestones:
  - {{id: past, title: Long ago, at: 2019-02-02, notify: [legal-mail]}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    ca = LoopbackCA()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle(tmp_path)))
    smtp = SMTPServer(tls="starttls", ca=ca, credentials=(USER, PASSWORD)).start()
    yield smtp
    smtp.stop()


def test_sample_mail_is_sent_and_reported(
    tmp_path: Path, server: SMTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["notify-test", "legal-mail", "-c", str(write_config(tmp_path, server, PASSWORD))])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("legal-mail: 250 ok 2.0.0 accepted\n")
    (mail,) = server.mails
    message = mail.message
    assert mail.tls and mail.login == USER
    assert message["Subject"].startswith(
        "T-7d: INF Treaty withdrawal takes effect (tminus test message)"
    )
    assert message["Message-ID"].startswith("<msg_test_")
    (attachment,) = message.iter_attachments()
    (event,) = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("INF Treaty withdrawal takes effect")
    assert_no_secret(out, [PASSWORD])


def test_refused_login_exits_1_and_names_it(
    tmp_path: Path, server: SMTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-password-at-all"
    config = write_config(tmp_path, server, wrong)
    assert main(["notify-test", "legal-mail", "-c", str(config), "--json"]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["status_code"], result["reason"]) == (535, "auth_failed")
    assert result["disable_channel"] is True
    assert "username or password" in result["detail"]
    assert server.mails == []
    assert_no_secret(captured.out + captured.err, [wrong])
