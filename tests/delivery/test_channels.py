"""Channel runtimes across a config install: what carries over, what starts afresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from scheduler.delivery.channels import install
from scheduler.delivery.policy import UNPACED_RATE, bucket_for
from scheduler.model import Channel, ChannelType
from tests.delivery.helpers import FakeNotifier, channel


@dataclass
class State:
    disabled_fingerprint: str | None = None
    disabled_reason: str | None = None


def make(ch: Channel) -> FakeNotifier:
    return FakeNotifier(ch)


def test_an_unchanged_channel_keeps_its_runtime_and_a_changed_one_its_pause_and_lock() -> None:
    a, b = channel(name="a"), channel(ChannelType.SLACK, name="b")
    first = install({"a": a, "b": b}, current={}, states={}, make_notifier=make)
    assert first.re_enabled == [] and first.disabled == {}
    old_b = first.runtimes["b"]
    assert old_b.bucket is not None
    old_b.bucket.pause_for(30)
    b2 = channel(ChannelType.SLACK, name="b", timeout=timedelta(seconds=3))
    second = install({"a": a, "b": b2}, current=first.runtimes, states={}, make_notifier=make)
    assert second.runtimes["a"] is first.runtimes["a"]
    new_b = second.runtimes["b"]
    assert new_b is not old_b and new_b.channel == b2
    assert new_b.lock is old_b.lock
    assert new_b.bucket is not None and 29 < new_b.bucket.paused_for() <= 30


def test_disabled_stays_disabled_until_its_definition_changes() -> None:
    a = channel(name="a")
    gone = {"a": State(a.fingerprint(), "410 gone")}
    kept = install({"a": a}, current={}, states=gone, make_notifier=make)
    assert kept.runtimes["a"].disabled
    assert kept.disabled == {"a": "410 gone"} and kept.re_enabled == []
    changed = channel(name="a", timeout=timedelta(seconds=2))
    fresh = install({"a": changed}, current=kept.runtimes, states=gone, make_notifier=make)
    assert not fresh.runtimes["a"].disabled
    assert fresh.re_enabled == ["a"] and fresh.disabled == {}


def test_buckets_follow_each_channel_type_rate() -> None:
    assert bucket_for(channel()).rate == UNPACED_RATE
    assert bucket_for(channel(ChannelType.SLACK)).rate == 1.0
    discord = bucket_for(channel(ChannelType.DISCORD))
    assert (discord.rate, discord.burst) == (0.5, 5)
    assert bucket_for(channel(rate_limit=4.0)).burst == 12
