"""The parts a channel is configured with: its type, retry policy, the settings only some
types have (email's SMTP envelope, message templates, quiet hours), the ``Secret`` string
its credentials are held in, and the rule that finds the credentials inside an Apprise URL.

Values only, below :mod:`scheduler.model`, whose ``Channel`` holds them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from types import MappingProxyType


class Secret(str):
    """A string that never shows itself in ``repr``, logs or tracebacks.

    It is still a ``str`` so that it can be used as a URL or HMAC key directly;
    only its representation is redacted.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def redacted(self) -> str:
        return "***"


# Shorter configured values are not redacted: replacing every "json" or "1" in a log
# line would hide more than it protects.
MIN_SECRET_CHARS = 6
MIN_SECRET_PATH = 9  # "/" and eight characters


class ChannelType(enum.StrEnum):
    SLACK = "slack"
    WEBHOOK = "webhook"
    DISCORD = "discord"
    TEAMS = "teams"
    APPRISE = "apprise"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed deliveries to one channel are retried."""

    max_attempts: int = 10
    initial: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)


DEFAULT_RETRY = RetryPolicy()


class StartTLS(enum.StrEnum):
    """Whether an ``smtp://`` connection must be upgraded with STARTTLS."""

    AUTO = "auto"  # when the server offers it
    REQUIRED = "required"  # refuse a server that does not offer it


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One email address with its optional display name (``tminus <deadlines@example.org>``)."""

    address: str  # the bare addr-spec, ASCII: what the SMTP envelope carries
    name: str = ""


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """Where and how an email channel sends: the SMTP server and the envelope.

    The password is sent only over TLS (``smtps://``, or ``smtp://`` upgraded by STARTTLS).
    """

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte
    sender: Mailbox
    recipients: tuple[Mailbox, ...]
    starttls: StartTLS = StartTLS.AUTO
    username: Secret | None = None
    password: Secret | None = None
    attach_ics: bool = True

    def credentials(self) -> tuple[str, ...]:
        """The values of these settings that must never be shown."""
        return tuple(str(s) for s in (self.username, self.password) if s)


@dataclass(frozen=True, slots=True)
class Templates:
    """A channel's Jinja2 templates (SPEC "Message templates"), as written; each is optional.

    ``env`` holds the environment variables the templates may read (``TMINUS_TEMPLATE_*``
    and those listed in ``template_env``), read when the config was loaded: rendering
    reads no environment, and the values are secrets (a PagerDuty routing key).
    """

    text: str | None = None  # `template`: the message text of chat, email and apprise channels
    subject: str | None = None  # `subject`: email only
    body: str | None = None  # `body_template`: webhooks only; renders to the JSON body
    env: Mapping[str, Secret] = field(default_factory=lambda: MappingProxyType({}))

    def fingerprint_part(self) -> str:
        return repr((self.text, self.subject, self.body, sorted(self.env.items())))


@dataclass(frozen=True, slots=True)
class QuietHours:
    """When a channel may send (``hours: {days, between, timezone}``): from ``start`` to
    ``end`` wall time in ``timezone`` on each of ``days`` (``date.weekday()`` numbers).

    A window that ends at or before it starts wraps midnight (``22:00-06:00``): it
    belongs to the day it opens on. ``end`` of ``None`` means the end of the day (24:00).
    """

    days: frozenset[int]
    start: time
    end: time | None
    timezone: str = "UTC"


def apprise_url_parts(url: str) -> set[str]:
    """The pieces of an Apprise URL that are credentials on their own.

    Apprise puts tokens anywhere: in the host (``tgram://BOT_TOKEN/CHAT``), the user
    and password (``pover://USER@TOKEN``), the path or the query. So besides the URL,
    everything after the scheme, the user information, a host without dots and the
    path (with its ``/``) each count; the redaction rule drops the pieces too short to matter.
    """
    found = {url}
    if "://" not in url:
        return found
    rest = url.split("://", 1)[1]
    found.add(rest)
    authority, _, path = rest.partition("/")
    userinfo, _, host = authority.rpartition("@")
    found.update({userinfo, userinfo.partition(":")[2]})
    if "." not in host:  # a token where a host would be (a host name has dots)
        found.add(host)
    path = path.partition("?")[0]
    if len(path) + 1 >= MIN_SECRET_PATH:
        found.add("/" + path)
    return {piece for piece in found if piece}
