"""Counting, escaping and truncating user text for channels with hard size limits.

Lengths are counted in UTF-16 code units, as the JavaScript back ends of Slack
and Discord count them: an emoji is two, so a title of emoji cannot slip past a
limit that a count of code points would let through.
"""

from __future__ import annotations

ELLIPSIS = "…"

SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Slack mrkdwn has no escape for ``*``: inside ``*…*`` a user's asterisk
# (``*.example.com``) would end the bold early, so it is shown as the asterisk
# operator (U+2217), which looks the same and formats nothing.
SLACK_BOLD_ESCAPES = SLACK_ESCAPES | str.maketrans({"*": "\u2217"})
# Discord markdown that could restyle or hide user text; mentions are handled by
# allowed_mentions, not by escaping.
DISCORD_ESCAPES = str.maketrans({c: "\\" + c for c in "\\*_~`|>[]"})


def ulen(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def slack_escape(text: str) -> str:
    """Escape Slack's three control characters (``&``, ``<``, ``>``)."""
    return text.translate(SLACK_ESCAPES)


def discord_escape(text: str) -> str:
    """Backslash-escape Discord markdown characters."""
    return text.translate(DISCORD_ESCAPES)


def fit(raw: str, limit: int, table: dict[int, str] | None = None) -> str:
    """``raw`` escaped with ``table``, cut to ``limit`` UTF-16 units with a trailing ``…``.

    Cutting happens on the raw text, character by character, so an escape
    sequence (``&amp;``, ``\\*``) is never split in half.
    """
    # Every character is at least one unit, so past ``limit`` characters it cannot fit,
    # and no more than ``limit`` characters are ever looked at (a 10 MB title is cheap).
    if len(raw) <= limit:
        escaped = raw.translate(table) if table else raw
        if ulen(escaped) <= limit:
            return escaped
    budget = limit - ulen(ELLIPSIS)
    pieces: list[str] = []
    used = 0
    for char in raw[:limit]:
        piece = table.get(ord(char), char) if table else char
        size = len(piece) + (ord(char) > 0xFFFF)  # escapes are ASCII; astral chars are two
        if used + size > budget:
            break
        pieces.append(piece)
        used += size
    return "".join(pieces).rstrip() + ELLIPSIS


def fit_slack(raw: str, limit: int) -> str:
    return fit(raw, limit, SLACK_ESCAPES)


def fit_slack_bold(raw: str, limit: int) -> str:
    """``raw`` escaped for the inside of Slack's ``*…*`` and cut to ``limit``."""
    return fit(raw, limit, SLACK_BOLD_ESCAPES)


def slack_bold(raw: str) -> str:
    """``*raw*``: bold in Slack mrkdwn, with ``raw`` unable to end the bold early."""
    return "*" + raw.translate(SLACK_BOLD_ESCAPES) + "*"


def fit_discord(raw: str, limit: int) -> str:
    return fit(raw, limit, DISCORD_ESCAPES)


def clip(text: str, limit: int) -> str:
    """Cut already-escaped Slack text to ``limit``, never inside an ``&…;`` entity."""
    if ulen(text) <= limit:
        return text
    cut = fit(text, limit)[:-1]  # drop the ellipsis, re-add after repair
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS
