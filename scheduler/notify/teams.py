"""Microsoft Teams Workflows webhooks: grouped Adaptive Cards, read by the shared status table.

A Workflows trigger ("When a Teams webhook request is received") answers 202
Accepted once it has taken the message; 429 carries ``Retry-After``. Nothing in
its answers says more than the status, so :func:`~scheduler.notify.classify.by_status`
reads them as it does a webhook's.
"""

from __future__ import annotations

from scheduler.notify.chat import ChatStyle
from scheduler.notify.classify import by_status
from scheduler.render.digest_chat import teams_messages
from scheduler.render.teams import MAX_GROUP_ALERTS
from scheduler.render.templated import TEAMS_TEXT

TEAMS_STYLE = ChatStyle(
    render=teams_messages, answers=by_status, max_alerts=MAX_GROUP_ALERTS, text_message=TEAMS_TEXT
)
TEAMS = TEAMS_STYLE.kind()
