"""Validation of an apprise channel's ``urls`` (SPEC "Channels beyond Slack, Discord and
webhooks").

Each URL is ``${VAR}``-interpolated, wrapped in :class:`Secret` and loaded by
Apprise itself, so a URL Apprise cannot use is a config error, not a delivery
that fails for ever. Messages name the field and the URL's scheme, never the URL:
the tokens of most services live inside it. Without the optional extra, the
channel's ``type`` is the error, and it says what to install.
"""

from __future__ import annotations

from typing import Any

from scheduler.config.checker import Checker, DocPath
from scheduler.config.interpolate import InterpolationError, interpolate
from scheduler.config.values import kind
from scheduler.model import Secret
from scheduler.notify.apprise_channel import INSTALL_HINT, apprise_installed, unsupported_url

APPRISE_TYPE = "apprise"


def check_apprise_urls(
    checker: Checker, body: dict[str, Any], path: DocPath, channel_type: str | None
) -> tuple[Secret, ...] | None:
    """The channel's Apprise URLs (``()`` for other types); None on a problem."""
    if channel_type != APPRISE_TYPE:
        if "urls" in body and channel_type is not None:
            checker.fail(
                (*path, "urls"),
                f"urls is only used by apprise channels; a {channel_type} channel takes 'url'",
                on_key=True,
            )
            return None
        return ()
    for single in ("url", "url_file"):
        if single in body:
            checker.fail(
                (*path, single),
                f"an apprise channel takes a list of Apprise URLs in 'urls', not '{single}'",
                on_key=True,
            )
    if not apprise_installed():
        checker.fail(
            (*path, "type"),
            f"type apprise needs the optional Apprise extra: {INSTALL_HINT}",
        )
        return None
    if "urls" not in body:
        checker.fail(path, "an apprise channel is missing 'urls' (a list of Apprise URLs)")
        return None
    items = body["urls"]
    if isinstance(items, str):  # one URL written without the list: accept it as one
        items = [items]
    if not isinstance(items, list) or not items:
        shown = "an empty list" if isinstance(items, list) else kind(items)
        checker.fail((*path, "urls"), f"urls must be a list of Apprise URLs, got {shown}")
        return None
    urls: list[Secret] = []
    for i, item in enumerate(items):
        where = (*path, "urls", i)
        if not isinstance(item, str):
            checker.fail(where, f"each of urls must be a string, got {kind(item)}")
            continue
        checker.accept_text(item)
        try:
            text = interpolate(item, checker.env).strip()
        except InterpolationError as exc:
            checker.fail(where, str(exc))
            continue
        if not text:
            checker.fail(where, "each of urls must not be empty")
            continue
        problem = unsupported_url(text)
        if problem is not None:
            checker.fail(where, problem)
            continue
        urls.append(Secret(text))
    return tuple(urls) if len(urls) == len(items) else None
