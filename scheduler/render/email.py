"""What an email says: its subject, plain text and HTML, from the view the chat channels use.

One alert reads as the Slack message does: the title with its icon, the countdown
and the date, the lateness, the description, the links, the reminder and the tags.
Several alerts due together are one message listing them soonest first, under a
"3 reminders" heading; the subject is the Slack ``text`` fallback either way.

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

# A subject longer than this is cut: clients show 40-80 characters, and RFC 5322
# folds long header lines, which some clients show with stray spaces.
SUBJECT_MAX = 250
TITLE_MAX = 1000
DESCRIPTION_MAX = 20_000
LINKS_MAX = 20
LINK_MAX = 2000
LINKABLE = ("http://", "https://", "mailto:")

FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
PAGE_STYLE = f"margin:0 auto;max-width:600px;padding:12px;font-family:{FONT};font-size:16px;line-height:1.5;color:#1f2328"  # noqa: E501
CARD_STYLE = "margin:0 0 12px;padding:16px;border:1px solid #d0d7de;border-radius:8px;background:#ffffff;overflow-wrap:anywhere"  # noqa: E501
TITLE_STYLE = "margin:0 0 8px;font-size:20px;line-height:1.3"
WHEN_STYLE = "margin:0 0 8px;font-weight:600"
LATE_STYLE = "margin:0 0 8px;color:#9a6700"
TEXT_STYLE = "margin:0 0 8px"
QUIET_STYLE = "margin:0;color:#656d76;font-size:14px"
LINK_STYLE = "color:#0969da"


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
    if len(views) == 1:
        (only,) = views
        subject = only.fallback
        text = _text_entry(only)
        cards = _html_entry(only, heading="h1")
        heading = ""
    else:
        n = len(views)
        subject = f"{n} reminders: " + "; ".join(v.fallback for v in views)
        heading = f"⏳ {n} reminders, soonest first"
        text = heading + "\n\n" + "\n\n".join(_text_entry(v) for v in views)
        cards = "".join(_html_entry(v, heading="h2") for v in views)
    subject = cut(subject, SUBJECT_MAX)
    text += "\n\n-- \nSent by tminus.\n"  # "-- ": the signature line mail clients dim
    return EmailText(subject=subject, text=text, html=_page(subject, heading, cards))


def _links(v: AlertView) -> list[str]:
    shown = [cut(link.strip(), LINK_MAX) for link in v.links[:LINKS_MAX]]
    if len(v.links) > LINKS_MAX:
        shown.append(f"…and {len(v.links) - LINKS_MAX} more")
    return shown


def _text_entry(v: AlertView) -> str:
    lines = [f"{v.icon} {cut(v.title, TITLE_MAX)}", f"{v.status} · {v.when}"]
    if v.late_line:
        lines.append(v.late_line)
    if v.description:
        lines += ["", cut(v.description, DESCRIPTION_MAX), ""]
    lines += _links(v)
    lines.append(" · ".join(part for part in (v.label, v.tag_line) if part))
    return "\n".join(lines)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _link(url: str) -> str:
    if url.lower().startswith(LINKABLE) and not any(c.isspace() for c in url):
        return f'<a href="{_e(url)}" style="{LINK_STYLE}">{_e(url)}</a>'
    return _e(url)


def _html_entry(v: AlertView, *, heading: str) -> str:
    parts = [
        f'<{heading} style="{TITLE_STYLE}">{_e(v.icon)} {_e(cut(v.title, TITLE_MAX))}</{heading}>',
        f'<p style="{WHEN_STYLE}">{_e(v.status)} · {_e(v.when)}</p>',
    ]
    if v.late_line:
        parts.append(f'<p style="{LATE_STYLE}">{_e(v.late_line)}</p>')
    if v.description:
        body = _e(cut(v.description, DESCRIPTION_MAX)).replace("\n", "<br>\n")
        parts.append(f'<p style="{TEXT_STYLE}">{body}</p>')
    links = _links(v)
    if links:
        parts.append(f'<p style="{TEXT_STYLE}">' + "<br>\n".join(_link(u) for u in links) + "</p>")
    footer = " · ".join(part for part in (v.label, v.tag_line) if part)
    parts.append(f'<p style="{QUIET_STYLE}">{_e(footer)}</p>')
    return f'<div style="{CARD_STYLE}">\n' + "\n".join(parts) + "\n</div>\n"


def _page(subject: str, heading: str, cards: str) -> str:
    top = f'<h1 style="{TITLE_STYLE}">{_e(heading)}</h1>\n' if heading else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f6f8fa">\n'
        f'<div style="{PAGE_STYLE}">\n{top}{cards}'
        f'<p style="{QUIET_STYLE}">Sent by tminus.</p>\n</div>\n</body>\n</html>\n'
    )
