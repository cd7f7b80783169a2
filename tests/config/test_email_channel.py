"""``type: email`` channels: their keys, located errors, and secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.model import ChannelType, Mailbox, Secret, StartTLS
from tests.config.helpers import errors, load, write
from tests.support.secrets import assert_no_secret

PASSWORD = "s3cret-smtp-pass"


def config(tmp_path: Path, channel: str) -> Path:
    body = "\n".join("    " + line for line in channel.strip().splitlines())
    return write(tmp_path, "c.yaml", "version: 1\nchannels:\n  legal-mail:\n" + body + "\n")


SMTP = "smtp://mail.example.org:2525"
TO = 'to: [legal@example.org, "Counsel <counsel@example.org>"]'
FROM = 'from: "tminus <deadlines@example.org>"'
GOOD = f"""
type: email
smtp: smtp://mail.example.org:2525
username: deadlines
password: {PASSWORD}
from: "tminus <deadlines@example.org>"
to: [legal@example.org, "Counsel <counsel@example.org>"]
"""


def test_a_full_email_channel(tmp_path: Path) -> None:
    channel = load(config(tmp_path, GOOD)).channels["legal-mail"]
    assert channel.type is ChannelType.EMAIL
    settings = channel.email
    assert settings is not None
    assert (settings.host, settings.port, settings.implicit_tls) == (
        "mail.example.org",
        2525,
        False,
    )
    assert settings.sender == Mailbox("deadlines@example.org", "tminus")
    assert settings.recipients == (
        Mailbox("legal@example.org"),
        Mailbox("counsel@example.org", "Counsel"),
    )
    assert settings.starttls is StartTLS.AUTO and settings.attach_ics
    assert isinstance(settings.password, Secret) and settings.password == PASSWORD
    assert PASSWORD in channel.secrets() and "deadlines" in channel.secrets()
    assert_no_secret(repr(channel), [PASSWORD])


@pytest.mark.parametrize(
    ("url", "port", "tls"),
    [
        ("smtp://mail.example.org", 587, False),
        ("smtps://mail.example.org", 465, True),
        ("SMTPS://mail.example.org:4650/", 4650, True),
        ("smtp://[::1]:25", 25, False),
    ],
)
def test_default_ports(tmp_path: Path, url: str, port: int, tls: bool) -> None:
    text = GOOD.replace("smtp://mail.example.org:2525", url)
    settings = load(config(tmp_path, text)).channels["legal-mail"].email
    assert settings is not None and (settings.port, settings.implicit_tls) == (port, tls)


def test_password_file_starttls_and_attach_ics(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    text = GOOD.replace(f"password: {PASSWORD}", "password_file: pw")
    text += "starttls: required\nattach_ics: false\n"
    settings = load(config(tmp_path, text)).channels["legal-mail"].email
    assert settings is not None
    assert settings.password == PASSWORD
    assert settings.starttls is StartTLS.REQUIRED and not settings.attach_ics


def test_the_fingerprint_follows_the_password(tmp_path: Path) -> None:
    before = load(config(tmp_path, GOOD)).channels["legal-mail"]
    after = load(config(tmp_path, GOOD.replace(PASSWORD, PASSWORD + "2"))).channels["legal-mail"]
    assert before.fingerprint() != after.fingerprint()
    again = load(config(tmp_path, GOOD)).channels["legal-mail"]
    assert before.fingerprint() == again.fingerprint()


@pytest.mark.parametrize(
    ("replace", "add", "message"),
    [
        ((SMTP, "https://mail.example.org"), "", "smtp must be an smtp:// or smtps:// URL"),
        ((SMTP, "smtp://u:pw@mail.example.org"), "", "must not carry credentials"),
        ((SMTP, "smtp://mail.example.org:99999"), "", "not a valid URL"),
        ((SMTP, "smtp://mail.example.org/inbox"), "", "no path"),
        ((SMTP, "smtp://bad..host"), "", "invalid host name"),
        (
            (SMTP, "smtps://mail.example.org"),
            "starttls: required\n",
            "starttls applies to smtp:// only",
        ),
        ((TO, "to: []"), "", "to must list at least one address"),
        ((TO, "to: legal@example.org"), "", "to must be a list"),
        ((TO, "to: [legal@example.org, LEGAL@example.org]"), "", "listed twice"),
        ((TO, "to: [not-an-address]"), "", "is not one email address"),
        ((TO, "to: [\"a@example.org, b@example.org\"]"), "", "is not one email address"),
        ((TO, "to: [légal@exämple.org, legal@exämple.org]"), "", "must be ASCII"),
        ((FROM, "from: deadlines"), "", "from 'deadlines' is not one email address"),
        ((FROM, ""), "", "missing the required key 'from'"),
        (("smtp: smtp://mail.example.org:2525", ""), "", "missing the required key 'smtp'"),
        ((f"password: {PASSWORD}", ""), "", "has a 'username' but no 'password'"),
        (("username: deadlines", ""), "", "has a password but no 'username'"),
        (("", ""), "url: https://example.org/x\n", "'url' is not used by email channels"),
        (("", ""), "headers: {X-A: b}\n", "'headers' is not used by email channels"),
        (("", ""), "starttls: sometimes\n", "starttls must be one of auto | required"),
        (("", ""), "attach_ics: yes please\n", "attach_ics must be true or false"),
    ],
)  # fmt: skip
def test_located_errors(tmp_path: Path, replace: tuple[str, str], add: str, message: str) -> None:
    text = GOOD.replace(*replace) if replace[0] else GOOD
    problems = errors(config(tmp_path, text + add))
    assert any(message in p for p in problems), problems
    for problem in problems:
        assert problem.startswith(f"{tmp_path / 'c.yaml'}:"), problem
        assert_no_secret(problem, [PASSWORD])


def test_errors_point_at_the_line_and_column(tmp_path: Path) -> None:
    text = GOOD.replace("to: [legal@example.org,", "to: [nope,")
    (problem,) = errors(config(tmp_path, text))
    assert f"{tmp_path / 'c.yaml'}:9:10:" in problem
    assert "(at channels.legal-mail.to[0])" in problem


def test_email_keys_on_other_channels_are_errors(tmp_path: Path) -> None:
    path = config(tmp_path, "type: webhook\nurl: https://example.org/h\nto: [a@example.org]")
    (problem,) = errors(path)
    assert "'to' is only used by email channels, not webhook" in problem


def test_a_bad_smtp_url_is_not_quoted(tmp_path: Path) -> None:
    text = GOOD.replace("smtp://mail.example.org:2525", "ftp://hidden-relay.example.org")
    (problem,) = errors(config(tmp_path, text))
    assert "hidden-relay" not in problem
