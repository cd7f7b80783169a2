"""Slack and Discord notifiers against loopback receivers that answer like the services.

The receivers validate every payload against the services' limits and answer
``invalid_payload`` (Slack) or 400 ``Invalid Form Body`` (Discord) when one is
broken, so "every send succeeded" also means "every message was well-formed".
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from scheduler.model import Channel, ChannelType, Reason, Secret
from scheduler.notify import Request, TokenBucket, acquire, make_notifier
from tests.support.alerts import burst, make_alert
from tests.support.chat_limits import discord_problems, slack_problems
from tests.support.notify import send_one
from tests.support.receiver import Received, Receiver, Response, running_receiver

HOSTILE = "<!channel> & @everyone *x* " + "💥" * 3000


def slack_like(req: Received) -> Response:
    try:
        problems = slack_problems(req.json())
    except ValueError:
        problems = ["not JSON"]
    return Response(400, "invalid_payload") if problems else Response(200, "ok")


def discord_like(req: Received) -> Response:
    try:
        problems = discord_problems(req.json())
    except ValueError:
        problems = ["not JSON"]
    if problems:
        body = {"message": "Invalid Form Body", "code": 50035, "errors": problems}
        return Response(400, json.dumps(body), {"content-type": "application/json"})
    return Response(204)


@pytest.fixture(scope="module")
def slack_receiver() -> Iterator[Receiver]:
    with running_receiver(slack_like) as r:
        yield r


@pytest.fixture(scope="module")
def discord_receiver() -> Iterator[Receiver]:
    with running_receiver(discord_like) as r:
        yield r


@pytest.fixture
def slack(slack_receiver: Receiver) -> Receiver:
    slack_receiver.requests.clear()
    slack_receiver.script.clear()
    return slack_receiver


@pytest.fixture
def discord(discord_receiver: Receiver) -> Receiver:
    discord_receiver.requests.clear()
    discord_receiver.script.clear()
    return discord_receiver


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def channel(kind: ChannelType, receiver: Receiver) -> Channel:
    path = (
        "/services/T0000/B0000/XXXXXXXXXXXX" if kind is ChannelType.SLACK else "/api/webhooks/1/tok"
    )
    return Channel(name="newsroom", type=kind, url=Secret(receiver.url + path))


# -- Slack --------------------------------------------------------------------------


async def test_slack_message_is_accepted(slack: Receiver, client: httpx.AsyncClient) -> None:
    notifier = make_notifier(channel(ChannelType.SLACK, slack), client)
    outcome = await send_one(notifier, make_alert(title=HOSTILE))
    assert outcome.ok and outcome.body == "ok"
    [req] = slack.requests
    assert req.headers["content-type"] == "application/json"
    assert req.json()["text"].startswith("T-7d: &lt;!channel&gt; &amp; @everyone")


async def test_slack_rejects_a_broken_payload(slack: Receiver, client: httpx.AsyncClient) -> None:
    # The validating receiver really refuses bad messages (so acceptance elsewhere means something).
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(slack.url, json={"text": "<!channel>", "blocks": []})
    assert (answer.status_code, answer.text) == (400, "invalid_payload")
    outcome = await send_one(make_notifier(channel(ChannelType.SLACK, slack), client), make_alert())
    assert outcome.ok


@pytest.mark.parametrize(
    ("response", "reason", "retryable", "retry_after", "disable", "meaning"),
    [
        (Response(400, "invalid_payload"), Reason.CLIENT_ERROR, False, None, False, "parse"),
        (
            Response(429, "rate_limited", {"Retry-After": "3"}),
            Reason.RATE_LIMITED,
            True,
            3.0,
            False,
            "",
        ),
        (Response(410, "channel_is_archived"), Reason.GONE, False, None, True, "archived"),
        (Response(404, "no_service"), Reason.GONE, False, None, True, "revoked"),
        (Response(403, "action_prohibited"), Reason.CLIENT_ERROR, False, None, False, "admin"),
        (Response(200, "invalid_token"), Reason.REJECTED, False, None, False, "token"),
    ],
)
async def test_slack_answers(
    slack: Receiver,
    client: httpx.AsyncClient,
    response: Response,
    reason: Reason,
    retryable: bool,
    retry_after: float | None,
    disable: bool,
    meaning: str,
) -> None:
    slack.script.append(response)
    outcome = await send_one(make_notifier(channel(ChannelType.SLACK, slack), client), make_alert())
    assert (outcome.ok, outcome.reason, outcome.retryable) == (False, reason, retryable)
    assert (outcome.retry_after, outcome.disable_channel) == (retry_after, disable)
    assert meaning in outcome.detail


async def test_slack_burst_is_few_posts_paced_after_a_429(
    slack: Receiver, client: httpx.AsyncClient
) -> None:
    """200 reminders due together: fewer than 20 posts, none rejected, a 429 pauses them all."""
    notifier = make_notifier(channel(ChannelType.SLACK, slack), client)
    rate = 5.0  # fast for the test; the spacing rule is the same at Slack's 1/s
    bucket = TokenBucket(rate, 1, time.monotonic)
    slack.script.append(Response(429, "rate_limited", {"Retry-After": "1"}))
    alerts = burst(200, title=HOSTILE)
    requests = notifier.prepare(alerts)
    batches = [r.alerts for r in requests]
    assert len(batches) < 20
    paused_at = None
    starts: list[float] = []  # when each send was let go, after the 429
    for request in requests:
        while True:
            await acquire(bucket)
            if paused_at is not None:
                starts.append(time.monotonic())
            outcome = await notifier.send(request)
            if outcome.ok:
                break
            assert outcome.reason is Reason.RATE_LIMITED and outcome.retry_after == 1.0
            paused_at = time.monotonic()
            bucket.pause_until(paused_at + outcome.retry_after)
    posts = slack.requests
    assert len(posts) == len(batches) + 1 < 20
    assert all(slack_problems(p.json()) == [] for p in posts)
    assert paused_at is not None
    assert starts[0] - paused_at >= 1.0  # Retry-After honoured
    # Slots are 1/rate apart from the end of the pause: none is let go before its slot
    # (a slot taken late by a busy loop does not push the next one back).
    opened = paused_at + 1.0
    early = [k for k, start in enumerate(starts) if start < opened + k / rate - 0.001]
    assert early == [], f"sends let go before their slot: {early}"
    # At the receiver too, give or take rendering and request latency on a busy machine.
    arrivals = [p.arrived for p in posts[1:]]
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.5 / rate
    assert sorted(a.delivery_id for b in batches for a in b) == sorted(
        a.delivery_id for a in alerts
    )


async def test_slack_batch_must_be_one_request(slack: Receiver, client: httpx.AsyncClient) -> None:
    notifier = make_notifier(channel(ChannelType.SLACK, slack), client)
    with pytest.raises(ValueError, match="one request"):
        await notifier.send(Request(tuple(burst(60)), b"{}", {}))
    assert slack.requests == []


# -- Discord ------------------------------------------------------------------------


async def test_discord_burst_is_accepted(discord: Receiver, client: httpx.AsyncClient) -> None:
    notifier = make_notifier(channel(ChannelType.DISCORD, discord), client)
    requests = notifier.prepare(burst(25, title=HOSTILE))
    assert [len(r.alerts) for r in requests] == [10, 10, 5]
    for request in requests:
        outcome = await notifier.send(request)
        assert outcome.ok and outcome.status_code == 204, outcome.detail
    assert all(r.json()["allowed_mentions"] == {"parse": []} for r in discord.requests)


async def test_discord_rejects_a_broken_payload(discord: Receiver) -> None:
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(discord.url, json={"content": "x" * 2001})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("response", "reason", "retryable", "retry_after", "disable"),
    [
        (Response(429, json.dumps({"message": "You are being rate limited.", "retry_after": 2.5,
                                   "global": False})), Reason.RATE_LIMITED, True, 2.5, False),
        (Response(404, json.dumps({"message": "Unknown Webhook", "code": 10015})),
         Reason.GONE, False, None, True),
        (Response(401, json.dumps({"message": "Invalid Webhook Token", "code": 50027})),
         Reason.CLIENT_ERROR, False, None, False),
        (Response(502, "<html>bad gateway</html>"), Reason.SERVER_ERROR, True, None, False),
    ],
)  # fmt: skip
async def test_discord_answers(
    discord: Receiver,
    client: httpx.AsyncClient,
    response: Response,
    reason: Reason,
    retryable: bool,
    retry_after: float | None,
    disable: bool,
) -> None:
    discord.script.append(response)
    outcome = await send_one(
        make_notifier(channel(ChannelType.DISCORD, discord), client), make_alert()
    )
    assert (outcome.ok, outcome.reason, outcome.retryable) == (False, reason, retryable)
    assert (outcome.retry_after, outcome.disable_channel) == (retry_after, disable)
