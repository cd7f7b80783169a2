"""One email message as sent: headers, ``multipart/alternative`` text and HTML, the calendar.

Structure: ``multipart/mixed`` holding the ``multipart/alternative`` (plain text
first, HTML second, as RFC 2046 orders them) and one ``text/calendar``
attachment per occurrence (``METHOD:PUBLISH``, see :func:`scheduler.ics.occurrence_ics`),
or the ``multipart/alternative`` alone when the channel sets ``attach_ics: false``
and for a digest fire (its own message, in :mod:`scheduler.render.email_digest`'s words).
Text parts are quoted-printable, so the message is 7-bit clean for any server.

Identity and threading, without a database read:

* ``Message-ID`` is ``<delivery id@sender's domain>`` for one alert; a message
  carrying several is ``<grp_…@domain>``, a digest of their sorted delivery ids.
  A message sent again after a crash (the same deliveries) carries the same id,
  so mail clients and archives that deduplicate on it show it once.
* Every message of one milestone occurrence on one channel carries
  ``In-Reply-To`` and ``References`` naming that occurrence's thread root,
  ``<occ_…@domain>``, a digest of (milestone id, occurrence instant, channel).
  Which reminder is the first to be *sent* is known only once it was (the
  earliest may be skipped by ``catch_up``, or the list of offsets may change on
  reload), so the root is this shared name rather than the first message's own
  id: mail clients (Thunderbird, Apple Mail, Mutt) thread messages that share
  a parent whether or not that parent arrived. A moved deadline is a new
  occurrence and so a new thread; a grouped message names every root it concerns.
* ``Auto-Submitted: auto-generated`` (RFC 3834) keeps vacation responders quiet.

Pure and deterministic: the same alerts give the same bytes (MIME boundaries are
derived from the message id, the ``Date`` is the alerts' ``sent_at``).
"""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from scheduler.ics import occurrence_ics
from scheduler.model import Alert, EmailSettings, Mailbox, Reminder, Templates
from scheduler.render.digest import alert_view as digest_view_of
from scheduler.render.digest import split_digests
from scheduler.render.email import EmailText, email_text
from scheduler.render.email_digest import digest_email
from scheduler.render.email_templated import email_words
from scheduler.render.templated import TemplateFailure
from scheduler.render.view import soonest_first
from scheduler.timekeeping import utc_iso_micro

# A message longer than this many reminders is split: a phone screen of cards
# is already long, and each carries a calendar attachment.
MAX_GROUP_ALERTS = 50
FALLBACK_DOMAIN = "tminus"
QP = "quoted-printable"
# Headers are written unfolded up to RFC 5322's 998 characters: the standard library's
# folder doubles a space where it folds next to an encoded word (an em dash in the
# subject), so a folded subject would not read back as written. Bodies are encoded
# (quoted-printable, 76-character lines) when they are set, under the default policy.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


def message_domain(settings: EmailSettings) -> str:
    """The right-hand side of the ids: the sender's domain, as RFC 5322 suggests."""
    domain = settings.sender.address.rpartition("@")[2].lower()
    return domain or FALLBACK_DOMAIN


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def message_id(alerts: Sequence[Alert], domain: str) -> str:
    """``<msg_…@domain>``: one alert's delivery id, or a digest of a group's."""
    ids = sorted(a.delivery_id for a in alerts)
    left = ids[0] if len(ids) == 1 else f"grp_{_digest(*ids)}"
    return f"<{left}@{domain}>"


def thread_root(reminder: Reminder, channel: str, domain: str) -> str:
    """``<occ_…@domain>``: the parent every message about this occurrence names."""
    key = _digest(reminder.milestone.id, utc_iso_micro(reminder.occurrence), channel)
    return f"<occ_{key}@{domain}>"


def _address(box: Mailbox) -> Address:
    return Address(display_name=box.name, addr_spec=box.address)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """One message as ``DATA`` carries it, the alerts it carries, and those of them whose
    template failed (they carry the built-in words)."""

    alerts: list[Alert]
    content: bytes
    fallbacks: tuple[TemplateFailure, ...] = ()


def build_message(
    alerts: Sequence[Alert],
    settings: EmailSettings,
    *,
    words: EmailText | None = None,
    calendars: bool = True,
) -> EmailMessage:
    """The message carrying ``alerts`` (one channel, due together) to the channel's
    recipients, saying ``words`` (the built-in ones by default), with the occurrences'
    calendars when ``calendars`` and the channel's ``attach_ics`` both say so."""
    if not alerts:
        raise ValueError("a message carries at least one alert")
    ordered = soonest_first(alerts)
    domain = message_domain(settings)
    own_id = message_id(ordered, domain)
    roots = list(dict.fromkeys(thread_root(a.reminder, a.channel, domain) for a in ordered))
    if words is None:
        words = email_text(ordered)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = _address(settings.sender)
    msg["To"] = [_address(box) for box in settings.recipients]
    msg["Subject"] = words.subject
    msg["Date"] = format_datetime(ordered[0].sent_at)
    msg["Message-ID"] = own_id
    msg["In-Reply-To"] = " ".join(roots)
    msg["References"] = " ".join(roots)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Tminus-Delivery"] = ", ".join(a.delivery_id for a in ordered)
    msg.set_content(words.text, cte=QP)
    msg.add_alternative(words.html, subtype="html", cte=QP)
    boundary = own_id.strip("<>").partition("@")[0]
    if calendars and settings.attach_ics:
        _attach_calendars(msg, ordered)
        msg.set_boundary(f"=_tminus_{boundary}_mixed")
        alternative = _parts(msg)[0]
        alternative.set_boundary(f"=_tminus_{boundary}_alt")
    else:
        msg.set_boundary(f"=_tminus_{boundary}_alt")
    return msg


def _parts(msg: EmailMessage) -> list[EmailMessage]:
    payload = msg.get_payload()
    assert isinstance(payload, list)
    return [p for p in payload if isinstance(p, EmailMessage)]


def _attach_calendars(msg: EmailMessage, ordered: Sequence[Alert]) -> None:
    """One ``text/calendar`` part per occurrence the alerts announce."""
    seen: set[tuple[str, str]] = set()
    for alert in ordered:
        reminder = alert.reminder
        key = (reminder.milestone.id, utc_iso_micro(reminder.occurrence))
        if key in seen:
            continue
        seen.add(key)
        day = reminder.occurrence.astimezone(reminder.milestone.zone).strftime("%Y%m%d")
        ics = occurrence_ics(reminder, stamp=alert.sent_at).decode("utf-8")
        msg.add_attachment(
            ics, subtype="calendar", cte=QP, filename=f"{reminder.milestone.id}-{day}.ics"
        )
        _parts(msg)[-1].set_param("method", "PUBLISH")


def email_messages(
    alerts: Sequence[Alert], settings: EmailSettings, templates: Templates | None = None
) -> list[RenderedMail]:
    """``alerts`` as messages of at most :data:`MAX_GROUP_ALERTS`, soonest first, as bytes
    with CRLF line ends (what SMTP ``DATA`` carries), in the channel's ``templates``' words
    where it has them. Each digest fire is a message of its own, first, in the digest's
    words and without a calendar (see :func:`digest_mail`)."""
    digests, others = split_digests(alerts)
    out = [digest_mail(alert, settings) for alert in digests]
    ordered = soonest_first(others)
    for start in range(0, len(ordered), MAX_GROUP_ALERTS):
        chunk = ordered[start : start + MAX_GROUP_ALERTS]
        words, failures = email_words(chunk, templates)
        message = build_message(chunk, settings, words=words)
        out.append(RenderedMail(chunk, message.as_bytes(policy=WIRE_POLICY), tuple(failures)))
    return out


def digest_mail(alert: Alert, settings: EmailSettings) -> RenderedMail:
    """One digest fire's message. No ``.ics``: the listed milestones are other deadlines,
    each with its own reminders and their calendars (importing a week's list on one
    click would duplicate them), and the fire itself is no event to put in a calendar."""
    words = digest_email(digest_view_of(alert))
    message = build_message([alert], settings, words=words, calendars=False)
    return RenderedMail([alert], message.as_bytes(policy=WIRE_POLICY))
