"""The claims a worker keeps in memory: noted at claim time, renewed, lost, checked."""

from __future__ import annotations

from dataclasses import replace

from scheduler.delivery.claims import TRUSTED_SHARE, Claims
from scheduler.fencing import Hold, Session
from tests.support.rows import claimed as claimed_row


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_claim_is_trusted_for_part_of_its_lease_unless_renewed() -> None:
    clock = Clock()
    session = Session(epoch=1, confirmed_until=10**9)
    claims = Claims(session=lambda: session, lease=30, monotonic=clock)
    row = claimed_row()
    claims.taken([row], epoch=1, since=clock.now)
    assert claims.check(row) is Hold.HELD
    clock.now += 30 * TRUSTED_SHARE
    assert claims.check(row) is Hold.LEASE_RUN_OUT
    claims.renewed([(row.id, row.attempts)], [], since=clock.now)
    assert claims.check(row) is Hold.HELD


def test_a_stale_copy_and_a_fresh_claim_of_one_delivery_are_told_apart() -> None:
    clock = Clock()
    session = Session(epoch=2, confirmed_until=10**9)
    claims = Claims(session=lambda: session, lease=30, monotonic=clock)
    old = claimed_row()
    new = replace(old, attempts=old.attempts + 1)
    claims.taken([old], epoch=1, since=clock.now)  # claimed under the lost session
    claims.taken([new], epoch=2, since=clock.now)  # taken over, claimed again
    assert claims.check(old) is Hold.SESSION_CHANGED
    assert claims.check(new) is Hold.HELD
    claims.renewed([], [(new.id, new.attempts)], since=clock.now)
    assert claims.check(new) is Hold.TAKEN_OVER
    claims.forget([old])
    assert claims.check(new) is Hold.TAKEN_OVER  # forgetting one keeps the other


def test_no_claims_while_the_session_is_lost_or_silent() -> None:
    clock = Clock()
    state = {"session": Session(epoch=None, confirmed_until=0.0)}
    claims = Claims(session=lambda: state["session"], lease=30, monotonic=clock)
    assert claims.epoch() is None
    state["session"] = Session(epoch=3, confirmed_until=clock.now + 10)
    assert claims.epoch() == 3
    clock.now += 10
    assert claims.epoch() is None


def test_sqlite_claims_are_always_held() -> None:
    claims = Claims()
    row = claimed_row()
    claims.taken([row], epoch=0, since=0.0)
    assert claims.epoch() == 0
    assert claims.check(row) is Hold.HELD
