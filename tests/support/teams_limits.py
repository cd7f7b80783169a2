"""Independent checks of Teams Workflows payloads: the envelope, the card's required fields, 28 KB.

Used by the render tests and by the Teams-like loopback receiver, which answers
400 when a check fails, as Teams does for a card it cannot read.
"""

from __future__ import annotations

import json
from typing import Any

TEAMS_MAX_BYTES = 28 * 1024  # the limit Teams documents; the renderer keeps a margin below it
CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def body_bytes(payload: Any) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode())


def teams_problems(payload: Any) -> list[str]:
    """Why Teams would refuse ``payload``; empty when it is fine."""
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems: list[str] = []
    if payload.get("type") != "message":
        problems.append("type: not 'message'")
    if body_bytes(payload) >= TEAMS_MAX_BYTES:
        problems.append(f"payload: {body_bytes(payload)} bytes, over 28 KB")
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return [*problems, "attachments: not exactly one"]
    attachment = attachments[0]
    if attachment.get("contentType") != CARD_TYPE:
        problems.append("attachments[0].contentType: not an Adaptive Card")
    card = attachment.get("content")
    if not isinstance(card, dict):
        return [*problems, "attachments[0].content: missing"]
    if card.get("type") != "AdaptiveCard":
        problems.append("content.type: not AdaptiveCard")
    if card.get("version") != "1.5":
        problems.append("content.version: not 1.5")
    if not str(card.get("$schema", "")).startswith("http://adaptivecards.io/schemas/"):
        problems.append("content.$schema: missing")
    body = card.get("body")
    if not isinstance(body, list) or not body:
        problems.append("content.body: empty")
    for n, action in enumerate(card.get("actions", [])):
        if action.get("type") != "Action.OpenUrl":
            problems.append(f"actions[{n}]: not Action.OpenUrl")
        elif not str(action.get("url", "")).startswith(("https://", "http://")):
            problems.append(f"actions[{n}].url: not http(s)")
        elif not action.get("title"):
            problems.append(f"actions[{n}].title: empty")
    return problems


def card_text(payload: dict[str, Any]) -> str:
    """Every text a person sees in the card, joined (for "does it mention X" checks)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "value", "title", "url"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["attachments"][0]["content"]["body"])
    return "\n".join(found)
