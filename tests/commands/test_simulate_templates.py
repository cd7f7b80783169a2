"""``tminus simulate --json`` bodies of templated and apprise channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from scheduler.commands.bodies import channel_bodies
from scheduler.planning import plan
from tests.config.helpers import load, write

CONFIG = """
version: 1
timezone: Europe/Brussels
channels:
  phones:
    type: apprise
    urls: ["ntfy://ntfy.example.org/deadlines"]
  pd:
    type: webhook
    url: https://events.pagerduty.com/v2/enqueue
    template_env: [PD_KEY]
    body_template: '{"routing_key": "{{ env.PD_KEY }}", "summary": {{ text | tojson }}}'
milestones:
  - id: withdrawal-effective
    title: INF Treaty withdrawal takes effect
    at: 2019-08-02
    remind: [7d]
    notify: [phones, pd]
"""


def test_bodies_are_rendered_and_template_secrets_hidden(tmp_path: Path) -> None:
    config = load(write(tmp_path, "c.yaml", CONFIG), env={"PD_KEY": "R0UT1NGKEY-0123"})
    reminders = plan(config, datetime(2019, 7, 25, tzinfo=UTC), datetime(2019, 7, 27, tzinfo=UTC))
    bodies = {channel: body for (_, channel), body in channel_bodies(config, reminders).items()}
    pd = json.loads(bodies["pd"].body)
    assert pd == {
        "routing_key": "***",
        "summary": "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
    }
    phones = json.loads(bodies["phones"].body)
    assert phones["title"] == "⏳ INF Treaty withdrawal takes effect"
    assert phones["body"].startswith("In 7 days · Fri 2 Aug 2019 00:00 CEST · 7 days before")
    assert bodies["phones"].type == "apprise"
