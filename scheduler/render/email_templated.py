"""An email's words from the channel's templates: ``subject`` and ``template`` (SPEC
"Message templates").

``subject`` replaces each alert's part of the subject line (a group's subject is
still "3 reminders: a; b; c"), made one line and cut as the built-in one is.
``template`` replaces each alert's entry: the plain part shows the rendered text as
it is; the HTML card shows it escaped, one paragraph per blank-line-separated
block with its line breaks kept and its http(s) and mailto URLs as links, in the
system font at phone size (a ``<pre>`` block would be monospace and scroll
sideways on a phone). Both render as ``tminus check`` renders them: plain, with
no escaping of the values (the HTML escapes the whole text afterwards).

An alert with an acknowledge link still carries it: the "Acknowledge: URL" line
and the button follow the templated text, unless the text already shows that
link (``{{ ack_url }}``), so a template cannot drop it by accident nor show it twice.

A template that fails for an alert leaves that alert its built-in subject part or
entry, and a :class:`~scheduler.render.templated.TemplateFailure` says why: the
reminder is never lost to a template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scheduler.model import Alert, Templates
from scheduler.render.email import (
    TEXT_STYLE,
    EmailText,
    ack_button,
    ack_line,
    assemble,
    card,
    email_text,
    escape,
    heading_tag,
    html_entry,
    link,
    text_entry,
)
from scheduler.render.template import Markup, Rendered, TemplateProblem, render_text
from scheduler.render.templated import TemplateFailure
from scheduler.render.view import AlertView, soonest_first, view

# A URL in a templated text, without the punctuation that usually follows one.
_URL = re.compile(r"""(?:https?://|mailto:)[^\s<>"']*[^\s<>"'.,;:!?)\]]""", re.IGNORECASE)
_BLOCKS = re.compile(r"\n\s*\n")


def email_words(
    alerts: Sequence[Alert], templates: Templates | None
) -> tuple[EmailText, list[TemplateFailure]]:
    """The subject, plain text and HTML of one message carrying ``alerts``, with the
    channel's templates where it has them; and the alerts a template failed for."""
    if templates is None or (templates.subject is None and templates.text is None):
        return email_text(alerts), []
    if not alerts:
        raise ValueError("a message carries at least one alert")
    views = [view(a) for a in soonest_first(alerts)]
    heading = heading_tag(len(views))
    failures: list[TemplateFailure] = []
    subjects, texts, cards = [], [], []
    for v in views:
        subject = _render(templates.subject, "subject", v.alert, templates, failures)
        subjects.append(v.fallback if subject is None else subject)
        text = _render(templates.text, "template", v.alert, templates, failures)
        if text is None:
            texts.append(text_entry(v))
            cards.append(html_entry(v, heading=heading))
        else:
            texts.append(templated_text(v, text))
            cards.append(templated_card(v, text))
    return assemble(subjects, texts, cards), failures


def _render(
    source: str | None,
    key: str,
    alert: Alert,
    templates: Templates,
    failures: list[TemplateFailure],
) -> str | None:
    """``source`` rendered for ``alert``; None without a template, or when it fails (then
    the failure is added to ``failures``)."""
    if source is None:
        return None
    rendered: Rendered = render_text(source, alert, templates, markup=Markup.PLAIN)
    if rendered.text:
        return rendered.text
    problem = rendered.problem or TemplateProblem("renders to an empty text")
    failures.append(TemplateFailure(alert, key, problem))
    return None


def _lacks_link(v: AlertView, text: str) -> bool:
    """Whether the alert has an acknowledge link that ``text`` does not show."""
    return bool(v.alert.ack_url) and v.alert.ack_url not in text


def templated_text(v: AlertView, text: str) -> str:
    """The plain-text entry: the rendered text, then the acknowledge line it lacks."""
    return f"{text}\n{ack_line(v.alert)}" if _lacks_link(v, text) else text


def templated_card(v: AlertView, text: str) -> str:
    """The HTML card: the rendered text as escaped paragraphs, then the button it lacks."""
    parts = [f'<p style="{TEXT_STYLE}">{_paragraph(block)}</p>' for block in _blocks(text)]
    if _lacks_link(v, text):
        parts.append(ack_button(v.alert))
    return card(parts)


def _blocks(text: str) -> list[str]:
    return [block.strip("\n") for block in _BLOCKS.split(text) if block.strip()]


def _paragraph(block: str) -> str:
    """One block of text as HTML: escaped, URLs as links, line breaks kept."""
    out: list[str] = []
    start = 0
    for match in _URL.finditer(block):
        out += [escape(block[start : match.start()]), link(match.group())]
        start = match.end()
    out.append(escape(block[start:]))
    return "".join(out).replace("\n", "<br>\n")
