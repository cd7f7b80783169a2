"""Properties of plan(): order, bounds, identity, and agreement with Duration arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.durations import Duration
from scheduler.model import Config, Milestone, Roll
from scheduler.planning import plan

ZONES = ["UTC", "Europe/Brussels", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]

walls = st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2032, 1, 1))
offsets = st.builds(
    Duration,
    months=st.integers(0, 14),
    days=st.integers(0, 60),
    seconds=st.integers(0, 3 * 86400).map(float),
)
signed_offsets = st.one_of(offsets, offsets.map(lambda d: -d))
rules = st.sampled_from([None, None, "FREQ=YEARLY", "FREQ=MONTHLY", "FREQ=WEEKLY;COUNT=20"])


@st.composite
def configs(draw: st.DrawFn, offset_strategy: st.SearchStrategy[Duration] = offsets) -> Config:
    n = draw(st.integers(1, 6))
    milestones = []
    for i in range(n):
        remind = tuple(draw(st.lists(offset_strategy, min_size=1, max_size=4, unique=True)))
        # some milestones hang off an earlier one (an after: chain)
        base = draw(st.none() | st.integers(0, i - 1)) if i else None
        milestones.append(
            Milestone(
                id=f"m{i}",
                title=f"M{i}",
                timezone=draw(st.sampled_from(ZONES)),
                at=draw(walls) if base is None else None,
                after=None if base is None else f"m{base}",
                offset=Duration() if base is None else draw(signed_offsets),
                remind=remind,
                rrule=draw(rules),
                roll=draw(st.sampled_from(list(Roll))),
                holidays=frozenset(
                    draw(st.lists(st.dates(date(2018, 1, 1), date(2032, 1, 1)), max_size=30))
                ),
            )
        )
    return Config(milestones=tuple(milestones), channels={})


windows = st.tuples(walls, st.integers(1, 3 * 365 * 24)).map(
    lambda w: (w[0].replace(tzinfo=UTC), w[0].replace(tzinfo=UTC) + timedelta(hours=w[1]))
)


@settings(max_examples=150, deadline=None)
@given(configs(), windows)
def test_plan_is_sorted_bounded_unique_and_before_the_occurrence(
    config: Config, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    got = plan(config, start, end)
    keys = [(r.due_at, r.milestone.id) for r in got]
    assert keys == sorted(keys)
    assert all(start <= r.due_at < end for r in got)
    assert len({r.id for r in got}) == len(got)
    assert all(r.due_at <= r.occurrence for r in got)  # non-negative offsets
    for r in got:
        # the planner's inlined arithmetic agrees with Duration's
        assert r.due_at == r.offset.subtract_from(r.occurrence)
        assert r.due_at.utcoffset() == r.offset.subtract_from(r.occurrence).utcoffset()
        assert r.due_at.tzinfo == r.milestone.zone


@settings(max_examples=100, deadline=None)
@given(configs(signed_offsets), windows, st.integers(1, 5))
def test_split_windows_add_up(
    config: Config, window: tuple[datetime, datetime], parts: int
) -> None:
    """Planning [a, c) equals planning [a, b) then [b, c): nothing lost, nothing twice."""
    start, end = window
    whole = [r.id for r in plan(config, start, end)]
    step = (end - start) / parts
    pieces: list[str] = []
    for k in range(parts):
        lo = start + step * k
        hi = end if k == parts - 1 else start + step * (k + 1)
        pieces.extend(r.id for r in plan(config, lo, hi))
    assert sorted(pieces) == sorted(whole)
    assert len(set(pieces)) == len(pieces)
