"""``tminus run`` posting to a Teams-like Workflows receiver: cards, grouping, 4/s, 429."""

from __future__ import annotations

import itertools

import pytest

from tests.daemon.conftest import PLACEHOLDER
from tests.support.daemon import iso_in
from tests.support.receiver import Received, Receiver, Response
from tests.support.secrets import assert_no_secret
from tests.support.teams_limits import card_text, teams_problems

pytestmark = pytest.mark.slow

PATH = "/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=1&sig=teamssecretsig"


class TeamsLike:
    """Answers like a Workflows trigger: 400 for a card Teams cannot read, 202 otherwise;
    the first post gets one 429 with Retry-After."""

    def __init__(self) -> None:
        self.rejected: list[list[str]] = []
        self.posts = 0

    def __call__(self, req: Received) -> Response:
        problems = teams_problems(req.json())
        if problems:
            self.rejected.append(problems)
            return Response(400, '{"error": {"code": "InvalidRequestContent"}}')
        self.posts += 1
        if self.posts == 1:
            return Response(429, '{"error": {"code": "TooManyRequests"}}', {"Retry-After": "1"})
        return Response(202)


def test_burst_is_cards_paced_at_four_per_second_after_a_429(make_daemon) -> None:
    behaviour = TeamsLike()
    receiver = Receiver(behaviour).start()
    try:
        url = receiver.url + PATH
        channel = {
            "type": "teams",
            "url": url,
            "retry": {"max_attempts": 5, "initial": "1s", "max_delay": "2s"},
        }
        config = {
            "version": 1,
            "timezone": "Europe/Brussels",
            "defaults": {"remind": ["0"], "notify": ["team-chat"]},
            "channels": {"team-chat": channel},
            "milestones": PLACEHOLDER,
        }
        d = make_daemon(config).start()
        at = iso_in(2)
        # 70 reminders at once: four cards of at most 20 entries; the first gets the 429.
        config["milestones"] = [
            {"id": f"f{i:02d}", "title": f"Filing {i}", "at": at} for i in range(70)
        ]
        d.reload_with(config)
        d.wait_statuses({"sent": 70}, timeout=40)
        posts = receiver.requests
        assert behaviour.rejected == [], "Teams would have refused a card"
        assert len(posts) == 5  # four cards, one of them repeated after the 429
        arrived = [p.arrived for p in posts]
        assert arrived[1] - arrived[0] >= 0.95, "a post went out during the 429 pause"
        for earlier, later in itertools.pairwise(arrived[1:]):
            assert later - earlier >= 0.2, "faster than 4 requests per second"
        text = " ".join(card_text(p.json()) for p in posts)
        assert "Filing 0" in text and "Filing 69" in text
        assert all(p.json()["type"] == "message" for p in posts)
        assert_no_secret(d.log(), [url, PATH])
        assert d.stop() == 0
    finally:
        receiver.stop()
