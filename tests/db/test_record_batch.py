"""One batch of marks leaves the same rows as the same marks recorded one by one, on
SQLite (one prepared statement per row) and PostgreSQL (one ``UPDATE … FROM unnest``),
and each kind of mark leaves what it always did."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.model import DeliveryStatus as S
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many
from tests.support.store import LEASE, attempt, insert

LATER = T0 + timedelta(minutes=5)


@pytest.fixture
def twin(store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A second, empty database of the same kind as ``store``."""
    if store_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'twin.db'}"
    else:
        make: Callable[[], str] = request.getfixturevalue("pg_databases")
        url = make()
    s = Store.open(url)
    s.upgrade()
    yield s
    s.close()


def _prepared(store: Store) -> list[str]:
    """Ten claimed rows; the last one on its second attempt (a retry claimed again)."""
    rows = insert(store, many(10))
    ids = [r.id for r in rows]
    claimed = store.claim_due(now=T0 + timedelta(seconds=20), worker="w", lease=LEASE, limit=10)
    assert len(claimed) == 10
    again = T0 + timedelta(seconds=30)
    retry = Mark(
        "retry", ids[9], "w", again, attempt=attempt(1, 500), next_attempt_at=again, generation=1
    )
    assert store.record([retry]) == [True]
    (second,) = store.claim_due(now=again, worker="w", lease=LEASE, limit=1)
    assert second.id == ids[9] and second.attempts == 2
    return ids


def _marks(ids: list[str]) -> list[Mark]:
    failed = attempt(1, 400, body="no such hook", error="client error 400")
    return [
        Mark("dead", ids[2], "w", LATER, attempt=failed, reason="client_error", generation=1),
        Mark("sent", ids[0], "w", LATER, attempt=attempt(), generation=1),
        Mark(
            "retry",
            ids[1],
            "w",
            LATER,
            attempt=attempt(1, 503),
            next_attempt_at=LATER + LEASE,
            generation=1,
        ),
        Mark("dead", ids[3], "w", LATER, reason="channel_removed", generation=1),
        Mark("cancelled", ids[4], "w", LATER, reason="milestone_changed", generation=1),
        Mark("released", ids[5], "w", LATER, generation=1),
        Mark(
            "sent", ids[6], "someone-else", LATER, attempt=attempt(), generation=1
        ),  # not their claim
        Mark("sent", ids[7], "w", LATER, attempt=attempt(), generation=1),
        Mark(
            "dead", ids[7], "w", LATER, reason="late", generation=1
        ),  # the row is no longer sending
        Mark("released", ids[9], "w", LATER, generation=2),
        Mark("sent", "msg_no_such_row", "w", LATER, attempt=attempt(), generation=1),
        # a stale generation: the claim was taken over and claimed again since
        Mark("sent", ids[8], "w", LATER, attempt=attempt(), generation=7),
    ]


def test_a_batch_of_marks_equals_the_marks_one_by_one(store: Store, twin: Store) -> None:
    ids, twin_ids = _prepared(store), _prepared(twin)
    assert ids == twin_ids
    marks = _marks(ids)

    batched = store.record(marks)
    one_by_one = [twin.record([mark])[0] for mark in marks]

    assert batched == one_by_one
    assert batched == [True, True, True, True, True, True, False, True, False, True, False, False]
    for delivery_id in ids:
        assert store.get_delivery(delivery_id) == twin.get_delivery(delivery_id)
        assert [dataclasses.replace(a, id=0) for a in store.attempts(delivery_id)] == [
            dataclasses.replace(a, id=0) for a in twin.attempts(delivery_id)
        ]


def test_each_kind_of_mark_leaves_its_row_as_before(store: Store) -> None:
    ids = _prepared(store)
    store.record(_marks(ids))
    row = {i: store.get_delivery(i) for i in ids}

    sent = row[ids[0]]
    assert (sent.status, sent.sent_at, sent.reason, sent.claimed_by) == (S.SENT, LATER, "ok", "w")
    assert sent.next_attempt_at is None and sent.lease_until is None
    assert sent.last_status_code == 200 and sent.last_error is None

    retry = row[ids[1]]
    assert (retry.status, retry.next_attempt_at, retry.claimed_by) == (
        S.RETRYING,
        LATER + LEASE,
        None,
    )
    assert (retry.last_status_code, retry.reason, retry.last_error) == (
        503,
        "server_error",
        "server_error",
    )

    dead = row[ids[2]]
    assert (dead.status, dead.reason, dead.last_error, dead.last_body) == (
        S.DEAD,
        "client_error",
        "client error 400",
        "no such hook",
    )
    bare = row[ids[3]]
    assert (bare.status, bare.reason, bare.last_status_code) == (S.DEAD, "channel_removed", None)

    cancelled = row[ids[4]]
    assert (cancelled.status, cancelled.attempts, cancelled.reason) == (
        S.CANCELLED,
        0,
        "milestone_changed",
    )
    released = row[ids[5]]
    assert (released.status, released.attempts, released.claimed_by) == (S.SCHEDULED, 0, None)
    assert released.next_attempt_at == released.due_at
    again = row[ids[9]]  # a second attempt given back: retrying at once, attempt undone
    assert (again.status, again.attempts, again.next_attempt_at) == (S.RETRYING, 1, LATER)
    assert again.reason == "server_error"  # a release keeps the reason it had

    assert row[ids[6]].status is S.SENDING  # someone else's mark changed nothing
    assert row[ids[7]].status is S.SENT and row[ids[7]].reason == "ok"
    assert [a.attempt for a in store.attempts(ids[7])] == [1]
    assert row[ids[8]].status is S.SENDING  # no mark at all
