"""Who holds a claim: the fencing rules of replicas on PostgreSQL, as pure functions.

A claim is (delivery, worker, generation). The generation is the row's ``attempts``
as the claim left it: every claim adds one, and nothing but a claimant's own give-back
(``released``, ``cancelled``: the holder lets go, keeping no copy) ever takes one away,
so a claim taken over and claimed again always has a higher generation than the stale
copy a partitioned or stalled holder still keeps in memory.

Two rules, one per side of the network:

* :func:`fence` — may a worker change a row's state (record an outcome, renew a lease,
  give it back)? Only while the row is ``sending`` under that worker *and* that
  generation. The store's guard (``scheduler.db.queue.claim_guard``) is this rule in
  SQL; a stale holder's write changes no row, and is neither retried nor re-sent.
* :func:`still_held` — may a worker *send* a claim it has kept in memory (claimed
  ahead, or waiting for its channel's turn)? Asking the database before every request
  would cost a round trip each and still race the send, so the rule is local and
  cheap: the worker's liveness session (its advisory lock) must be the one the claim
  was taken under and must have answered recently, the claim's lease must not have run
  out by the worker's own clock, and no lease renewal may have found it gone. Another
  replica takes a claim over only after the owner's session ended (the lock freed) or
  its lease ran out, and the owner stops trusting its claims before either can happen.

And the takeover decision: :func:`dead_workers` (whose claims to take over, given the
session locks alive now) over :func:`lock_key` (a worker's advisory lock key).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

# The two-int advisory lock space of worker sessions (pg_locks: classid = this,
# objid = the worker's key, objsubid = 2), apart from the migration lock's bigint space.
WORKER_LOCK_SPACE = 0x746D6E73  # "tmns"


class Fence(enum.StrEnum):
    """Whether a write under a claim may change the row, and if not, why."""

    HELD = "held"
    NOT_SENDING = "not_sending"  # recorded, given back or taken over since
    OTHER_WORKER = "other_worker"  # claimed by another worker now
    NEWER_CLAIM = "newer_claim"  # claimed again since (a later generation)


def fence(
    *, status: str, claimed_by: str | None, attempts: int, worker: str, generation: int
) -> Fence:
    """The write rule: the row (``status``, ``claimed_by``, ``attempts``) against the
    claim (``worker``, ``generation``)."""
    if status != "sending":
        return Fence.NOT_SENDING
    if claimed_by != worker:
        return Fence.OTHER_WORKER
    if attempts != generation:
        return Fence.NEWER_CLAIM
    return Fence.HELD


class Hold(enum.StrEnum):
    """Whether a claim kept in memory may still be sent, and if not, why."""

    HELD = "held"
    SESSION_LOST = "session_lost"  # the liveness lock is not held now
    SESSION_STALE = "session_stale"  # the session has not answered lately
    SESSION_CHANGED = "session_changed"  # the lock was lost and taken again since
    LEASE_RUN_OUT = "lease_run_out"  # not renewed in time: others may have taken it
    TAKEN_OVER = "taken_over"  # a lease renewal found it no longer ours


@dataclass(frozen=True, slots=True)
class Session:
    """The worker's liveness session as it stands: ``epoch`` counts the times its lock
    was taken (None while not held); ``confirmed_until`` is the monotonic instant up to
    which its last answer vouches for it."""

    epoch: int | None
    confirmed_until: float


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """What a worker remembers of one of its claims: the session ``epoch`` it was taken
    under, the monotonic instant its lease runs out by the worker's clock, and whether
    a renewal found it gone."""

    epoch: int
    lease_until: float
    lost: bool = False


def still_held(claim: HeldClaim, session: Session, now: float) -> Hold:
    """The send rule, at monotonic ``now``."""
    if claim.lost:
        return Hold.TAKEN_OVER
    if session.epoch is None:
        return Hold.SESSION_LOST
    if session.epoch != claim.epoch:
        return Hold.SESSION_CHANGED
    if now >= session.confirmed_until:
        return Hold.SESSION_STALE
    if now >= claim.lease_until:
        return Hold.LEASE_RUN_OUT
    return Hold.HELD


def lock_key(worker: str) -> int:
    """The worker's advisory lock key: a signed 32-bit digest of its id (PostgreSQL's
    two-int lock form), the same in every process."""
    digest = hashlib.sha256(worker.encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def dead_workers(claimants: Iterable[str], live_keys: Iterable[int], *, me: str) -> list[str]:
    """The workers holding claims whose session lock nobody holds: their process or
    connection is gone, so their claims can be taken over now. Never ``me``; sorted."""
    alive = set(live_keys)
    return sorted({w for w in claimants if w != me and lock_key(w) not in alive})
