"""What an email says: its subject, plain text and HTML, from the view the chat channels use.

One alert reads as the Slack message does: the title with its icon, the countdown
and the date, the lateness, the description, the links, the reminder and the tags.
Several alerts due together are one message listing them soonest first, under a
"3 reminders" heading; the subject is the Slack ``text`` fallback either way. An
alert with an acknowledge link (``TMINUS_PUBLIC_URL`` set) carries an
"Acknowledge: URL" line in the text and an Acknowledge button in its HTML card.
A channel's templates replace the subject and the entries
(:mod:`scheduler.render.email_templated`); both build on :func:`assemble`. A digest
fire is a message of its own (:mod:`scheduler.render.email_digest`). A held alert's
subject ends ``(held: due Sat 00:00)`` and its body says when it was due, escalations
and moved notices read ``Unacknowledged: …`` and ``Moved: …``: the words are
:func:`scheduler.render.view.view`'s, as in chat.

The HTML is one column at most 600 px wide with the system font at 16 px, so a
phone shows it without zooming; it uses inline styles only (mail clients drop
``<style>`` blocks and never run scripts). Every piece of user text is escaped
with :func:`html.escape` (a title of ``<script>`` shows as text), and only
``http``, ``https`` and ``mailto`` links become anchors.

Pure: the alerts' ``sent_at`` is the only "now".
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.model import Alert
from scheduler.render.limits import ELLIPSIS
from scheduler.render.view import AlertView, soonest_first, view
from scheduler.render.words import one_line

# A subject longer than this is cut: clients show 40-80 characters, and RFC 5322
# folds long header lines, which some clients show with stray spaces.
SUBJECT_MAX = 250
TITLE_MAX = 1000
DESCRIPTION_MAX = 20_000
LINKS_MAX = 20
LINK_MAX = 2000
WEB = ("http://", "https://")
LINKABLE = (*WEB, "mailto:")

FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
PAGE_STYLE = f"margin:0 auto;max-width:600px;padding:12px;font-family:{FONT};font-size:16px;line-height:1.5;color:#1f2328"  # noqa: E501
CARD_STYLE = "margin:0 0 12px;padding:16px;border:1px solid #d0d7de;border-radius:8px;background:#ffffff;overflow-wrap:anywhere"  # noqa: E501
TITLE_STYLE = "margin:0 0 8px;font-size:20px;line-height:1.3"
WHEN_STYLE = "margin:0 0 8px;font-weight:600"
LATE_STYLE = "margin:0 0 8px;color:#9a6700"
TEXT_STYLE = "margin:0 0 8px"
QUIET_STYLE = "margin:0;color:#656d76;font-size:14px"
LINK_STYLE = "color:#0969da"
# A link styled as a button: a padded block is an easy target for a thumb; clients
# that drop the styles still show a link named "Acknowledge".
BUTTON_STYLE = "display:inline-block;padding:10px 20px;border-radius:6px;background:#1f883d;color:#ffffff;font-weight:600;text-decoration:none"  # noqa: E501
BUTTON_ROW_STYLE = "margin:12px 0"
ACK_LABEL = "Acknowledge"
SIGNATURE = "\n\n-- \nSent by tminus.\n"  # "-- ": the signature line mail clients dim


@dataclass(frozen=True, slots=True)
class EmailText:
    """The three texts of one message."""

    subject: str
    text: str
    html: str


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def email_text(alerts: Sequence[Alert]) -> EmailText:
    """The subject, plain text and HTML of one message carrying ``alerts`` (soonest first)."""
    if not alerts:
        raise ValueError("a message carries at least one alert")
    views = [view(a) for a in soonest_first(alerts)]
    heading = heading_tag(len(views))
    return assemble(
        [v.fallback for v in views],
        [text_entry(v) for v in views],
        [html_entry(v, heading=heading) for v in views],
    )


def heading_tag(count: int) -> str:
    """The tag of each entry's title: ``h1`` alone, ``h2`` under a group's heading."""
    return "h1" if count == 1 else "h2"


def assemble(subjects: Sequence[str], texts: Sequence[str], cards: Sequence[str]) -> EmailText:
    """One message from its alerts' parts, soonest first: each alert's subject (one line),
    plain-text entry and HTML card. Several alerts are listed under a "3 reminders" heading."""
    if len(subjects) == 1:
        subject, text, heading = subjects[0], texts[0], ""
    else:
        n = len(subjects)
        subject = f"{n} reminders: " + "; ".join(subjects)
        heading = f"⏳ {n} reminders, soonest first"
        text = heading + "\n\n" + "\n\n".join(texts)
    # One line: a header holds no line break, and a template's text may have some.
    subject = cut(one_line(subject), SUBJECT_MAX)
    return EmailText(
        subject=subject, text=text + SIGNATURE, html=page(subject, heading, "".join(cards))
    )


def ack_line(alert: Alert) -> str:
    """``Acknowledge: URL`` for an alert with a link; empty without one."""
    return f"{ACK_LABEL}: {alert.ack_url}" if alert.ack_url else ""


def ack_button(alert: Alert) -> str:
    """The Acknowledge button of an alert with a link (escaped); empty without one. A link
    that is not http(s) is shown as text, never as an anchor."""
    url = alert.ack_url
    if not url:
        return ""
    if url.lower().startswith(WEB) and not any(c.isspace() for c in url):
        anchor = f'<a href="{escape(url)}" style="{BUTTON_STYLE}">{ACK_LABEL}</a>'
    else:
        anchor = escape(ack_line(alert))
    return f'<p style="{BUTTON_ROW_STYLE}">{anchor}</p>'


def _links(v: AlertView) -> list[str]:
    shown = [cut(url.strip(), LINK_MAX) for url in v.links[:LINKS_MAX]]
    if len(v.links) > LINKS_MAX:
        shown.append(f"…and {len(v.links) - LINKS_MAX} more")
    return shown


def text_entry(v: AlertView) -> str:
    """One alert's built-in plain-text entry."""
    lines = [f"{v.icon} {cut(v.title, TITLE_MAX)}", f"{v.status} · {v.when}"]
    if v.late_line:
        lines.append(v.late_line)
    if v.description:
        lines += ["", cut(v.description, DESCRIPTION_MAX), ""]
    lines += _links(v)
    if v.alert.ack_url:
        lines.append(ack_line(v.alert))
    lines.append(" · ".join(part for part in (v.label, v.tag_line) if part))
    return "\n".join(lines)


def escape(text: str) -> str:
    """``text`` safe in HTML, quotes included (it may land in an attribute)."""
    return html.escape(text, quote=True)


def link(url: str) -> str:
    """An anchor for an http(s) or mailto URL; any other text escaped, never a link."""
    if url.lower().startswith(LINKABLE) and not any(c.isspace() for c in url):
        return f'<a href="{escape(url)}" style="{LINK_STYLE}">{escape(url)}</a>'
    return escape(url)


def html_entry(v: AlertView, *, heading: str) -> str:
    """One alert's built-in HTML card, its title in a ``heading`` element."""
    title = escape(f"{v.icon} {cut(v.title, TITLE_MAX)}")
    parts = [
        f'<{heading} style="{TITLE_STYLE}">{title}</{heading}>',
        f'<p style="{WHEN_STYLE}">{escape(v.status)} · {escape(v.when)}</p>',
    ]
    if v.late_line:
        parts.append(f'<p style="{LATE_STYLE}">{escape(v.late_line)}</p>')
    if v.description:
        body = escape(cut(v.description, DESCRIPTION_MAX)).replace("\n", "<br>\n")
        parts.append(f'<p style="{TEXT_STYLE}">{body}</p>')
    links = _links(v)
    if links:
        parts.append(f'<p style="{TEXT_STYLE}">' + "<br>\n".join(link(u) for u in links) + "</p>")
    if v.alert.ack_url:
        parts.append(ack_button(v.alert))
    footer = " · ".join(part for part in (v.label, v.tag_line) if part)
    parts.append(f'<p style="{QUIET_STYLE}">{escape(footer)}</p>')
    return card(parts)


def card(parts: Sequence[str]) -> str:
    """One alert's HTML pieces in its bordered box."""
    return f'<div style="{CARD_STYLE}">\n' + "\n".join(parts) + "\n</div>\n"


def page(subject: str, heading: str, cards: str) -> str:
    """The whole HTML document: ``heading`` (none when empty) above the ``cards``."""
    top = f'<h1 style="{TITLE_STYLE}">{escape(heading)}</h1>\n' if heading else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f6f8fa">\n'
        f'<div style="{PAGE_STYLE}">\n{top}{cards}'
        f'<p style="{QUIET_STYLE}">Sent by tminus.</p>\n</div>\n</body>\n</html>\n'
    )
