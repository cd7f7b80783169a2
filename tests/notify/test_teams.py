"""Teams channels: registered, grouped, paced at 4/s, answers read by the shared table."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from scheduler.delivery.policy import bucket_for, is_grouped
from scheduler.model import DEFAULT_TEAMS_RATE_LIMIT, Channel, ChannelType, Reason, Secret
from scheduler.notify.chat import ChatNotifier
from scheduler.notify.classify import by_status, classify_response
from scheduler.notify.registry import answers_for, make_notifier
from scheduler.notify.teams import TEAMS_STYLE
from tests.config.helpers import load, write
from tests.support.alerts import burst
from tests.support.daemon import tminus
from tests.support.teams_limits import teams_problems

URL = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3tsig"


def teams(**kw: object) -> Channel:
    return Channel(name="team-chat", type=ChannelType.TEAMS, url=Secret(URL), **kw)  # type: ignore[arg-type]


async def test_registered_as_a_chat_channel_reading_statuses() -> None:
    async with httpx.AsyncClient() as client:
        notifier = make_notifier(teams(), client)
    assert type(notifier) is ChatNotifier and notifier.style is TEAMS_STYLE
    assert answers_for(ChannelType.TEAMS) is by_status
    assert is_grouped(teams())


async def test_prepare_posts_json_cards() -> None:
    async with httpx.AsyncClient() as client:
        notifier = make_notifier(teams(), client)
    requests = notifier.prepare(burst(45, channel="team-chat"))
    assert [len(r.alerts) for r in requests] == [20, 20, 5]
    for request in requests:
        assert request.headers["content-type"] == "application/json"
        assert teams_problems(json.loads(request.content)) == []


def test_paced_at_four_per_second_by_default() -> None:
    assert teams().effective_rate_limit == DEFAULT_TEAMS_RATE_LIMIT == 4.0
    bucket = bucket_for(teams())
    assert bucket.rate == 4.0 and bucket.burst == 4
    waits = [bucket.reserve() for _ in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(0.25, abs=0.02) and waits[5] == pytest.approx(0.5, abs=0.02)
    assert bucket_for(teams(rate_limit=1.0)).rate == 1.0


@pytest.mark.parametrize(
    ("status", "headers", "ok", "retryable", "reason", "retry_after"),
    [
        (202, {}, True, False, Reason.OK, None),
        (200, {}, True, False, Reason.OK, None),
        (429, {"Retry-After": "3"}, False, True, Reason.RATE_LIMITED, 3.0),
        (400, {}, False, False, Reason.CLIENT_ERROR, None),
        (404, {}, False, False, Reason.CLIENT_ERROR, None),
        (502, {}, False, True, Reason.SERVER_ERROR, None),
    ],
)
def test_answers(
    status: int,
    headers: dict[str, str],
    ok: bool,
    retryable: bool,
    reason: Reason,
    retry_after: float | None,
) -> None:
    outcome = classify_response(status, "", headers, now=0.0, rule=answers_for(ChannelType.TEAMS))
    assert (outcome.ok, outcome.retryable, outcome.reason) == (ok, retryable, reason)
    assert outcome.retry_after == retry_after


CONFIG = """\
version: 1
timezone: Europe/Brussels
defaults: {remind: [7d, 0], notify: [team-chat]}
channels:
  team-chat:
    type: teams
    url: https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke
milestones:
  - {id: filing, title: Annual filing, at: 2030-05-01}
"""


def test_config_accepts_teams(tmp_path: Path) -> None:
    config = load(write(tmp_path, "milestones.yaml", CONFIG))
    channel = config.channels["team-chat"]
    assert channel.type is ChannelType.TEAMS and channel.effective_rate_limit == 4.0


def test_check_passes_on_teams(tmp_path: Path) -> None:
    path = write(tmp_path, "milestones.yaml", CONFIG)
    done = tminus("check", "-c", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_signing_secret_is_refused_on_teams(tmp_path: Path) -> None:
    text = CONFIG.replace("    type: teams\n", "    type: teams\n    secret: whsec_dGVzdA==\n")
    done = tminus("check", "-c", str(write(tmp_path, "milestones.yaml", text)))
    assert done.returncode != 0
    assert "only used by webhook channels, not teams" in done.stdout + done.stderr
