"""A real SMTP server on loopback for email tests (aiosmtpd), with TLS from a test CA (trustme).

It runs in its own thread (aiosmtpd's ``Controller``), so in-process notifiers and
``tminus run`` subprocesses both talk to it. Each accepted message is kept as its
envelope and its parsed :class:`email.message.EmailMessage`; a script of replies
(``"451 4.3.0 try later"``) answers ``RCPT`` or ``DATA`` before the default 250.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.daemon import free_port


@dataclass
class Mail:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    arrived: float
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class LoopbackCA:
    """A certificate authority made for the test, and a certificate for 127.0.0.1."""

    ca: trustme.CA = field(default_factory=trustme.CA)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        return context

    def bundle(self, directory: Path) -> Path:
        """The CA certificate as a PEM file, for ``SSL_CERT_FILE``."""
        path = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return path


# aiosmtpd logs every connection at INFO from its own thread, sometimes after the test
# that opened it has ended and its log capture is closed; its warnings still show.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.server.rcpt_seen.append(address)
        reply = self.server.next_reply("RCPT")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.server.data_seen.append(bytes(envelope.content))
        self.server.data_event.set()
        if self.server.hold_data is not None:  # answer late: a client killed meanwhile
            hold = self.server.hold_data
            self.server.hold_data = None
            await asyncio.sleep(hold)
        reply = self.server.next_reply("DATA")
        if reply is not None:
            return reply
        login = session.auth_data
        self.server.mails.append(
            Mail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=bytes(envelope.content),
                arrived=time.time(),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login.decode() if isinstance(login, bytes) else login,
            )
        )
        return "250 2.0.0 accepted"


class SMTPServer:
    """A loopback SMTP server. ``tls``: None (plain), ``"starttls"`` or ``"implicit"``;
    ``credentials``: the (user, password) it accepts."""

    def __init__(
        self,
        *,
        tls: str | None = None,
        ca: LoopbackCA | None = None,
        credentials: tuple[str, str] | None = None,
        auth_over_plain: bool = False,
        refusal: str | None = None,
    ) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.rcpt_seen: list[str] = []
        self.data_seen: list[bytes] = []
        self.data_event = threading.Event()
        self.auth_attempts: list[tuple[str, str]] = []  # one per mechanism tried
        self.auth_sessions: set[int] = set()  # the connections that tried to log in
        self.script: deque[tuple[str, str]] = deque()  # (command, reply)
        self.hold_data: float | None = None
        self._credentials = credentials
        self._refusal = refusal  # the reply to a wrong login, {login} and {password} filled in
        kwargs: dict[str, Any] = {}
        context = (ca or LoopbackCA()).server_context() if tls else None
        if tls == "starttls":
            kwargs["tls_context"] = context
        elif tls == "implicit":
            kwargs["ssl_context"] = context
        if credentials is not None:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd counts only STARTTLS as TLS for AUTH; smtps is TLS from the start.
            kwargs["auth_require_tls"] = not auth_over_plain and tls != "implicit"
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    @property
    def url(self) -> str:
        return f"{'smtps' if self._controller.ssl_context else 'smtp'}://127.0.0.1:{self.port}"

    def start(self) -> SMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def next_reply(self, command: str) -> str | None:
        if self.script and self.script[0][0] == command:
            return self.script.popleft()[1]
        return None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert self._credentials is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.auth_attempts.append((login, password))
        self.auth_sessions.add(id(session))
        ok = (login, password) == self._credentials
        if not ok and self._refusal is not None:
            reply = self._refusal.format(login=login, password=password)
            return AuthResult(success=False, handled=False, message=reply)
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def wait_for(self, n: int, *, timeout: float = 15) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.mails)} of {n} messages within {timeout}s")
            time.sleep(0.02)
        return list(self.mails)
