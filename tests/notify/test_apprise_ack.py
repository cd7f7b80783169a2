"""Apprise messages carry the Acknowledge link: an ``Acknowledge: URL`` line ending the
body, built-in or templated; once, even when the template shows it; none with links off.

Sent through Apprise's real code path (its ``json://`` and ``form://`` services) to a
loopback receiver: what arrives is what Apprise posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from scheduler.model import Alert, Channel, ChannelType, RetryPolicy, Secret, Templates
from scheduler.notify.apprise_channel import AppriseNotifier
from tests.support.alerts import INF_TITLE, make_alert
from tests.support.receiver import Receiver, Response

URL = "https://tminus.example.org/ack/eyJ2MSJ9.c2lnbmF0dXJl"
ACK_LINE = f"Acknowledge: {URL}"
BUILT_IN = "\n".join(
    [
        "In 7 days · Fri 2 Aug 2019 00:00 CEST · 7 days before",
        "Article XV — six months after notice.",
        "https://example.org/inf",
        "#inf #usa",
    ]
)
TEMPLATE = "{{ countdown }} {{ milestone.title }}"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver(Response(200, b"ok")).start()
    yield r
    r.stop()


def _channel(receiver: Receiver, scheme: str, template: str | None) -> Channel:
    url = receiver.url.replace("http://", f"{scheme}://") + "/hooks/phones-0123456789"
    return Channel(
        name="phones",
        type=ChannelType.APPRISE,
        url=Secret(""),
        timeout=timedelta(seconds=5),
        retry=RetryPolicy(max_attempts=1),
        apprise_urls=(Secret(url),),
        templates=None if template is None else Templates(text=template),
    )


async def _arrived(
    receiver: Receiver, alert: Alert, *, scheme: str = "json", template: str | None = None
) -> tuple[str, str]:
    """Send ``alert`` through an apprise channel; the title and body that arrived."""
    receiver.requests.clear()
    notifier = AppriseNotifier(_channel(receiver, scheme, template), client=None)  # type: ignore[arg-type]
    [request] = notifier.prepare([alert])
    outcome = await notifier.send(request)
    assert outcome.ok, outcome
    [req] = receiver.requests
    if scheme == "form":
        form = parse_qs(req.body.decode())
        return form["title"][0], form["message"][0]
    payload = req.json()
    return payload["title"], payload["message"]


def _linked() -> Alert:
    return replace(make_alert(channel="phones"), ack_url=URL)


@pytest.mark.parametrize("scheme", ["json", "form"])
async def test_built_in_body_ends_with_the_acknowledge_line(receiver: Receiver, scheme) -> None:  # type: ignore[no-untyped-def]
    title, body = await _arrived(receiver, _linked(), scheme=scheme)
    assert title == f"⏳ {INF_TITLE}"
    assert body == f"{BUILT_IN}\n{ACK_LINE}"


async def test_built_in_body_without_links_has_no_acknowledge_line(receiver: Receiver) -> None:
    _, body = await _arrived(receiver, make_alert(channel="phones"))
    assert body == BUILT_IN
    assert "Acknowledge" not in body


@pytest.mark.parametrize("scheme", ["json", "form"])
async def test_templated_body_ends_with_the_acknowledge_line(receiver: Receiver, scheme) -> None:  # type: ignore[no-untyped-def]
    title, body = await _arrived(receiver, _linked(), scheme=scheme, template=TEMPLATE)
    assert title == f"⏳ {INF_TITLE}"  # the title stays the milestone's
    assert body == f"T-7d {INF_TITLE}\n{ACK_LINE}"


async def test_a_template_showing_the_link_gets_no_second_one(receiver: Receiver) -> None:
    _, body = await _arrived(receiver, _linked(), template="Done? {{ ack_url }}")
    assert body == f"Done? {URL}"
    assert body.count(URL) == 1 and "Acknowledge" not in body


async def test_templated_body_without_links_is_the_text_alone(receiver: Receiver) -> None:
    alert = make_alert(channel="phones")
    _, body = await _arrived(receiver, alert, template=TEMPLATE + " [{{ ack_url }}]")
    assert body == f"T-7d {INF_TITLE} []"


async def test_a_failing_template_sends_the_built_in_body_with_its_link(
    receiver: Receiver,
) -> None:
    _, body = await _arrived(receiver, _linked(), template="{{ milestone.tags[5] }}")
    assert body == f"{BUILT_IN}\n{ACK_LINE}"
