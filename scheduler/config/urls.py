"""Checks for the URLs a config holds: channel endpoints and milestone links.

Each returns ``None`` for a usable value or a message fit for a user. A channel
URL is a secret (Slack and Discord put the token in the path), so its messages
never quote any part of it; a link is public and is quoted.

A channel URL is checked the way the notifier will use it: ``urlsplit`` (which
raises on ``http://[::1/x``), the port (which ``urlsplit`` only checks when it is
read) and ``httpx.URL`` (host names that are not valid IDNA, bad IPv4 literals),
so a config that loads never fails at send time for its URL's shape.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # spaces and control characters
LINK_SCHEMES = ("http", "https", "mailto")


def _split(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        return None
    return parts


def channel_url_problem(text: str) -> str | None:
    """Why ``text`` cannot be a channel's endpoint, or ``None`` when it can."""
    if _UNSAFE.search(text):
        return "url must not contain spaces or control characters"
    parts = _split(text)
    if parts is None:
        return "url is not a valid URL (check the brackets around an IPv6 address and the port)"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "url must be an http:// or https:// URL"
    if not parts.hostname:
        return "url has no host name"
    if parts.port == 0:
        return "url has an invalid port: use 1-65535"
    import httpx  # the notifier's own parser; imported only for configs with channels

    try:
        host = httpx.URL(text).raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError):  # IDNA errors are ValueErrors
        return _BAD_HOST
    if not _is_ip(host) and not _dns_name(host):
        return _BAD_HOST
    return None


_BAD_HOST = "url has an invalid host name (not a valid DNS name or IP address)"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%25eth0: a zone index
    except ValueError:
        return False
    return True


def _dns_name(host: str) -> bool:
    """A name the resolver can encode: labels of 1-63 characters, 253 in all.

    Python's resolver raises ``UnicodeError`` (not a network error) on an empty or
    overlong label, which would surface at send time rather than here.
    """
    name = host.removesuffix(".")
    return 0 < len(name) <= 253 and all(0 < len(label) <= 63 for label in name.split("."))


def link_problem(text: str) -> str | None:
    """Why ``text`` cannot be a milestone link (http, https or mailto), or ``None``.

    Links end up as ``href`` targets in calendar apps and chat messages: a
    ``javascript:`` or ``data:`` link would run or show whatever it holds.
    """
    shown = text if len(text) <= 80 else text[:77] + "..."
    if _UNSAFE.search(text.strip()):
        return f"link {shown!r} must not contain spaces or control characters"
    parts = _split(text.strip())
    if parts is None:
        return f"link {shown!r} is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        return f"link {shown!r} must be an http://, https:// or mailto: URL"
    if scheme != "mailto" and not parts.hostname:
        return f"link {shown!r} has no host name"
    if scheme == "mailto" and not parts.path:
        return f"link {shown!r} has no address"
    return None
