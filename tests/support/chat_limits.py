"""Independent checks of Slack and Discord payloads against the services' limits.

Used by render tests and by the Slack-like and Discord-like loopback receivers,
which answer ``invalid_payload`` / 400 when a check fails, as the services do.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any


def ulen(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_BAD_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def _slack_text_problems(where: str, text: str) -> list[str]:
    problems = []
    if _BAD_AMP.search(text):
        problems.append(f"{where}: unescaped &")
    for match in re.finditer(r"<", text):
        if not text.startswith(("<http://", "<https://"), match.start()):
            problems.append(f"{where}: markup '<' that is not a link")
            break
    return problems


def slack_problems(payload: Any) -> list[str]:
    """Why Slack would refuse (or mangle) ``payload``; empty when it is fine."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        problems.append("text: missing")
    else:
        if ulen(text) > 40_000:
            problems.append("text: over 40,000")
        problems += _slack_text_problems("text", text)
    blocks = payload.get("blocks", [])
    if len(blocks) > 50:
        problems.append(f"blocks: {len(blocks)} > 50")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header":
            t = block["text"]
            if t["type"] != "plain_text" or not 0 < ulen(t["text"]) <= 150:
                problems.append(f"blocks[{i}] header: bad text")
        elif kind == "section":
            t = block.get("text")
            if t is not None:
                if not 0 < ulen(t["text"]) <= 3000:
                    problems.append(f"blocks[{i}] section text: {ulen(t['text'])} chars")
                if t["type"] == "mrkdwn":
                    problems += _slack_text_problems(f"blocks[{i}]", t["text"])
            fields = block.get("fields", [])
            if len(fields) > 10 or any(ulen(f["text"]) > 2000 for f in fields):
                problems.append(f"blocks[{i}] section fields over limits")
        elif kind == "context":
            elements = block["elements"]
            if not 0 < len(elements) <= 10:
                problems.append(f"blocks[{i}] context: {len(elements)} elements")
            for e in elements:
                if not 0 < ulen(e["text"]) <= 3000:
                    problems.append(f"blocks[{i}] context element over 3,000")
                problems += _slack_text_problems(f"blocks[{i}] context", e["text"])
            if "accessory" in block:
                problems += _button_problems(f"blocks[{i}] accessory", block["accessory"])
        elif kind == "actions":
            elements = block["elements"]
            if not 0 < len(elements) <= 25:
                problems.append(f"blocks[{i}] actions: {len(elements)} elements")
            for e in elements:
                problems += _button_problems(f"blocks[{i}] actions", e)
        elif kind != "divider":
            problems.append(f"blocks[{i}]: unexpected type {kind!r}")
    action_ids = [
        e["action_id"]
        for b in blocks
        for e in [*b.get("elements", []), b.get("accessory", {})]
        if isinstance(e, dict) and "action_id" in e
    ]
    if len(action_ids) != len(set(action_ids)):
        problems.append("action_id: not unique within the message")
    return problems


def _button_problems(where: str, button: Any) -> list[str]:
    """Slack's limits on a link button (Block Kit ``button`` element)."""
    problems = []
    if button.get("type") != "button":
        problems.append(f"{where}: not a button")
    text = button.get("text", {})
    if text.get("type") != "plain_text" or not 0 < ulen(text.get("text", "")) <= 75:
        problems.append(f"{where}: button text")
    if not 0 < len(button.get("url", "")) <= 3000:
        problems.append(f"{where}: button url")
    if not 0 < len(button.get("action_id", "")) <= 255:
        problems.append(f"{where}: action_id")
    return problems


def discord_problems(payload: Any) -> list[str]:
    """Why Discord would answer 400 to ``payload``; empty when it is fine."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    content = payload.get("content", "")
    embeds = payload.get("embeds", [])
    if not content and not embeds:
        problems.append("empty message")
    if ulen(content) > 2000:
        problems.append("content over 2,000")
    if payload.get("allowed_mentions") != {"parse": []}:
        problems.append("mentions are not disabled")
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds > 10")
    total = 0
    for i, e in enumerate(embeds):
        title, desc = e.get("title", ""), e.get("description", "")
        if ulen(title) > 256:
            problems.append(f"embeds[{i}].title over 256")
        if ulen(desc) > 4096:
            problems.append(f"embeds[{i}].description over 4,096")
        fields = e.get("fields", [])
        if len(fields) > 25:
            problems.append(f"embeds[{i}]: more than 25 fields")
        for f in fields:
            if not 0 < ulen(f["name"]) <= 256 or not 0 < ulen(f["value"]) <= 1024:
                problems.append(f"embeds[{i}] field {f['name'][:20]!r} over limits")
        if "timestamp" in e:
            datetime.fromisoformat(e["timestamp"])
        total += ulen(title) + ulen(desc)
        total += sum(ulen(f["name"]) + ulen(f["value"]) for f in fields)
        total += ulen(e.get("footer", {}).get("text", ""))
    if total > 6000:
        problems.append(f"embeds total {total} > 6,000")
    return problems
