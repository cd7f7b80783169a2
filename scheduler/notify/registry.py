"""Which notifier serves which channel type: the one table above every channel's module.

A new channel type is one module (its notifier and answer rule, as a
:class:`~scheduler.notify.base.ChannelKind`) and one line here. The modules below
import :mod:`scheduler.notify.base`; nothing below imports this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import httpx

from scheduler.model import Channel, ChannelType
from scheduler.notify.apprise_channel import APPRISE
from scheduler.notify.base import ChannelKind, Notifier
from scheduler.notify.classify import AnswerRule
from scheduler.notify.discord import DISCORD
from scheduler.notify.email import EMAIL
from scheduler.notify.slack import SLACK
from scheduler.notify.teams import TEAMS
from scheduler.notify.webhook import WEBHOOK

KINDS: Mapping[ChannelType, ChannelKind] = MappingProxyType(
    {
        ChannelType.WEBHOOK: WEBHOOK,
        ChannelType.SLACK: SLACK,
        ChannelType.DISCORD: DISCORD,
        ChannelType.TEAMS: TEAMS,
        ChannelType.APPRISE: APPRISE,
        ChannelType.EMAIL: EMAIL,
    }
)


def make_notifier(channel: Channel, client: httpx.AsyncClient) -> Notifier:
    """The notifier for ``channel``'s type, posting through the shared ``client``."""
    return KINDS[channel.type].notifier(channel, client)


def answers_for(channel_type: ChannelType) -> AnswerRule:
    """How answers to a channel of ``channel_type`` are read."""
    return KINDS[channel_type].answers
