"""What an Apprise channel hands to Apprise for one alert: a title and a plain-text body.

Apprise passes them on to whatever service each URL names (ntfy, Telegram,
Pushover, Matrix, …), most of which show a short title over a few lines, so the
built-in body is plain text: the status and date, the lateness, the description,
the links and the tags. A channel's ``template`` replaces the body; the title
stays the milestone's.

An alert with an acknowledge link (``TMINUS_PUBLIC_URL`` set) ends its body with
the line ``Acknowledge: URL``, built-in or templated, as the plain part of an email
does; a templated text that already shows the link (``{{ ack_url }}``) gets no
second one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from scheduler.model import Alert, Templates
from scheduler.render.email import ack_line
from scheduler.render.template import Markup, TemplateProblem, render_text
from scheduler.render.view import AlertView, view

# Apprise cuts per service; a title is a notification's headline, keep it one.
TITLE_MAX = 250
DESCRIPTION_MAX = 2000


@dataclass(frozen=True, slots=True)
class AppriseMessage:
    """One notification as Apprise takes it."""

    title: str
    body: str

    def encode(self) -> bytes:
        """The message as a request's content: JSON, so ``simulate`` can show it as it is."""
        return json.dumps({"title": self.title, "body": self.body}, ensure_ascii=False).encode()

    @classmethod
    def decode(cls, content: bytes) -> AppriseMessage:
        document = json.loads(content)
        return cls(title=str(document["title"]), body=str(document["body"]))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def with_ack_line(alert: Alert, body: str) -> str:
    """``body`` and, under it, the alert's ``Acknowledge: URL`` line: unless it has no
    link, or ``body`` shows the link already."""
    url = alert.ack_url
    return f"{body}\n{ack_line(alert)}" if url and url not in body else body


def builtin_body(v: AlertView) -> str:
    """``In 7 days · Fri 2 Aug 2019 00:00 CEST`` and what else the alert has, one per line
    (the acknowledge line last)."""
    lines = [f"{v.status} · {v.when} · {v.label}"]
    if v.late_line:
        lines.append(v.late_line)
    if v.description:
        lines.append(_cut(v.description, DESCRIPTION_MAX))
    lines.extend(v.links)
    if v.tags:
        lines.append(v.tag_line)
    return with_ack_line(v.alert, "\n".join(lines))


def apprise_message(
    alert: Alert, templates: Templates | None
) -> tuple[AppriseMessage, TemplateProblem | None]:
    """The notification for ``alert``: the template's text as the body when there is one
    and it renders, else the built-in body (and why the template did not render)."""
    v = view(alert)
    title = _cut(f"{v.icon} {v.title}", TITLE_MAX)
    if templates is None or templates.text is None:
        return AppriseMessage(title, builtin_body(v)), None
    rendered = render_text(templates.text, alert, templates, markup=Markup.PLAIN)
    if rendered.text:
        return AppriseMessage(title, with_ack_line(alert, rendered.text)), None
    problem = rendered.problem or TemplateProblem("renders to an empty text")
    return AppriseMessage(title, builtin_body(v)), problem
