"""``tminus notify-test`` to a Teams channel: one card to a loopback Workflows receiver."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.cli import main
from tests.support.receiver import Response, running_receiver
from tests.support.secrets import assert_no_secret
from tests.support.teams_limits import card_text, teams_problems

PATH = "/workflows/abc/triggers/manual/paths/invoke?sig=notifytestteamssig"


def test_teams_sample_is_one_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_receiver(Response(202)) as receiver:
        config = tmp_path / "milestones.yaml"
        config.write_text(
            f"""\
version: 1
timezone: America/New_York
defaults: {{remind: [7d], notify: [team-chat]}}
channels:
  team-chat:
    type: teams
    url: {receiver.url}{PATH}
milestones:
  - {{id: past, title: Long ago, at: 2019-02-02}}
""",
            encoding="utf-8",
        )
        assert main(["notify-test", "team-chat", "-c", str(config)]) == 0
        [req] = receiver.requests
    out = capsys.readouterr().out
    assert out.startswith("team-chat: 202 ok")
    payload = req.json()
    assert teams_problems(payload) == []
    assert "INF Treaty withdrawal takes effect" in card_text(payload)
    assert req.headers["content-type"] == "application/json"
    assert_no_secret(out, [receiver.url + PATH, PATH])
