"""Validation of the ``channels:`` section into :class:`scheduler.model.Channel` values.

URLs, signing secrets and header values are wrapped in :class:`Secret` and never
appear in a message: a problem with one names the field, not its content.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scheduler.config.apprise_urls import APPRISE_TYPE, check_apprise_urls
from scheduler.config.checker import Checker, DocPath
from scheduler.config.email import EMAIL_KEYS, check_email, refuse_email_keys
from scheduler.config.interpolate import InterpolationError, interpolate
from scheduler.config.schedules import check_hours
from scheduler.config.templates import check_templates
from scheduler.config.urls import channel_url_problem
from scheduler.config.values import SLUG, SLUG_HINT, kind
from scheduler.model import (
    DEFAULT_GROUP_WINDOW,
    DEFAULT_TIMEOUT,
    Channel,
    ChannelType,
    EmailSettings,
    Location,
    RetryPolicy,
    Secret,
)

CHANNEL_KEYS = frozenset(
    {
        "type",
        "url",
        "url_file",
        "secret",
        "secret_file",
        "headers",
        "timeout",
        "retry",
        "rate_limit",
        "group_window",
        "urls",
        "template",
        "subject",
        "body_template",
        "template_env",
        "hours",
    }
)
RETRY_KEYS = frozenset({"max_attempts", "initial", "max_delay"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# What an HTTP client can send as a header value: printable ASCII and tabs.
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")


def check_channels(
    checker: Checker, value: Any, path: DocPath, *, file: str, zone: str = "UTC"
) -> list[tuple[Channel, DocPath]]:
    """Every valid channel in the section, with the path of its name."""
    section = checker.mapping(value, path, "channels")
    if section is None:
        return []
    out: list[tuple[Channel, DocPath]] = []
    for name, body in section.items():
        where = (*path, name)
        if not SLUG.match(name):
            checker.fail(where, f"invalid channel name '{name}': use {SLUG_HINT}", on_key=True)
            continue
        channel = _check_channel(checker, name, body, where, file=file, zone=zone)
        if channel is not None:
            out.append((channel, where))
    return out


def _check_channel(
    checker: Checker, name: str, value: Any, path: DocPath, *, file: str, zone: str
) -> Channel | None:
    body = checker.mapping(
        value, path, f"channel '{name}'", allowed=CHANNEL_KEYS | EMAIL_KEYS, required=["type"]
    )
    if body is None:
        return None
    before = len(checker.issues)
    kind_ = checker.choice(
        body.get("type"), (*path, "type"), "type", [t.value for t in ChannelType]
    )
    apprise_urls = check_apprise_urls(checker, body, path, kind_)
    email: EmailSettings | None = None
    url: Secret | None
    if kind_ == ChannelType.EMAIL:  # no url: the smtp:// URL stands in for it
        email, url = check_email(checker, body, path, read_secret=_secret_value) or (None, None)
    elif kind_ == APPRISE_TYPE:
        refuse_email_keys(checker, body, path, kind_)
        url = Secret("")  # an apprise channel has no URL of its own
    else:
        refuse_email_keys(checker, body, path, kind_ or "this type")
        url = _secret_value(checker, body, path, "url", required=True)
    secret = _secret_value(checker, body, path, "secret", required=False)
    if email is None and url and (problem := channel_url_problem(url)) is not None:
        checker.fail((*path, "url_file" if "url_file" in body else "url"), problem)
        url = None
    if secret is not None:
        field = "secret_file" if "secret_file" in body else "secret"
        if kind_ is not None and kind_ != ChannelType.WEBHOOK:
            checker.fail(
                (*path, field), f"a signing secret is only used by webhook channels, not {kind_}"
            )
        elif not _valid_signing_secret(secret):
            checker.fail(
                (*path, field), "secret must be 'whsec_' followed by base64 (Standard Webhooks)"
            )
    headers = _headers(checker, body.get("headers", {}), (*path, "headers"))
    timeout = DEFAULT_TIMEOUT
    if "timeout" in body:
        parsed = checker.duration(
            body["timeout"], (*path, "timeout"), "timeout", exact=True, positive=True
        )
        timeout = parsed.to_timedelta() if parsed else timeout
    retry = _retry(checker, body.get("retry"), (*path, "retry"))
    rate_limit = None
    if body.get("rate_limit") is not None:
        rate_limit = checker.number(body["rate_limit"], (*path, "rate_limit"), "rate_limit")
    window = DEFAULT_GROUP_WINDOW
    if "group_window" in body:
        parsed = checker.duration(
            body["group_window"], (*path, "group_window"), "group_window", exact=True
        )
        window = parsed.to_timedelta() if parsed else window
    templates = check_templates(checker, body, path, kind_)

    hours = None
    if body.get("hours") is not None:
        hours = check_hours(checker, body["hours"], (*path, "hours"), zone=zone)
    if len(checker.issues) > before or kind_ is None or url is None or headers is None:
        return None
    if apprise_urls is None:
        return None
    return Channel(
        name=name,
        type=ChannelType(kind_),
        url=url,
        secret=secret,
        headers=headers,
        timeout=timeout,
        retry=retry or RetryPolicy(),
        rate_limit=rate_limit,
        group_window=window,
        hours=hours,
        location=Location(file, 0, 0),
        apprise_urls=apprise_urls,
        templates=templates,
        email=email,
    )


def _secret_value(
    checker: Checker, body: dict[str, Any], path: DocPath, field: str, *, required: bool
) -> Secret | None:
    """``url`` or ``url_file`` (likewise ``secret``): exactly one, read and wrapped."""
    file_field = f"{field}_file"
    if field in body and file_field in body:
        checker.fail(
            (*path, file_field), f"give either '{field}' or '{file_field}', not both", on_key=True
        )
        return None
    if field in body:
        value = body[field]
        if not isinstance(value, str):
            checker.fail((*path, field), f"{field} must be a string, got {kind(value)}")
            return None
        checker.accept_text(value)
        try:
            text = interpolate(value, checker.env).strip()
        except InterpolationError as exc:
            checker.fail((*path, field), str(exc))
            return None
        if not text:
            checker.fail((*path, field), f"{field} must not be empty")
            return None
        return Secret(text)
    if file_field in body:
        name = checker.string(body[file_field], (*path, file_field), file_field)
        if name is None:
            return None
        target = Path(name).expanduser()
        if not target.is_absolute():
            target = checker.base_dir / target
        try:
            content = target.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            checker.fail((*path, file_field), f"{file_field}: no such file: {target}")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
            )
            checker.fail((*path, file_field), f"{file_field}: cannot read {target}: {reason}")
            return None
        if not content:
            checker.fail((*path, file_field), f"{file_field}: {target} is empty")
            return None
        return Secret(content)
    if required:
        checker.fail(path, f"channel is missing '{field}' (or '{file_field}')")
    return None


def _valid_signing_secret(secret: str) -> bool:
    raw = secret.removeprefix("whsec_")
    if not raw:
        return False
    try:
        return bool(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return False


def _headers(checker: Checker, value: Any, path: DocPath) -> MappingProxyType[str, str] | None:
    section = checker.mapping(value, path, "headers")
    if section is None:
        return None
    out: dict[str, str] = {}
    seen: dict[str, str] = {}  # lowercased -> as written: names are case-insensitive
    for name, item in section.items():
        if not _HEADER_NAME.match(name):
            checker.fail((*path, name), f"invalid header name '{name[:80]}'", on_key=True)
            continue
        if name.lower() in seen:
            checker.fail(
                (*path, name),
                f"header '{name}' is given twice (as '{seen[name.lower()]}'): "
                "header names are case-insensitive",
                on_key=True,
            )
            continue
        seen[name.lower()] = name
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            checker.numbers = True
            item = str(item)
        elif isinstance(item, str):
            checker.accept_text(item)
        if not isinstance(item, str):
            checker.fail((*path, name), f"header value must be a string, got {kind(item)}")
            continue
        try:
            text = interpolate(item, checker.env)
        except InterpolationError as exc:
            checker.fail((*path, name), str(exc))
            continue
        if "\n" in text or "\r" in text:
            checker.fail((*path, name), "header value must be a single line")
            continue
        if not _HEADER_VALUE.match(text):
            checker.fail(
                (*path, name),
                "header value must be printable ASCII (no control characters or "
                "non-ASCII letters: percent- or base64-encode them)",
            )
            continue
        out[name] = Secret(text)  # headers often carry tokens
    return MappingProxyType(out)


def _retry(checker: Checker, value: Any, path: DocPath) -> RetryPolicy | None:
    if value is None:
        return RetryPolicy()
    body = checker.mapping(value, path, "retry", allowed=RETRY_KEYS)
    if body is None:
        return None
    default = RetryPolicy()
    attempts = default.max_attempts
    if "max_attempts" in body:
        attempts = (
            checker.integer(
                body["max_attempts"], (*path, "max_attempts"), "max_attempts", minimum=1
            )
            or attempts
        )
    initial, max_delay = default.initial, default.max_delay
    if "initial" in body:
        parsed = checker.duration(
            body["initial"], (*path, "initial"), "initial", exact=True, positive=True
        )
        initial = parsed.to_timedelta() if parsed else initial
    if "max_delay" in body:
        parsed = checker.duration(
            body["max_delay"], (*path, "max_delay"), "max_delay", exact=True, positive=True
        )
        max_delay = parsed.to_timedelta() if parsed else max_delay
    if max_delay < initial:
        checker.fail((*path, "max_delay"), "max_delay must not be shorter than initial")
        return None
    return RetryPolicy(max_attempts=attempts, initial=initial, max_delay=max_delay)
