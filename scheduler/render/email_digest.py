"""What a digest email says: its subject, plain text and HTML, from the digest's facts.

A digest fire is always a message of its own (never grouped with reminders), in the
words the chat channels use (:mod:`scheduler.render.digest`), so email and chat agree:
the subject is the digest's one-line text (``Digest weekly: 2 milestones in the next
14 days — T-1d: …``, with ``(held: due Mon 09:00)`` when quiet hours kept it), cut as
every subject is; the body is the headline, the held or late note, and one line per
milestone, soonest first: countdown, title, date in its own zone, and who
acknowledged it. Past :data:`LISTED_MAX` lines (and past the fire's stored list) the
rest are counted, ``…and 12 more``: a longer list is a scroll nobody finishes on a
phone, and the web page has them all.

The HTML is the reminders' page (one 600 px column, inline styles, every piece of
user text escaped): the headline as its heading, then one card holding the list.

A channel's ``subject`` and ``template`` are not applied: they are written for one
milestone's reminder, and a digest is a list.

Pure: the alert's ``sent_at`` is the only "now".
"""

from __future__ import annotations

from scheduler.render.digest import DigestEntry, DigestView
from scheduler.render.email import (
    LATE_STYLE,
    QUIET_STYLE,
    SIGNATURE,
    SUBJECT_MAX,
    TEXT_STYLE,
    EmailText,
    card,
    cut,
    escape,
    page,
)
from scheduler.render.words import one_line

LISTED_MAX = 50  # milestone lines in one digest email
ENTRY_TITLE_MAX = 200  # characters of a title in one line, as the chat digests cut it
NOTHING_DUE = "Nothing due."
ENTRY_STYLE = "margin:0 0 10px"
COUNTDOWN_STYLE = "display:inline-block;min-width:4em;font-weight:600"
ACK_STYLE = "color:#1a7f37"


def _more(view: DigestView) -> int:
    """How many listed milestones the email does not show."""
    return view.more + max(0, len(view.entries) - LISTED_MAX)


def _text_line(entry: DigestEntry) -> str:
    line = f"{entry.countdown}: {cut(entry.title, ENTRY_TITLE_MAX)} — {entry.when}"
    return f"{line} (✅ {entry.acknowledged})" if entry.acknowledged else line


def _html_line(entry: DigestEntry) -> str:
    ack = ""
    if entry.acknowledged:
        ack = f' <span style="{ACK_STYLE}">✅ {escape(entry.acknowledged)}</span>'
    return (
        f'<p style="{ENTRY_STYLE}"><span style="{COUNTDOWN_STYLE}">{escape(entry.countdown)}'
        f"</span> {escape(cut(entry.title, ENTRY_TITLE_MAX))}<br>\n"
        f'<span style="{QUIET_STYLE}">{escape(entry.when)}</span>{ack}</p>'
    )


def digest_email(view: DigestView) -> EmailText:
    """The subject, plain text and HTML of the message announcing one digest fire."""
    shown = view.entries[:LISTED_MAX]
    more = _more(view)
    lines = [_text_line(e) for e in shown] or [NOTHING_DUE]
    items = [_html_line(e) for e in shown] or [f'<p style="{TEXT_STYLE}">{NOTHING_DUE}</p>']
    if more:
        lines.append(f"…and {more} more")
        items.append(f'<p style="{QUIET_STYLE}">…and {more} more</p>')
    top = [view.title]
    html_top = []
    if view.note:
        top.append(view.note)
        html_top.append(f'<p style="{LATE_STYLE}">{escape(view.note)}</p>')
    text = "\n".join(top) + "\n\n" + "\n".join(lines)
    subject = cut(one_line(view.fallback), SUBJECT_MAX)
    html = page(subject, view.title, card([*html_top, *items]))
    return EmailText(subject=subject, text=text + SIGNATURE, html=html)
