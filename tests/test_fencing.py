"""The fencing rules of replicas, as tables: who may write a claimed row, who may send
a claim kept in memory, whose claims are taken over."""

from __future__ import annotations

import math

import pytest

from scheduler.fencing import (
    Fence,
    HeldClaim,
    Hold,
    Session,
    dead_workers,
    fence,
    lock_key,
    still_held,
)

# (row status, row claimed_by, row attempts, writer, writer's generation) -> verdict
FENCE_TABLE = [
    ("sending", "a", 1, "a", 1, Fence.HELD),
    ("sending", "a", 3, "a", 3, Fence.HELD),
    # Taken over and claimed again by another worker: the old holder is fenced.
    ("sending", "b", 2, "a", 1, Fence.OTHER_WORKER),
    # Taken over and claimed again by the *same* worker (it reconnected): the stale
    # copy in memory has the older generation.
    ("sending", "a", 2, "a", 1, Fence.NEWER_CLAIM),
    ("sending", "a", 5, "a", 3, Fence.NEWER_CLAIM),
    # A generation from the future never matches either (a bug, not a race).
    ("sending", "a", 1, "a", 2, Fence.NEWER_CLAIM),
    # Taken over, back in the queue, nobody claimed it yet.
    ("retrying", None, 1, "a", 1, Fence.NOT_SENDING),
    ("scheduled", None, 1, "a", 1, Fence.NOT_SENDING),
    # Finished by the worker that took it over.
    ("sent", "b", 2, "a", 1, Fence.NOT_SENDING),
    ("dead", "b", 2, "a", 1, Fence.NOT_SENDING),
    # Already recorded by this very claim: a second mark changes nothing.
    ("sent", "a", 1, "a", 1, Fence.NOT_SENDING),
    ("cancelled", "a", 0, "a", 1, Fence.NOT_SENDING),
]


@pytest.mark.parametrize(
    ("status", "claimed_by", "attempts", "worker", "generation", "expected"), FENCE_TABLE
)
def test_fence(
    status: str,
    claimed_by: str | None,
    attempts: int,
    worker: str,
    generation: int,
    expected: Fence,
) -> None:
    got = fence(
        status=status,
        claimed_by=claimed_by,
        attempts=attempts,
        worker=worker,
        generation=generation,
    )
    assert got is expected


NOW = 100.0
LIVE = Session(epoch=2, confirmed_until=NOW + 1.5)

# (claim, session, now) -> verdict
HOLD_TABLE = [
    (HeldClaim(epoch=2, lease_until=NOW + 10), LIVE, Hold.HELD),
    # A renewal found the row taken over (the worker stalled past its lease).
    (HeldClaim(epoch=2, lease_until=NOW + 10, lost=True), LIVE, Hold.TAKEN_OVER),
    # The session connection is gone right now (terminated, reset).
    (HeldClaim(epoch=2, lease_until=NOW + 10), Session(None, 0.0), Hold.SESSION_LOST),
    # The session came back under a new epoch: another replica may have taken over
    # the claims of the old one in between.
    (HeldClaim(epoch=1, lease_until=NOW + 10), LIVE, Hold.SESSION_CHANGED),
    # The session has not answered lately (a silent network): stop trusting it.
    (HeldClaim(epoch=2, lease_until=NOW + 10), Session(2, NOW), Hold.SESSION_STALE),
    (HeldClaim(epoch=2, lease_until=NOW + 10), Session(2, NOW - 5), Hold.SESSION_STALE),
    # The lease was not renewed in time (a database stall): others may take it over.
    (HeldClaim(epoch=2, lease_until=NOW), LIVE, Hold.LEASE_RUN_OUT),
    (HeldClaim(epoch=2, lease_until=NOW - 1), LIVE, Hold.LEASE_RUN_OUT),
    # Lost beats everything: it is a fact, the others are doubts.
    (HeldClaim(epoch=1, lease_until=NOW - 1, lost=True), Session(None, 0.0), Hold.TAKEN_OVER),
    # SQLite: one daemon, no takeover: the session never ends, a lease never runs out.
    (HeldClaim(epoch=0, lease_until=math.inf), Session(0, math.inf), Hold.HELD),
]


@pytest.mark.parametrize(("claim", "session", "expected"), HOLD_TABLE)
def test_still_held(claim: HeldClaim, session: Session, expected: Hold) -> None:
    assert still_held(claim, session, NOW) is expected


def test_lock_key_is_a_stable_signed_32_bit_digest() -> None:
    keys = {lock_key(f"host:{pid}:abc123") for pid in range(2000)}
    assert len(keys) == 2000  # no collision among two thousand workers
    assert all(-(2**31) <= k < 2**31 for k in keys)
    assert lock_key("host:1:abc123") == lock_key("host:1:abc123")
    assert lock_key("a") != lock_key("b")


A, B, C = "host-a:1:aaaaaa", "host-b:2:bbbbbb", "host-c:3:cccccc"

# (claimants, workers whose lock is held, me) -> dead
DEAD_TABLE = [
    ([], [A, B], A, []),
    ([A, B], [A, B], A, []),
    ([A, B], [A], A, [B]),
    # Never myself, even when my own lock looks free (my session is reconnecting).
    ([A, B], [], A, [B]),
    ([C, B, A], [A], A, [B, C]),
    ([B, B], [A], A, [B]),
    # A live lock nobody claims under changes nothing.
    ([B], [A, B, C], A, []),
]


@pytest.mark.parametrize(("claimants", "alive", "me", "expected"), DEAD_TABLE)
def test_dead_workers(claimants: list[str], alive: list[str], me: str, expected: list[str]) -> None:
    assert dead_workers(claimants, [lock_key(w) for w in alive], me=me) == expected
