"""A channel's adaptive in-flight limit, on an injected clock: it grows while answers
come as fast as the fastest seen, shrinks when they queue, stays in bounds, recovers."""

from __future__ import annotations

import pytest

from scheduler.delivery.limit import AdaptiveLimit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(limit: AdaptiveLimit, clock: Clock, rtt: float, samples: int) -> None:
    """``samples`` answers of ``rtt`` seconds each, with the limit's worth in flight."""
    for _ in range(samples):
        clock.now += 0.001
        limit.sample(rtt, in_flight=limit.limit)


def test_it_grows_to_the_maximum_while_answers_stay_as_fast_as_the_fastest() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=4)
    feed(limit, clock, 0.010, 30)
    assert limit.limit == 34
    feed(limit, clock, 0.010, 100)
    assert limit.limit == 64  # the configured concurrency: never above


def test_it_shrinks_when_answers_queue_and_never_below_one() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=64)
    feed(limit, clock, 0.010, 1)  # the receiver's time with nothing queued
    feed(limit, clock, 0.050, 10)  # four fifths of the requests waited: shrink
    assert limit.limit == 54
    feed(limit, clock, 5.0, 200)
    assert limit.limit == 1


@pytest.mark.parametrize(
    ("rtt", "expected"),
    [
        # at a limit of 20: grow with up to 3.9 queued, shrink with more than 7.8
        (0.0100, 21),  # nothing queued
        (0.0110, 21),  # 20 * (1 - 10/11) = 1.8 queued
        (0.0125, 20),  # 4 queued: between the thresholds, hold
        (0.0160, 20),  # 7.5 queued: still between
        (0.0200, 19),  # 10 queued
    ],
)
def test_one_answer_moves_the_limit_by_at_most_one(rtt: float, expected: int) -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=20)
    limit.sample(0.010, in_flight=1)  # sets the least round trip, too few in flight to move
    assert limit.limit == 20
    assert limit.sample(rtt, in_flight=20) == expected


def test_it_does_not_grow_on_answers_while_most_of_its_places_are_unused() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=20)
    for _ in range(50):
        limit.sample(0.010, in_flight=3)
    assert limit.limit == 20


def test_it_recovers_when_the_receiver_is_fast_again() -> None:
    clock = Clock()
    limit = AdaptiveLimit(32, clock=clock, initial=32)
    feed(limit, clock, 0.010, 1)
    feed(limit, clock, 1.0, 100)  # the receiver slows down: requests queue
    assert limit.limit == 1
    feed(limit, clock, 0.010, 40)  # answers as fast as before
    assert limit.limit == 32


def test_a_receiver_slower_for_good_is_learned_afresh_after_the_window() -> None:
    clock = Clock()
    limit = AdaptiveLimit(32, clock=clock, initial=16, window=10.0)
    feed(limit, clock, 0.010, 1)
    feed(limit, clock, 1.0, 20)  # a hundred times slower: looks like queueing
    assert limit.limit == 1
    clock.now += 11.0  # the least round trip seen is too old to trust
    feed(limit, clock, 1.0, 40)  # the new normal: nothing queued at it
    assert limit.limit == 32
    assert limit.no_load == pytest.approx(1.0)


@pytest.mark.parametrize(("maximum", "initial", "expected"), [(64, 8, 8), (4, 8, 4), (64, 0, 1)])
def test_the_initial_limit_is_within_bounds(maximum: int, initial: int, expected: int) -> None:
    assert AdaptiveLimit(maximum, clock=Clock(), initial=initial).limit == expected


def test_a_maximum_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="maximum"):
        AdaptiveLimit(0, clock=Clock())
