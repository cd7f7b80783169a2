"""Validation of a channel's message templates: ``template``, ``subject``, ``body_template``,
``template_env`` (SPEC "Message templates").

Each template is compiled and rendered against a sample reminder
(:func:`~scheduler.render.template.sample_alert`) with the variables the channel
will have, so a syntax error, an unknown variable, a sandbox violation or a
``body_template`` that is not JSON is a config error at the template's key, with
the line inside the template that failed. Templates are not ``${VAR}``-interpolated:
they read the environment through ``env``, limited to ``TMINUS_TEMPLATE_*`` and the
names in ``template_env``, whose values are read here, once per load.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.values import kind
from scheduler.model import Alert, Secret, Templates
from scheduler.render.template import (
    Rendered,
    markup_for,
    render_json,
    render_text,
    sample_alert,
)

TEMPLATE_KEYS = ("template", "subject", "body_template", "template_env")
ENV_PREFIX = "TMINUS_TEMPLATE_"
# Which channel types read which template (by type name, so a type added later only
# has to be named here).
TEXT_TYPES = frozenset({"slack", "discord", "teams", "email", "apprise"})
SUBJECT_TYPES = frozenset({"email"})
BODY_TYPES = frozenset({"webhook"})
_WHERE = {
    "template": "chat, email and apprise channels (a webhook's body comes from body_template)",
    "subject": "email channels",
    "body_template": "webhook channels (other channels take 'template')",
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_templates(
    checker: Checker, body: dict[str, Any], path: DocPath, channel_type: str | None
) -> Templates | None:
    """The channel's templates, each proven to render; None without any (or on a problem)."""
    if not any(key in body for key in TEMPLATE_KEYS):
        return None
    before = len(checker.issues)
    env = _template_env(checker, body.get("template_env"), (*path, "template_env"))
    sources: dict[str, str] = {}
    for key, allowed in (
        ("template", TEXT_TYPES),
        ("subject", SUBJECT_TYPES),
        ("body_template", BODY_TYPES),
    ):
        if key not in body:
            continue
        where = (*path, key)
        if channel_type is not None and channel_type not in allowed:
            checker.fail(where, f"{key} is only used by {_WHERE[key]}, not {channel_type}")
            continue
        value = body[key]
        if not isinstance(value, str):
            checker.fail(where, f"{key} must be a string, got {kind(value)}")
        elif not value.strip():
            checker.fail(where, f"{key} must not be empty")
        else:
            checker.accept_text(value)  # a plain `on` is a boolean to PyYAML: same reading
            sources[key] = value
    # Every template that could be read is rendered, even beside other problems, so one
    # run of ``check`` reports them all.
    templates = Templates(
        text=sources.get("template"),
        subject=sources.get("subject"),
        body=sources.get("body_template"),
        env=MappingProxyType(env),
    )
    alert = sample_alert()
    markup = markup_for(channel_type or "")
    renders: dict[str, Callable[[str, Alert, Templates], Rendered]] = {
        "template": lambda s, a, t: render_text(s, a, t, markup=markup),
        "subject": render_text,
        "body_template": render_json,
    }
    for key, source in sources.items():
        rendered = renders[key](source, alert, templates)
        if rendered.problem is not None:
            checker.fail((*path, key), f"{key}: {rendered.problem.describe()}", on_key=True)
    return templates if len(checker.issues) == before else None


def _template_env(checker: Checker, value: Any, path: DocPath) -> dict[str, Secret]:
    """``TMINUS_TEMPLATE_*`` and the listed variables, as secrets; every listed one must be
    set (a problem is recorded for each that is not, and the rest are still returned)."""
    env = {k: Secret(v) for k, v in checker.env.items() if k.startswith(ENV_PREFIX)}
    names = [] if value is None else checker.sequence(value, path, "template_env")
    for i, name in enumerate(names or []):
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            shown = repr(name[:80]) if isinstance(name, str) else kind(name)
            checker.fail((*path, i), f"template_env names environment variables, got {shown}")
        elif name not in checker.env:
            checker.fail((*path, i), f"environment variable {name} is not set")
        else:
            env[name] = Secret(checker.env[name])
    return env
