"""The registry above the notifiers: every channel type has one, and base.py names none."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import scheduler.notify.base
from scheduler.model import Channel, ChannelType, Secret
from scheduler.notify.chat import ChatNotifier
from scheduler.notify.classify import by_status
from scheduler.notify.discord import DISCORD_STYLE, discord_answer
from scheduler.notify.registry import KINDS, answers_for, make_notifier
from scheduler.notify.slack import SLACK_STYLE, slack_answer
from scheduler.notify.webhook import WebhookNotifier


def test_every_channel_type_is_registered() -> None:
    assert set(KINDS) == set(ChannelType)


@pytest.mark.parametrize(
    ("kind", "notifier_class", "style", "answers"),
    [
        (ChannelType.WEBHOOK, WebhookNotifier, None, by_status),
        (ChannelType.SLACK, ChatNotifier, SLACK_STYLE, slack_answer),
        (ChannelType.DISCORD, ChatNotifier, DISCORD_STYLE, discord_answer),
    ],
)
async def test_make_notifier_builds_the_types_notifier(
    kind: ChannelType, notifier_class: type, style: object, answers: object
) -> None:
    channel = Channel(name="c", type=kind, url=Secret("https://example.org/x"))
    async with httpx.AsyncClient() as client:
        notifier = make_notifier(channel, client)
    assert type(notifier) is notifier_class and notifier.channel is channel
    assert getattr(notifier, "style", None) is style
    assert answers_for(kind) is answers


def test_the_interface_imports_no_channel() -> None:
    tree = ast.parse(Path(scheduler.notify.base.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert imported.isdisjoint(
        {f"scheduler.notify.{m}" for m in ("registry", "chat", "slack", "discord", "webhook")}
    )
