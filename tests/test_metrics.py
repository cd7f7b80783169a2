"""The metrics registry: names, labels and values as Prometheus sees them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scheduler.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_two_instances_do_not_share_state() -> None:
    a, b = Metrics(), Metrics()
    a.record_delivery("audit", "sent", "ok")
    key = (
        "tminus_deliveries_total",
        (("channel", "audit"), ("outcome", "sent"), ("reason", "ok")),
    )
    assert samples(a)[key] == 1
    assert key not in samples(b)


def test_delivery_outcomes_durations_and_lateness() -> None:
    m = Metrics()
    m.record_delivery("newsroom", "sent", "ok", duration=0.02, lateness=0.003)
    m.record_delivery("newsroom", "retry", "rate_limited", duration=0.01, lateness=5.0)
    m.record_delivery("newsroom", "dead", "client_error")
    s = samples(m)
    assert (
        s[("tminus_deliveries_dead_total", (("channel", "newsroom"), ("reason", "client_error")))]
        == 1
    )
    assert s[("tminus_delivery_duration_seconds_count", (("channel", "newsroom"),))] == 2
    # Only the sent attempt counts towards lateness.
    assert s[("tminus_delivery_lateness_seconds_count", (("channel", "newsroom"),))] == 1
    assert (
        s[("tminus_delivery_lateness_seconds_bucket", (("channel", "newsroom"), ("le", "0.001")))]
        == 0
    )
    assert (
        s[("tminus_delivery_lateness_seconds_bucket", (("channel", "newsroom"), ("le", "0.005")))]
        == 1
    )
    assert (
        s[("tminus_delivery_lateness_seconds_bucket", (("channel", "newsroom"), ("le", "3600.0")))]
        == 1
    )


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError):
        Metrics().record_delivery("x", "exploded", "ok")


def test_gauges_reloads_claims_and_next_due() -> None:
    now = datetime(2019, 7, 26, tzinfo=UTC).timestamp()
    m = Metrics(clock=lambda: now)
    s = samples(m)
    assert math.isnan(s[("tminus_seconds_until_next_due", ())])
    assert s[("tminus_config_reloads_total", (("result", "failed"),))] == 0
    assert s[("tminus_reminders", (("status", "dead"),))] == 0

    m.set_next_due(datetime(2019, 8, 2, tzinfo=UTC))
    m.record_reload(ok=True)
    m.record_reload(ok=False)
    m.record_claims(3)
    m.set_milestones_loaded(3)
    m.set_reminder_counts({"scheduled": 4, "sent": 2})
    m.set_disabled_channels(["newsroom"], known=["newsroom", "audit"])
    s = samples(m)
    assert s[("tminus_seconds_until_next_due", ())] == 7 * 86400
    assert s[("tminus_next_due_timestamp_seconds", ())] == now + 7 * 86400
    assert s[("tminus_config_reloads_total", (("result", "failed"),))] == 1
    assert s[("tminus_claims_total", ())] == 3
    assert s[("tminus_milestones_loaded", ())] == 3
    assert s[("tminus_reminders", (("status", "scheduled"),))] == 4
    assert s[("tminus_reminders", (("status", "dead"),))] == 0
    assert s[("tminus_channels_disabled", (("channel", "newsroom"),))] == 1
    assert s[("tminus_channels_disabled", (("channel", "audit"),))] == 0

    m.set_disabled_channels([], known=["audit"])
    s = samples(m)
    assert ("tminus_channels_disabled", (("channel", "newsroom"),)) not in s
    assert s[("tminus_channels_disabled", (("channel", "audit"),))] == 0


def test_naive_next_due_is_refused() -> None:
    with pytest.raises(ValueError):
        Metrics().set_next_due(datetime(2019, 8, 2))


def test_escalations_are_counted_by_channel_and_outcome() -> None:
    from scheduler.model import AlertKind

    m = Metrics()
    m.record_delivery("phones", "sent", "ok", kind=AlertKind.ESCALATION)
    m.record_delivery("phones", "retry", "timeout", kind=AlertKind.ESCALATION)
    m.record_delivery("phones", "sent", "ok")  # a reminder: not an escalation
    found = samples(m)
    assert found[("tminus_escalations_total", (("channel", "phones"), ("outcome", "sent")))] == 1
    assert found[("tminus_escalations_total", (("channel", "phones"), ("outcome", "retry")))] == 1
    sent = (("channel", "phones"), ("outcome", "sent"), ("reason", "ok"))
    assert found[("tminus_deliveries_total", sent)] == 2
