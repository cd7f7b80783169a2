"""What a valid config becomes: defaults applied, dates and zones as SPEC says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scheduler.durations import Duration
from scheduler.model import DEFAULT_CATCH_UP, MilestoneStatus, Roll
from tests.config.helpers import load, write


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2019-02-02", date(2019, 2, 2)),
        ("'2019-02-02'", date(2019, 2, 2)),
        ("2019-02-02T09:00", datetime(2019, 2, 2, 9, 0)),
        ("2019-02-02 09:00", datetime(2019, 2, 2, 9, 0)),
        ("2019-02-02T09:00:30", datetime(2019, 2, 2, 9, 0, 30)),
        ("2019-02-02 09:00:00", datetime(2019, 2, 2, 9, 0)),
        ("2019-02-02T09:00+02:00", datetime(2019, 2, 2, 9, tzinfo=timezone(timedelta(hours=2)))),
        ("2019-02-02T09:00Z", datetime(2019, 2, 2, 9, tzinfo=UTC)),
        (
            "2019-02-02 09:00:00 -05:00",
            datetime(2019, 2, 2, 9, tzinfo=timezone(-timedelta(hours=5))),
        ),
        ("2020-02-29", date(2020, 2, 29)),
    ],
)
def test_at_forms(tmp_path: Path, written: str, expected: date) -> None:
    path = write(
        tmp_path, "c.yaml", f"version: 1\nmilestones:\n  - {{id: a, title: A, at: {written}}}\n"
    )
    at = load(path).milestones[0].at
    assert at == expected
    assert type(at) is type(expected)
    if isinstance(at, datetime) and isinstance(expected, datetime):
        assert at.utcoffset() == expected.utcoffset()


def test_defaults_and_effective_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        version: 1
        timezone: Europe/Brussels
        holidays: [2030-12-25]
        weekend: [fri, sat]
        defaults: {remind: [7d, 0], notify: [team], catch_up: 6h}
        channels:
          team: {type: slack, url: "https://chat.example/hook"}
        milestones:
          - id: plain
            title: "  Plain  "
            at: 2030-01-01
          - id: own
            title: Own
            after: plain
            offset: -90d
            timezone: Asia/Tokyo
            remind: [1d, -2h]
            notify: []
            catch_up: 0
            holidays: [2030-12-26]
            weekend: []
            roll: forward
            status: done
            until: 2030-01-03
            tags: [a, b]
            links: [https://example.org]
            description: ${DESC:-none given}
        """,
    )
    plain, own = load(path).milestones
    assert plain.title == "Plain"
    assert plain.timezone == "Europe/Brussels"
    assert plain.remind == (Duration(days=7), Duration())
    assert plain.notify == ("team",)
    assert plain.catch_up == timedelta(hours=6)
    assert plain.holidays == {date(2030, 12, 25)}
    assert plain.weekend == {4, 5}
    assert (plain.roll, plain.status, plain.rrule) == (Roll.NONE, MilestoneStatus.ACTIVE, None)
    assert own.timezone == "Asia/Tokyo"
    assert own.offset == Duration(days=-90)
    assert own.remind == (Duration(days=1), Duration(seconds=-7200))
    assert own.remind[1].label() == "2 hours after"
    assert own.notify == ()
    assert own.catch_up == timedelta(0)
    assert own.holidays == {date(2030, 12, 25), date(2030, 12, 26)}  # extends the file's
    assert own.weekend == frozenset()  # replaces the file's
    assert (own.roll, own.status) == (Roll.FORWARD, MilestoneStatus.DONE)
    assert own.until == date(2030, 1, 3)
    assert (own.tags, own.links) == (("a", "b"), ("https://example.org",))
    assert own.description == "none given"


def test_bare_minimum(tmp_path: Path) -> None:
    path = write(
        tmp_path, "c.yaml", "version: 1\nmilestones:\n  - {id: a.b_c-1, title: A, at: 2030-01-01}\n"
    )
    config = load(path)
    [m] = config.milestones
    assert (m.timezone, m.remind, m.notify, m.catch_up) == (
        "UTC",
        (Duration(),),
        (),
        DEFAULT_CATCH_UP,
    )
    assert config.channels == {}
    assert config.timezone == "UTC"


def test_channel_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        version: 1
        channels:
          hook:
            type: webhook
            url: https://h.example/${HOOK:-x}
            secret: whsec_dGVzdA==
            headers: {X-Team: arms-control, X-Num: 5}
            timeout: 10s
            retry: {max_attempts: 3, initial: 2s, max_delay: 1m}
            rate_limit: 0.5
            group_window: 0
        """,
    )
    channel = load(path).channels["hook"]
    assert channel.url == "https://h.example/x"
    assert dict(channel.headers) == {"X-Team": "arms-control", "X-Num": "5"}
    assert channel.timeout == timedelta(seconds=10)
    assert (channel.retry.max_attempts, channel.retry.initial, channel.retry.max_delay) == (
        3,
        timedelta(seconds=2),
        timedelta(minutes=1),
    )
    assert channel.rate_limit == 0.5
    assert channel.group_window == timedelta(0)


def test_garbage_collector_is_restored(tmp_path: Path) -> None:
    import gc

    from scheduler.errors import ConfigError

    good = write(tmp_path, "good.yaml", "version: 1\n")
    bad = write(tmp_path, "bad.yaml", "version: 2\n")
    assert gc.isenabled()
    load(good)
    assert gc.isenabled()
    with pytest.raises(ConfigError):
        load(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        load(good)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
