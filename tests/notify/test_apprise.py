"""The apprise channel through Apprise's real code path, to a real loopback receiver.

Apprise's ``json://`` and ``form://`` services post to any host, so a loopback HTTP
server stands in for ntfy, Telegram and the rest: what arrives is what Apprise sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from scheduler.logs import configure
from scheduler.model import (
    Channel,
    ChannelType,
    Reason,
    RetryPolicy,
    Secret,
    Templates,
    apprise_url_parts,
)
from scheduler.notify.apprise_channel import MAX_CALLS_PER_CHANNEL, AppriseNotifier
from tests.support.alerts import INF_TITLE, make_alert
from tests.support.daemon import free_port
from tests.support.receiver import Receiver, Response
from tests.support.secrets import assert_no_secret

TOKEN_PATH = "/hooks/ntfy-0123456789abcdef"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(Response(200, b"ok")).start()
    yield r
    r.stop()


def _apprise_url(receiver: Receiver, scheme: str = "json", path: str = TOKEN_PATH) -> str:
    return receiver.url.replace("http://", f"{scheme}://") + path


def _channel(*urls: str, templates: Templates | None = None, timeout: float = 5) -> Channel:
    return Channel(
        name="phones",
        type=ChannelType.APPRISE,
        url=Secret(""),
        timeout=timedelta(seconds=timeout),
        retry=RetryPolicy(max_attempts=3),
        apprise_urls=tuple(Secret(u) for u in urls),
        templates=templates,
    )


async def _send(channel: Channel) -> tuple[object, list[bytes]]:
    notifier = AppriseNotifier(channel, client=None)  # type: ignore[arg-type]
    [request] = notifier.prepare([make_alert(channel="phones")])
    return await notifier.send(request), [request.content]


async def test_json_service_posts_the_title_and_body(receiver: Receiver) -> None:
    outcome, _ = await _send(_channel(_apprise_url(receiver)))
    assert outcome.ok and outcome.reason is Reason.OK  # type: ignore[attr-defined]
    [req] = receiver.requests
    assert req.path == TOKEN_PATH
    payload = req.json()
    assert payload["title"] == f"⏳ {INF_TITLE}"
    assert payload["message"].startswith("In 7 days · Fri 2 Aug 2019 00:00 CEST · 7 days before")
    assert "Article XV — six months after notice." in payload["message"]
    assert "#inf #usa" in payload["message"]


async def test_form_service_and_every_url_of_the_channel(receiver: Receiver) -> None:
    urls = [_apprise_url(receiver, "form", "/form/a1b2c3d4e5"), _apprise_url(receiver)]
    outcome, _ = await _send(_channel(*urls))
    assert outcome.ok  # type: ignore[attr-defined]
    got = receiver.wait_for(2)
    by_path = {r.path: r for r in got}
    form = parse_qs(by_path["/form/a1b2c3d4e5"].body.decode())
    assert form["title"] == [f"⏳ {INF_TITLE}"]
    assert by_path[TOKEN_PATH].json()["title"] == f"⏳ {INF_TITLE}"


async def test_template_text_is_the_body(receiver: Receiver) -> None:
    templates = Templates(text="{{ countdown }} {{ milestone.title }} ({{ reminder.label }})")
    outcome, _ = await _send(_channel(_apprise_url(receiver), templates=templates))
    assert outcome.ok  # type: ignore[attr-defined]
    [req] = receiver.requests
    assert req.json()["message"] == f"T-7d {INF_TITLE} (7 days before)"


async def test_a_failing_template_sends_the_built_in_body_and_says_why(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    templates = Templates(text="{{ milestone.tags[5] }}")  # this milestone has two tags
    with caplog.at_level(logging.WARNING, logger="tminus.notify"):
        outcome, _ = await _send(_channel(_apprise_url(receiver), templates=templates))
    assert outcome.ok  # type: ignore[attr-defined]
    [req] = receiver.requests
    assert req.json()["message"].startswith("In 7 days · Fri 2 Aug 2019")
    [record] = [r for r in caplog.records if "template failed" in r.getMessage()]
    problem = record.tminus_fields["problem"]  # type: ignore[attr-defined]
    assert "unknown variable" in problem and "template line 1" in problem


@pytest.mark.parametrize("status", [500, 404, 429])
async def test_a_refusal_is_not_delivered_and_retried(receiver: Receiver, status: int) -> None:
    receiver.default = Response(status, b"no")
    outcome, _ = await _send(_channel(_apprise_url(receiver)))
    assert not outcome.ok  # type: ignore[attr-defined]
    assert outcome.retryable  # type: ignore[attr-defined]  # Apprise gives no status classes
    assert outcome.reason is Reason.NOT_DELIVERED  # type: ignore[attr-defined]
    assert outcome.detail == "Apprise: 1 of 1 services did not take the message (JSON: failure)"  # type: ignore[attr-defined]


async def test_one_url_failing_of_two_is_a_failure(receiver: Receiver) -> None:
    closed = f"json://127.0.0.1:{free_port()}/nobody"
    outcome, _ = await _send(_channel(_apprise_url(receiver), closed))
    assert not outcome.ok and outcome.retryable  # type: ignore[attr-defined]
    assert "1 of 2 services" in outcome.detail  # type: ignore[attr-defined]
    assert len(receiver.requests) == 1


async def test_a_slow_service_times_out_at_the_channel_timeout(receiver: Receiver) -> None:
    receiver.default = Response(200, b"ok", delay=3.0)
    outcome, _ = await _send(_channel(_apprise_url(receiver), timeout=1))
    assert not outcome.ok and outcome.retryable  # type: ignore[attr-defined]
    assert outcome.reason is Reason.TIMEOUT  # type: ignore[attr-defined]


async def test_apprise_logs_nothing_of_its_urls_into_ours(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(fmt="json", level="DEBUG")  # every logger at DEBUG, as an operator might
    receiver.default = Response(500, b"no")
    url = _apprise_url(receiver)
    await _send(_channel(url, f"json://127.0.0.1:{free_port()}{TOKEN_PATH}x"))
    log = capsys.readouterr().err
    assert "request answered" in log, "the notifier logs its answer"
    assert_no_secret(log, [url, TOKEN_PATH, receiver.url])
    assert '"logger": "apprise' not in log and '"logger": "urllib3' not in log


@pytest.mark.parametrize(
    ("url", "secret_parts"),
    [
        ("tgram://123456789:AAbbCCddEEff/987654321", ["123456789:AAbbCCddEEff", "/987654321"]),
        ("pover://u5er4abcdef@t0kenabcdef123", ["u5er4abcdef"]),
        ("json://user:pa55word1@hooks.example.org/x", ["pa55word1", "user:pa55word1"]),
        ("ntfy://ntfy.example.org/deadlines-t0pic", ["/deadlines-t0pic"]),
    ],
)
def test_apprise_url_parts_that_are_secrets(url: str, secret_parts: list[str]) -> None:
    found = apprise_url_parts(url)
    assert url in found
    for part in secret_parts:
        assert part in found
    channel = _channel(url)
    for part in secret_parts:
        assert part in channel.secrets()


async def test_a_burst_takes_turns_and_none_times_out_waiting() -> None:
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def slow(_req: object) -> Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.4)
        with lock:
            in_flight[0] -= 1
        return Response(200, b"ok")

    receiver = Receiver(slow).start()
    try:
        notifier = AppriseNotifier(_channel(_apprise_url(receiver), timeout=1), client=None)  # type: ignore[arg-type]
        alerts = [make_alert(channel="phones", milestone_id=f"m{i}") for i in range(12)]
        requests = notifier.prepare(alerts)
        outcomes = await asyncio.gather(*(notifier.send(r) for r in requests))
    finally:
        receiver.stop()
    # 12 calls of 0.4 s, 4 at a time: 1.2 s in all, longer than the 1 s timeout of each.
    assert all(o.ok for o in outcomes), [o.detail for o in outcomes]
    assert in_flight[1] <= MAX_CALLS_PER_CHANNEL
    assert len(receiver.requests) == 12
