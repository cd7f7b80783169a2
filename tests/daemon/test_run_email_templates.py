"""``tminus run`` mailing in a channel's templates, with acknowledge links, to a real SMTP
server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.daemon.conftest import PLACEHOLDER
from tests.daemon.test_run_email import INF, email_config
from tests.support.daemon import iso_in
from tests.support.secrets import assert_no_secret
from tests.support.smtp import SMTPServer

pytestmark = pytest.mark.slow

KEY = "end-to-end-email-acknowledge-key-01"
DESK = "legal-desk-4f1c"  # a template_env value: shown in the subject, never in the log
TEMPLATES = {
    "subject": "[{{ reminder.label }}] {{ milestone.title }} ({{ env.TMINUS_TEMPLATE_DESK }})",
    "template": "{{ milestone.title }} is due {{ milestone.at | date('%-d %b %Y') }}.\n\n"
    "Brief: {{ milestone.links[0] }}",
}


@pytest.fixture
def plain() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def test_templated_mail_carries_the_acknowledge_link_that_works(
    plain: SMTPServer, make_daemon
) -> None:
    env = {"TMINUS_TEMPLATE_DESK": DESK, "TMINUS_SECRET_KEY": KEY}
    d = make_daemon(email_config(plain, PLACEHOLDER, **TEMPLATES), env=env)
    d.env["TMINUS_PUBLIC_URL"] = d.base
    d.start()
    at = iso_in(9)
    milestone = {
        "id": "withdrawal-effective",
        "title": INF,
        "at": at,
        "remind": ["5s", "0"],
        "links": ["https://example.org/inf"],
    }
    d.reload_with(email_config(plain, [milestone], **TEMPLATES))
    [first] = plain.wait_for(1, timeout=20)
    message = first.message
    assert message["Subject"] == f"[5 seconds before] {INF} ({DESK})"
    plain_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert plain_part is not None and html_part is not None
    text, html = plain_part.get_content(), html_part.get_content()
    day = datetime.fromisoformat(at).astimezone(ZoneInfo("Europe/Brussels")).strftime("%-d %b %Y")
    assert text.startswith(f"{INF} is due {day}.\r\n\r\nBrief: https://example.org/inf\r\n")
    [link] = re.findall(r"^Acknowledge: (\S+)\r?$", text, re.MULTILINE)
    assert link.startswith(f"{d.base}/ack/")
    assert f'<a href="{link}" style="' in html and ">Acknowledge</a>" in html
    assert '<a href="https://example.org/inf"' in html
    # The link in the mail acknowledges: the reminder at the moment never comes.
    done = httpx.post(link, data={"by": "Counsel"}, timeout=5)
    assert done.status_code == 200 and "Acknowledged" in done.text
    due = datetime.fromisoformat(at).timestamp()
    time.sleep(max(0.0, due + 1.5 - time.time()))
    assert len(plain.mails) == 1
    assert d.stop() == 0
    assert sorted(h["status"] for h in d.history()) == ["cancelled", "sent"]
    assert "template failed" not in d.log() and "Traceback" not in d.log()
    assert_no_secret(d.log(), [KEY, DESK])


def test_a_subject_failing_at_run_time_sends_the_built_in_one(
    plain: SMTPServer, make_daemon
) -> None:
    # ``check`` renders the sample reminder, which has two tags; this milestone has one.
    channel = {"subject": "{{ milestone.tags[1] }}: {{ milestone.title }}"}
    d = make_daemon(email_config(plain, PLACEHOLDER, **channel)).start()
    milestone = {"id": "one-tag", "title": INF, "at": iso_in(2), "tags": ["inf"]}
    d.reload_with(email_config(plain, [milestone], **channel))
    [mail] = plain.wait_for(1, timeout=20)
    assert mail.message["Subject"].startswith(f"Now: {INF} — ")
    [event] = d.wait_log("template failed; sent the built-in text")
    assert event["channel"] == "legal-mail" and event["template"] == "subject"
    assert "unknown variable" in event["problem"]
    assert d.stop() == 0
    assert [h["status"] for h in d.history()] == ["sent"]
