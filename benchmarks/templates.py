"""What templates and the apprise channel cost: rendering per alert, Apprise sends per second.

Usage: ``python -m benchmarks.templates [N]``. Renders N alerts through Slack's built-in
layout and through a ``template`` (the SPEC's example), and a webhook's built-in body and
a PagerDuty ``body_template``; then sends N/10 notifications through an apprise channel
(``json://`` to a loopback receiver in this process, Apprise's real code path), and
prints per-alert times and the send rate.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from scheduler.model import Alert, Channel, ChannelType, Secret, Templates
from scheduler.notify.apprise_channel import AppriseNotifier
from scheduler.notify.webhook import channel_body
from scheduler.render.slack import slack_payloads
from scheduler.render.template import Markup
from scheduler.render.templated import SLACK_TEXT, templated_payloads
from tests.support.alerts import make_alert
from tests.support.receiver import Receiver, Response

SLACK_TEMPLATE = (
    "{{ countdown }}: *{{ milestone.title }}* ({{ milestone.at | date('%a %-d %b %Y') }})"
)
PD_BODY = (
    '{"routing_key": "{{ env.PD_KEY }}", "event_action": "trigger", '
    '"dedup_key": "{{ delivery_id }}", "payload": {"summary": {{ text | tojson }}, '
    '"source": "tminus", "severity": "warning"}}'
)


def per_alert(label: str, alerts: list[Alert], fn: Callable[[Alert], object]) -> None:
    started = time.perf_counter()
    for alert in alerts:
        fn(alert)
    took = time.perf_counter() - started
    print(f"{label:<40} {took / len(alerts) * 1e6:8.1f} µs per alert")


async def apprise_rate(n: int) -> None:
    receiver = Receiver(Response(200, b"ok")).start()
    try:
        url = receiver.url.replace("http://", "json://") + "/bench"
        channel = Channel(
            name="phones",
            type=ChannelType.APPRISE,
            url=Secret(""),
            timeout=timedelta(seconds=10),
            apprise_urls=(Secret(url),),
        )
        notifier = AppriseNotifier(channel, client=None)  # type: ignore[arg-type]
        alerts = [make_alert(channel="phones", milestone_id=f"m{i}") for i in range(n)]
        requests = notifier.prepare(alerts)
        await notifier.send(requests[0])  # Apprise's plugins load on first use
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(notifier.send(r) for r in requests[1:]))
        took = time.perf_counter() - started
    finally:
        receiver.stop()
    ok = sum(o.ok for o in outcomes)
    print(f"apprise json:// to loopback: {ok}/{len(outcomes)} ok, {len(outcomes) / took:.0f}/s")


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    alerts = [make_alert(milestone_id=f"m{i}", at=(2019, 8, 2, 0, i % 60)) for i in range(n)]
    templates = Templates(text=SLACK_TEMPLATE, env={"PD_KEY": Secret("R0UT1NGKEY")})
    per_alert("slack, built-in layout", alerts, lambda a: slack_payloads([a]))
    per_alert(
        "slack, template",
        alerts,
        lambda a: templated_payloads(
            [a], SLACK_TEMPLATE, templates, message=SLACK_TEXT, markup=Markup.SLACK, max_alerts=49
        ),
    )
    plain = Channel(name="pd", type=ChannelType.WEBHOOK, url=Secret("https://x.example.org/h"))
    pd = Channel(
        name="pd",
        type=ChannelType.WEBHOOK,
        url=Secret("https://x.example.org/h"),
        templates=Templates(body=PD_BODY, env={"PD_KEY": Secret("R0UT1NGKEY")}),
    )
    per_alert("webhook, built-in body", alerts, lambda a: channel_body(plain, a))
    per_alert("webhook, PagerDuty body_template", alerts, lambda a: channel_body(pd, a))
    asyncio.run(apprise_rate(max(20, n // 10)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
