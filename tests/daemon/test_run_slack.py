"""``tminus run`` posting to a Slack-like receiver: grouping, pacing, 429, archived channels."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.daemon.conftest import PLACEHOLDER
from tests.support.chat_limits import slack_problems
from tests.support.daemon import iso_in
from tests.support.receiver import Received, Receiver, Response
from tests.support.secrets import assert_no_secret
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


class SlackLike:
    """Answers like Slack: validates the payload; the second post gets one 429."""

    def __init__(self) -> None:
        self.rejected: list[list[str]] = []
        self.throttle_on: int | None = 2
        self.posts = 0

    def __call__(self, req: Received) -> Response:
        problems = slack_problems(req.json())
        if problems:
            self.rejected.append(problems)
            return Response(400, "invalid_payload")
        self.posts += 1
        if self.posts == self.throttle_on:
            return Response(429, "rate_limited", {"Retry-After": "1"})
        return Response(200, "ok")


@pytest.fixture
def slack() -> Iterator[tuple[Receiver, SlackLike]]:
    behaviour = SlackLike()
    r = Receiver(behaviour).start()
    yield r, behaviour
    r.stop()


def slack_config(url: str, milestones: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "timezone": "Europe/Brussels",
        "defaults": {"remind": ["0"], "notify": ["newsroom"]},
        "channels": {
            "newsroom": {
                "type": "slack",
                "url": url + "/services/T000/B000/XXXXXXXX",
                "rate_limit": 1,
                "retry": {"max_attempts": 5, "initial": "1s", "max_delay": "2s"},
            }
        },
        "milestones": milestones,
    }


def test_burst_of_200_is_a_few_paced_posts(slack: tuple[Receiver, SlackLike], make_daemon) -> None:
    receiver, behaviour = slack
    url = receiver.url
    d = make_daemon(slack_config(url, PLACEHOLDER)).start()
    at = iso_in(2)
    d.reload_with(
        slack_config(
            url,
            [
                {"id": f"filing-{i:03d}", "title": f"Filing deadline {i}", "at": at}
                for i in range(200)
            ],
        )
    )
    wait_until(
        lambda: len(d.history("--status", "sent")) == 200,
        timeout=40,
        interval=0.25,
        message="200 deliveries not all sent",
    )
    assert len(d.history("--status", "sent")) == 200
    posts = receiver.requests
    assert behaviour.rejected == [], "Slack would have rejected a payload"
    assert len(posts) < 20, f"{len(posts)} posts for one burst"
    # After the 429 (Retry-After: 1), nothing for a second, then no faster than 1/s.
    after = [p.arrived for p in posts[behaviour.throttle_on :]]  # type: ignore[misc]
    throttled = posts[behaviour.throttle_on - 1].arrived  # type: ignore[operator]
    assert after[0] - throttled >= 0.95
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(after))
    text = " ".join(p.json()["text"] for p in posts)
    assert "Filing deadline 0" in text and "Filing deadline 199" in text
    assert_no_secret(d.log(), [url + "/services/T000/B000/XXXXXXXX"])
    assert d.stop() == 0


def test_archived_channel_is_disabled_loudly(make_daemon) -> None:
    receiver = Receiver(Response(410, "channel_is_archived")).start()
    try:
        d = make_daemon(slack_config(receiver.url, PLACEHOLDER)).start()
        d.reload_with(slack_config(receiver.url, [{"id": "a", "title": "A", "at": iso_in(1)}]))
        d.wait_log("delivery dead", timeout=15)
        disabled = d.wait_log(
            "CHANNEL DISABLED until the config changes: the receiver says it is gone"
        )
        assert disabled[0]["channel"] == "newsroom"
        metrics = httpx.get(f"{d.base}/metrics").text
        assert 'tminus_channels_disabled{channel="newsroom"} 1.0' in metrics
        page = httpx.get(f"{d.base}/").text
        assert "newsroom" in page
        assert d.stop() == 0
    finally:
        receiver.stop()


def test_reminders_within_the_group_window_are_one_post(
    slack: tuple[Receiver, SlackLike], make_daemon
) -> None:
    receiver, behaviour = slack
    behaviour.throttle_on = None
    d = make_daemon(slack_config(receiver.url, PLACEHOLDER)).start()
    # Due 0, 0.5 and 1.5 s apart: inside the default 2 s group window; the fourth is not.
    d.reload_with(
        slack_config(
            receiver.url,
            [
                {"id": "a", "title": "Alpha", "at": iso_in(3)},
                {"id": "b", "title": "Bravo", "at": iso_in(3.5)},
                {"id": "c", "title": "Charlie", "at": iso_in(4.5)},
                {"id": "d", "title": "Delta", "at": iso_in(8)},
            ],
        )
    )
    first, second = receiver.wait_for(2, timeout=20)
    assert all(t in first.json()["text"] for t in ("Alpha", "Bravo", "Charlie"))
    assert "Delta" not in first.json()["text"]
    assert "Delta" in second.json()["text"]
    d.wait_statuses({"sent": 4}, timeout=10)
    assert d.stop() == 0


def test_discord_429_pauses_every_post_to_the_channel(make_daemon) -> None:
    answers = iter([Response(429, '{"retry_after": 2.0}', {"content-type": "application/json"})])

    def discord(req: Received) -> Response:
        return next(answers, Response(204))

    receiver = Receiver(discord).start()
    try:
        channel = {"type": "discord", "url": receiver.url + "/api/webhooks/1/x"}
        config = {
            "version": 1,
            "defaults": {"remind": ["0"], "notify": ["ops"]},
            "channels": {"ops": channel},
            "milestones": PLACEHOLDER,
        }
        d = make_daemon(config).start()
        at = iso_in(2)
        # 25 reminders at once: three posts of at most 10 embeds; the first gets the 429.
        config["milestones"] = [{"id": f"d{i:02d}", "title": f"D{i}", "at": at} for i in range(25)]
        d.reload_with(config)
        d.wait_statuses({"sent": 25}, timeout=30)
        posts = receiver.requests
        assert len(posts) == 4  # three posts, one of them repeated after the 429
        for earlier, later in itertools.pairwise(p.arrived for p in posts):
            if earlier == posts[0].arrived:
                assert later - earlier >= 1.95, "a post went out during the 429 pause"
        assert d.stop() == 0
    finally:
        receiver.stop()
