"""Message templates (SPEC "Message templates"): the environment, the variables, rendering.

A channel may replace the built-in wording with Jinja2 templates: ``template`` (the
message text of chat, email and apprise channels), ``subject`` (email) and
``body_template`` (webhooks: the rendered text is the JSON body). Templates run in
Jinja2's immutable sandbox (no attribute starting with ``_``, no mutation of lists
or dicts) with ``StrictUndefined``, so a misspelt variable is an error, never an
empty string.

The variables (:func:`template_context`) are the webhook body's ``milestone`` and
``reminder`` (instants as ISO 8601 strings in the milestone's zone), ``text`` (the
built-in one-line text), ``countdown``, ``late``, ``attempt``, ``delivery_id``,
``type``, ``sent_at``, ``ack_url`` and ``env``. The filter ``date(fmt)`` formats an
instant with ``strftime`` in the milestone's zone.

Pure: rendering answers a :class:`Rendered` (the text, or why there is none) and
logs nothing; the channel that asked decides what to send instead and says so.
"""

from __future__ import annotations

import contextlib
import enum
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from scheduler.durations import Duration
from scheduler.logs import scrub
from scheduler.model import Alert, Milestone, Reminder, Templates
from scheduler.render.limits import discord_escape, slack_escape
from scheduler.render.view import view
from scheduler.render.webhook import webhook_body

# Jinja2 names the source of a template made from a string so; its frames carry the
# template's own line numbers once Jinja2 has rewritten the traceback.
TEMPLATE_FILENAME = "<template>"
DEFAULT_DATE_FORMAT = "%a %-d %b %Y %H:%M %Z"
# A rendered text longer than this is refused: no channel takes a message this long,
# and a runaway loop should end as a located error, not as a megabyte post.
MAX_RENDERED_CHARS = 100_000
# Compiled templates kept; a config holds a handful, a reload may bring new ones.
COMPILED_CACHE = 512


class Markup(enum.StrEnum):
    """How the value of every ``{{ … }}`` is escaped for the channel it goes to.

    Only values are escaped: the template's own text is the user's markup (Slack's
    ``*bold*``), while a title such as ``<!channel>`` is shown, not obeyed.
    """

    PLAIN = "plain"
    SLACK = "slack"
    DISCORD = "discord"


_ESCAPES: Mapping[Markup, Callable[[str], str]] = types.MappingProxyType(
    {Markup.SLACK: slack_escape, Markup.DISCORD: discord_escape}
)


def escape_for(markup: Markup) -> Callable[[str], str]:
    """How a value is escaped in a message of ``markup``."""
    return _ESCAPES.get(markup, str)


def markup_for(channel_type: str) -> Markup:
    """The escaping of a channel type's messages: Slack's and Discord's; plain for the rest."""
    return {"slack": Markup.SLACK, "discord": Markup.DISCORD}.get(channel_type, Markup.PLAIN)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Why a template could not be compiled or rendered, and on which of its lines."""

    message: str
    line: int | None = None  # 1-based line inside the template
    source_line: str = ""  # that line's text

    def describe(self) -> str:
        """``unknown variable 'nope' (template line 2: {{ nope }})``."""
        if self.line is None:
            return self.message
        shown = self.source_line.strip()
        if len(shown) > 80:
            shown = shown[:79] + "…"
        return f"{self.message} (template line {self.line}: {shown})"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template's output, or the problem that stopped it (never both)."""

    text: str | None
    problem: TemplateProblem | None = None


def ack_url(alert: Alert) -> str:
    """The acknowledge link of ``alert``'s occurrence, as the prepare stage signed it.

    Empty without ``TMINUS_PUBLIC_URL``, and for a notice that is itself about an
    acknowledgement (there is nothing left to acknowledge).
    """
    return alert.ack_url


def template_context(alert: Alert, env: Mapping[str, str]) -> dict[str, Any]:
    """The variables a template sees for ``alert``; ``env`` as the channel's templates hold it."""
    body = webhook_body(alert)
    facts = view(alert)
    return {
        "type": body["type"],
        "milestone": body["milestone"],
        "reminder": body["reminder"],
        "sent_at": body["sent_at"],
        "text": facts.fallback,
        "countdown": facts.countdown,
        "late": alert.late,
        "attempt": alert.attempt,
        "delivery_id": alert.delivery_id,
        "ack_url": ack_url(alert),
        "env": dict(env),
    }


@pass_context
def _date(context: Context, value: Any, fmt: str = DEFAULT_DATE_FORMAT) -> str:
    """An instant (ISO string or datetime) formatted with ``fmt`` in the milestone's zone."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    milestone = context.get("milestone")
    zone = milestone.get("timezone") if isinstance(milestone, dict) else None
    if moment.tzinfo is not None and isinstance(zone, str):
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(ZoneInfo(zone))
    return moment.strftime(fmt)


@cache
def _environment(markup: Markup) -> ImmutableSandboxedEnvironment:
    escape = escape_for(markup)

    def finalize(value: Any) -> Any:
        return escape(value) if isinstance(value, str) else value

    environment = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, finalize=finalize
    )
    environment.filters["date"] = _date
    return environment


@lru_cache(maxsize=COMPILED_CACHE)
def compile_template(source: str, markup: Markup = Markup.PLAIN) -> Template:
    """``source`` compiled once in the sandbox; raises ``TemplateSyntaxError``."""
    return _environment(markup).from_string(source)


def problem_of(exc: BaseException, source: str) -> TemplateProblem:
    """What went wrong, and where in ``source``: Jinja2 keeps the template's line numbers
    on syntax errors and in the frames of the traceback it rewrites for render errors."""
    line: int | None = None
    if isinstance(exc, TemplateSyntaxError):
        line = exc.lineno
        message = f"syntax error: {exc.message}"
    else:
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        text = str(exc)
        if type(exc).__name__ == "UndefinedError":
            message = f"unknown variable: {text}"
        elif type(exc).__name__ == "SecurityError":
            message = f"not allowed in the sandbox: {text}"
        else:
            message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    lines = source.splitlines()
    shown = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    return TemplateProblem(message, line, shown)


def _failed(problem: TemplateProblem, templates: Templates) -> Rendered:
    """No text, and a problem that shows no value of ``env`` (they are secrets)."""
    secrets = list(templates.env.values())
    return Rendered(
        None,
        TemplateProblem(
            scrub(problem.message, secrets), problem.line, scrub(problem.source_line, secrets)
        ),
    )


def render_text(
    source: str, alert: Alert, templates: Templates, *, markup: Markup = Markup.PLAIN
) -> Rendered:
    """``source`` rendered for ``alert``, values escaped for ``markup``, ends stripped."""
    try:
        text = compile_template(source, markup).render(template_context(alert, templates.env))
    except Exception as exc:  # any value may make a template fail: report, never raise
        return _failed(problem_of(exc, source), templates)
    text = text.strip()
    if len(text) > MAX_RENDERED_CHARS:
        return Rendered(
            None, TemplateProblem(f"renders to more than {MAX_RENDERED_CHARS:,} characters")
        )
    return Rendered(text)


def render_json(source: str, alert: Alert, templates: Templates) -> Rendered:
    """``source`` rendered for ``alert``; the text must be JSON (it becomes a request body)."""
    rendered = render_text(source, alert, templates)
    if rendered.text is None:
        return rendered
    try:
        json.loads(rendered.text)
    except json.JSONDecodeError as exc:
        lines = rendered.text.splitlines()
        shown = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
        if len(shown) > 80:  # show the part around the problem
            start = max(0, exc.colno - 40)
            shown = shown[start : start + 80]
        message = (
            f"does not render to JSON: {exc.msg} at rendered line {exc.lineno}, "
            f"column {exc.colno}: {shown.strip()}"
        )
        return _failed(TemplateProblem(message), templates)
    return rendered


def sample_alert(timezone: str = "UTC") -> Alert:
    """The reminder ``tminus check`` renders every template against: the flagship example,
    seven days before the INF Treaty withdrawal took effect, with every field filled."""
    milestone = Milestone(
        id="withdrawal-effective",
        title="INF Treaty withdrawal takes effect",
        timezone=timezone,
        at=datetime(2019, 8, 2, tzinfo=ZoneInfo(timezone)),
        description="Article XV — six months after notice.",
        tags=("inf", "usa"),
        links=("https://example.org/inf",),
    )
    occurrence = datetime(2019, 8, 2, tzinfo=ZoneInfo(timezone))
    offset = Duration(days=7)
    due = offset.subtract_from(occurrence)
    reminder = Reminder(milestone, occurrence, offset, due, ("sample",))
    return Alert(
        delivery_id=reminder.delivery_id("sample"),
        reminder=reminder,
        channel="sample",
        attempt=1,
        late=False,
        sent_at=due,
    )
