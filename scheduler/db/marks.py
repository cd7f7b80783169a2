"""Recording outcomes: what each kind of :class:`Mark` writes, as one statement per batch.

Part of the store (it speaks SQL). On SQLite :func:`scheduler.db.queue.record` guards a
batch (only rows still ``sending`` under the claim and generation pass) and hands the
marks that passed to :func:`apply_marks`: one prepared statement run for every row,
plus one insert of their attempts. On PostgreSQL :func:`record_in_one` does guard,
lock, change and attempts in one ``WITH … unnest(…)`` statement: one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Boolean, Connection, Integer, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from scheduler.db.reads import S
from scheduler.db.rows import AttemptRecord
from scheduler.db.tables import ATTEMPTS, BODY_EXCERPT_CHARS, ERROR_CHARS
from scheduler.db.types import UTCDateTime

HELD_REASON = "quiet_hours"  # the reason a held row keeps until it is sent


@dataclass(frozen=True, slots=True)
class Mark:
    """One outcome to record: ``sent``, ``retry`` (at ``next_attempt_at``), ``dead``,
    ``cancelled`` (claimed ahead of its time, then dropped by a reload before it was sent),
    ``released`` (claimed but never sent: given back with the attempt undone) or ``held``
    (outside its channel's quiet hours: given back, attempt undone, until the opening at
    ``next_attempt_at``). ``generation`` is the row's ``attempts`` as the worker's claim
    left it."""

    kind: Literal["sent", "retry", "dead", "cancelled", "released", "held"]
    delivery_id: str
    worker: str
    now: datetime
    attempt: AttemptRecord | None = None
    next_attempt_at: datetime | None = None
    reason: str | None = None
    generation: int = field(kw_only=True)


# What a mark sets, column by column, in both statements (SQLite's, PostgreSQL's): ``{v}``
# is a value of the mark (a parameter, or a column of the unnest), ``{d}`` the row's
# current value. A released row goes back to ``scheduled`` at its due time if this was
# its first attempt, else to ``retrying`` now; only marks with an attempt touch last_*.
MARK_SET = (
    (
        "status",
        "CASE WHEN {v}released THEN CASE WHEN {d}reason = '"
        + HELD_REASON
        + "' THEN 'held' WHEN {d}attempts <= 1 THEN 'scheduled'"
        " ELSE 'retrying' END ELSE {v}status END",
    ),
    (
        "next_attempt_at",
        "CASE WHEN {v}released AND {d}attempts <= 1 THEN {d}due_at ELSE {v}next_attempt_at END",
    ),
    ("claimed_by", "CASE WHEN {v}clear_claim THEN NULL ELSE {d}claimed_by END"),
    ("reason", "CASE WHEN {v}keep_reason THEN {d}reason ELSE {v}reason END"),
    ("sent_at", "COALESCE({v}sent_at, {d}sent_at)"),
    ("attempts", "{d}attempts + {v}attempts_delta"),
    (
        "last_status_code",
        "CASE WHEN {v}has_attempt THEN {v}last_status_code ELSE {d}last_status_code END",
    ),
    ("last_body", "CASE WHEN {v}has_attempt THEN {v}last_body ELSE {d}last_body END"),
    ("last_error", "CASE WHEN {v}has_attempt THEN {v}last_error ELSE {d}last_error END"),
    ("lease_until", "NULL"),
    ("updated_at", "{v}updated_at"),
)
_MARK_PARAMS: dict[str, tuple[TypeEngine[Any], str]] = {  # name -> (one value's type, array type)
    "id": (String(), "text[]"),
    "released": (Boolean(), "boolean[]"),
    "status": (String(), "text[]"),
    "next_attempt_at": (UTCDateTime(), "timestamptz[]"),
    "clear_claim": (Boolean(), "boolean[]"),
    "keep_reason": (Boolean(), "boolean[]"),
    "reason": (String(), "text[]"),
    "sent_at": (UTCDateTime(), "timestamptz[]"),
    "attempts_delta": (Integer(), "integer[]"),
    "has_attempt": (Boolean(), "boolean[]"),
    "last_status_code": (Integer(), "integer[]"),
    "last_body": (String(), "text[]"),
    "last_error": (String(), "text[]"),
    "updated_at": (UTCDateTime(), "timestamptz[]"),
}


# The attempt a mark records, as columns of the PostgreSQL statement's unnest.
_ATTEMPT_PARAMS: dict[str, tuple[TypeEngine[Any], str]] = {
    "worker": (String(), "text[]"),
    "generation": (Integer(), "integer[]"),
    "a_attempt": (Integer(), "integer[]"),
    "a_started_at": (UTCDateTime(), "timestamptz[]"),
    "a_finished_at": (UTCDateTime(), "timestamptz[]"),
    "a_status_code": (Integer(), "integer[]"),
    "a_reason": (String(), "text[]"),
    "a_error": (String(), "text[]"),
    "a_body": (String(), "text[]"),
}
_PG_PARAMS = {**_MARK_PARAMS, **_ATTEMPT_PARAMS}


def _set_clause(v: str, d: str) -> str:
    return ", ".join(f"{col} = {expr.format(v=v, d=d)}" for col, expr in MARK_SET)


# Built once at import from the constants above (no input reaches them).
_UNNEST = ", ".join(f"CAST(:{name} AS {array})" for name, (_, array) in _PG_PARAMS.items())
_GUARD = "d.status = 'sending' AND d.claimed_by = v.worker AND d.attempts = v.generation"
_SQLITE_SQL = f"UPDATE deliveries SET {_set_clause(':', '')} WHERE id = :id"  # noqa: S608
# The guard (:func:`scheduler.db.queue.claim_guard`) and the lock (FOR UPDATE, in id
# order: the lock order of every multi-row change, see :mod:`scheduler.db.queue`) in
# ``held``; the change of the rows that passed; their attempts; what held, returned.
# The UPDATE checks the guard again on the row's newest version, which it then holds.
_PG_SQL = (
    f"WITH v AS (SELECT * FROM unnest({_UNNEST}) AS v({', '.join(_PG_PARAMS)})),"  # noqa: S608
    f" held AS (SELECT v.* FROM deliveries AS d JOIN v ON d.id = v.id WHERE {_GUARD}"
    " ORDER BY d.id FOR UPDATE OF d),"
    f" changed AS (UPDATE deliveries AS d SET {_set_clause('v.', 'd.')} FROM held AS v"
    f" WHERE d.id = v.id AND {_GUARD} RETURNING v.*),"
    " logged AS (INSERT INTO delivery_attempts (delivery_id, attempt, started_at,"
    " finished_at, status_code, reason, error, body, worker) SELECT id, a_attempt,"
    " a_started_at, a_finished_at, a_status_code, a_reason, a_error, a_body, worker"
    " FROM changed WHERE has_attempt)"
    " SELECT id, worker, generation FROM changed"
)
_SQLITE_MARKS = text(_SQLITE_SQL).bindparams(
    *(bindparam(name, type_=kind) for name, (kind, _) in _MARK_PARAMS.items())
)
_PG_RECORD = text(_PG_SQL).bindparams(
    *(bindparam(name, type_=ARRAY(kind)) for name, (kind, _) in _PG_PARAMS.items())
)


def apply_marks(conn: Connection, marks: Sequence[Mark]) -> None:
    """SQLite: change the rows of ``marks`` (each already through the guard) and record
    their attempts, with one prepared statement run for every row."""
    conn.execute(_SQLITE_MARKS, [_mark_params(mark) for mark in marks])
    attempts = [
        _attempt_values(m.delivery_id, m.worker, m.attempt) for m in marks if m.attempt is not None
    ]
    if attempts:
        conn.execute(ATTEMPTS.insert(), attempts)


def record_in_one(conn: Connection, marks: Sequence[Mark]) -> list[bool]:
    """PostgreSQL: guard, lock, change and record the attempts of ``marks`` in one
    statement; each result, in the order of ``marks``, is False where that claim was
    lost. Of several marks of one claim (row, worker, generation) only the first can
    hold: the row is no longer ``sending`` under that claim once it is marked."""
    first: dict[tuple[str, str, int], int] = {}
    for k, mark in enumerate(marks):
        first.setdefault((mark.delivery_id, mark.worker, mark.generation), k)
    if not first:
        return []
    values = [_pg_params(marks[k]) for k in first.values()]
    columns = {name: [row[name] for row in values] for name in _PG_PARAMS}
    applied = {(i, w, int(g)) for i, w, g in conn.execute(_PG_RECORD, columns)}
    return [
        first[key] == k and key in applied
        for k, key in enumerate((m.delivery_id, m.worker, m.generation) for m in marks)
    ]


def _pg_params(mark: Mark) -> dict[str, Any]:
    attempt = mark.attempt
    return {
        **_mark_params(mark),
        "worker": mark.worker,
        "generation": mark.generation,
        "a_attempt": attempt.attempt if attempt else None,
        "a_started_at": attempt.started_at if attempt else None,
        "a_finished_at": attempt.finished_at if attempt else None,
        "a_status_code": attempt.status_code if attempt else None,
        "a_reason": attempt.reason if attempt else None,
        "a_error": _excerpt(attempt.error, ERROR_CHARS) if attempt else None,
        "a_body": _excerpt(attempt.body, BODY_EXCERPT_CHARS) if attempt else None,
    }


def _mark_params(mark: Mark) -> dict[str, Any]:
    """One mark as the values :data:`MARK_SET` reads."""
    attempt = mark.attempt
    status, next_at, reason = _MARK_STATES[mark.kind], None, mark.reason
    if mark.kind == "sent":
        reason = (attempt.reason if attempt else None) or "ok"
    elif mark.kind == "retry":
        next_at = mark.next_attempt_at
        reason = attempt.reason if attempt else mark.reason
    elif mark.kind == "released":
        next_at = mark.now  # a later attempt given back is due again at once
    elif mark.kind == "held":  # never sent: waits for its channel's next opening
        next_at = mark.next_attempt_at
    error = None
    if attempt is not None and status != S.SENT.value:
        error = attempt.error or attempt.reason
    return {
        "id": mark.delivery_id,
        "released": mark.kind == "released",
        "status": status,
        "next_attempt_at": next_at,
        "clear_claim": mark.kind in ("retry", "released", "held"),
        "keep_reason": mark.kind == "released",
        "reason": reason,
        "sent_at": mark.now if mark.kind == "sent" else None,
        "attempts_delta": -1 if mark.kind in ("released", "cancelled", "held") else 0,
        "has_attempt": attempt is not None,
        "last_status_code": attempt.status_code if attempt else None,
        "last_body": _excerpt(attempt.body, BODY_EXCERPT_CHARS) if attempt else None,
        "last_error": _excerpt(error, ERROR_CHARS),
        "updated_at": mark.now,
    }


_MARK_STATES = {
    "sent": S.SENT.value,
    "retry": S.RETRYING.value,
    "dead": S.DEAD.value,
    "cancelled": S.CANCELLED.value,
    "released": S.SCHEDULED.value,  # or retrying, or held: decided in SQL from the row
    "held": S.HELD.value,
}


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attempt_values(delivery_id: str, worker: str, attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "attempt": attempt.attempt,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "status_code": attempt.status_code,
        "reason": attempt.reason,
        "error": _excerpt(attempt.error, ERROR_CHARS),
        "body": _excerpt(attempt.body, BODY_EXCERPT_CHARS),
        "worker": worker,
    }
