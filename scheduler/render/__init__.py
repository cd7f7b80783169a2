"""Message rendering: pure functions from alerts to what each channel receives.

No clock reads, no I/O: an alert's ``sent_at`` is the only "now", so
``tminus simulate`` and the daemon render identically.
"""

from scheduler.render.discord import discord_payloads
from scheduler.render.slack import slack_payloads
from scheduler.render.teams import teams_payloads
from scheduler.render.text import fallback_text
from scheduler.render.webhook import alert_type, webhook_body

__all__ = [
    "alert_type",
    "discord_payloads",
    "fallback_text",
    "slack_payloads",
    "teams_payloads",
    "webhook_body",
]
