"""A reload's widest catch-up and longest offset, counted as milestones come and go,
are those of the whole config (:func:`scheduler.moves.told_lookback` and the window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.durations import Duration
from scheduler.model import DEFAULT_CATCH_UP, Config, Escalation, Milestone
from scheduler.moves import lookback_of, told_lookback
from scheduler.widest import Reach

AT = datetime(2027, 1, 5, 9, tzinfo=UTC)
SHARED = (Duration.parse("7d"), Duration.parse("1d"))


def m(
    mid: str, *, remind: tuple[str, ...] | None = None, escalate: str = "", catch_up: int = 0
) -> Milestone:
    return Milestone(
        id=mid,
        title=mid,
        at=AT,
        remind=SHARED if remind is None else tuple(Duration.parse(r) for r in remind),
        escalate=(Escalation(Duration.parse(escalate), ("b",)),) if escalate else (),
        catch_up=timedelta(hours=catch_up) if catch_up else DEFAULT_CATCH_UP,
    )


BEFORE = [m("a"), m("b", remind=("30d",)), m("c", catch_up=5), m("d", escalate="60d")]


@pytest.mark.parametrize(
    ("gone", "came"),
    [
        ([], []),
        ([BEFORE[1]], []),  # the longest reminder leaves
        ([BEFORE[1]], [m("b", remind=("2d",))]),  # and comes back shorter
        ([BEFORE[2]], [m("c", catch_up=48)]),  # a wider catch-up
        ([BEFORE[3]], []),  # the escalation that reached furthest leaves
        ([], [m("e", remind=("2 years",))]),  # past the cap
        (list(BEFORE), []),  # nothing left
        (list(BEFORE), [m("f", remind=("-2h",))]),  # only a follow-up after the moment
    ],
)
def test_counted_reach_is_the_whole_configs(gone: list[Milestone], came: list[Milestone]) -> None:
    reach = Reach.of(BEFORE)
    after = [x for x in BEFORE if all(x is not g for g in gone)] + came
    widest, longest = reach.after(gone, came)
    expected_widest = max((x.catch_up for x in after), default=None)
    assert widest == expected_widest
    assert lookback_of(longest) == told_lookback(Config(milestones=tuple(after), channels={}))
    reach.move(gone, came)  # counted for good, the next question starts from there
    assert reach.after([], []) == (widest, longest)
    assert Reach.of(after).after([], []) == (widest, longest)
