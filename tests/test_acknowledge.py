"""The rules of acknowledging, as tables: which deliveries an acknowledgement cancels,
which an unack puts back, which occurrence a command means, the notice it sends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.acknowledge import (
    REASON,
    Acknowledgement,
    AckSource,
    cancels,
    choose_occurrence,
    clean_text,
    notice_of,
    restores,
    withdraws_notice,
)
from scheduler.errors import NotFoundError, TminusError
from scheduler.model import AlertKind, Config, DeliveryStatus, Milestone
from scheduler.planning import resolve

K = AlertKind
S = DeliveryStatus
BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2019, 7, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "status", "cancelled"),
    [
        (K.REMINDER, S.SCHEDULED, True),
        (K.REMINDER, S.HELD, True),  # held for quiet hours: still unsent
        (K.REMINDER, S.RETRYING, True),  # failed once: the rest of its retries stop
        (K.REMINDER, S.SENDING, False),  # claimed: its claimer's verdict stops it
        (K.REMINDER, S.SENT, False),
        (K.REMINDER, S.DEAD, False),
        (K.REMINDER, S.SKIPPED, False),
        (K.REMINDER, S.CANCELLED, False),
        (K.ESCALATION, S.SCHEDULED, True),
        (K.ESCALATION, S.RETRYING, True),
        (K.DIGEST, S.SCHEDULED, False),  # about many milestones, not this occurrence
        (K.ACKNOWLEDGED, S.SCHEDULED, False),  # the notice of this very acknowledgement
        (K.MOVED, S.SCHEDULED, False),
    ],
)
def test_which_deliveries_an_acknowledgement_cancels(
    kind: AlertKind, status: DeliveryStatus, cancelled: bool
) -> None:
    assert cancels(kind, status) is cancelled


LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("kind", "status", "reason", "due", "restored"),
    [
        (K.REMINDER, S.CANCELLED, REASON, LATER, True),
        (K.ESCALATION, S.CANCELLED, REASON, LATER, True),
        (K.REMINDER, S.CANCELLED, REASON, EARLIER, False),  # fell due while acknowledged
        (K.REMINDER, S.CANCELLED, REASON, NOW, False),  # due this instant: not "not yet due"
        (K.REMINDER, S.CANCELLED, "moved", LATER, False),  # cancelled for another reason
        (K.REMINDER, S.CANCELLED, "removed", LATER, False),
        (K.REMINDER, S.SENT, REASON, LATER, False),
        (K.REMINDER, S.SCHEDULED, None, LATER, False),
        (K.DIGEST, S.CANCELLED, REASON, LATER, False),
        (K.ACKNOWLEDGED, S.CANCELLED, REASON, LATER, False),
    ],
)
def test_which_deliveries_an_unack_puts_back(
    kind: AlertKind, status: DeliveryStatus, reason: str | None, due: datetime, restored: bool
) -> None:
    assert restores(kind, status, reason, due, NOW) is restored


@pytest.mark.parametrize(
    ("kind", "status", "withdrawn"),
    [
        (K.ACKNOWLEDGED, S.SCHEDULED, True),
        (K.ACKNOWLEDGED, S.RETRYING, True),
        (K.ACKNOWLEDGED, S.SENT, False),  # the receiver was told; it stays told
        (K.ACKNOWLEDGED, S.SENDING, False),
        (K.REMINDER, S.SCHEDULED, False),
    ],
)
def test_an_unack_withdraws_only_unsent_notices(
    kind: AlertKind, status: DeliveryStatus, withdrawn: bool
) -> None:
    assert withdraws_notice(kind, status) is withdrawn


def _resolved(**fields: object) -> object:
    m = Milestone(id="m", title="T", timezone="Europe/Brussels", **fields)  # type: ignore[arg-type]
    return resolve(Config(milestones=(m,), channels={}))["m"]


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BRUSSELS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "now", "wanted", "expected"),
    [
        # A one-off milestone: its date, whether it is still ahead or already past.
        ({"at": date(2019, 8, 2)}, NOW, None, _at(2019, 8, 2)),
        ({"at": date(2019, 8, 2)}, _at(2019, 9, 1), None, _at(2019, 8, 2)),
        ({"at": date(2019, 8, 2)}, NOW, _at(2019, 8, 2), _at(2019, 8, 2)),
        # Naive wall time is read in the milestone's zone.
        ({"at": date(2019, 8, 2)}, NOW, datetime(2019, 8, 2), _at(2019, 8, 2)),
        # Recurring: the next one not yet past …
        ({"at": date(2019, 1, 15), "rrule": "FREQ=MONTHLY"}, NOW, None, _at(2019, 8, 15)),
        # … at the very instant of one, that one (not yet past) …
        (
            {"at": date(2019, 1, 15), "rrule": "FREQ=MONTHLY"},
            _at(2019, 8, 15),
            None,
            _at(2019, 8, 15),
        ),
        # … or any occurrence named, past or future.
        (
            {"at": date(2019, 1, 15), "rrule": "FREQ=MONTHLY"},
            NOW,
            _at(2019, 3, 15),
            _at(2019, 3, 15),
        ),
        # A finished recurrence: the latest.
        (
            {"at": date(2019, 1, 15), "rrule": "FREQ=MONTHLY;COUNT=3"},
            NOW,
            None,
            _at(2019, 3, 15),
        ),
    ],
)
def test_which_occurrence_a_command_means(
    fields: dict[str, object], now: datetime, wanted: datetime | None, expected: datetime
) -> None:
    chosen = choose_occurrence(_resolved(**fields), now, wanted)  # type: ignore[arg-type]
    assert chosen == expected
    assert chosen.tzinfo is UTC


@pytest.mark.parametrize(
    ("fields", "wanted"),
    [
        ({"at": date(2019, 8, 2)}, _at(2019, 8, 3)),
        ({"at": date(2019, 8, 2)}, _at(2019, 8, 2, 0, 0) + timedelta(microseconds=1)),
        ({"at": date(2019, 1, 15), "rrule": "FREQ=MONTHLY"}, _at(2019, 3, 16)),
    ],
)
def test_an_occurrence_that_is_not_one_is_refused(
    fields: dict[str, object], wanted: datetime
) -> None:
    with pytest.raises(NotFoundError, match="has no occurrence at"):
        choose_occurrence(_resolved(**fields), NOW, wanted)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "result"),
    [(None, ""), ("  Ann  ", "Ann"), ("line one\nline two", "line one\nline two")],
)
def test_names_and_notes_are_trimmed(text: str | None, result: str) -> None:
    assert clean_text(text, field="by", limit=20) == result


@pytest.mark.parametrize(("text", "message"), [("x" * 21, "too long"), ("a\x00b", "control")])
def test_names_and_notes_that_cannot_be_stored(text: str, message: str) -> None:
    with pytest.raises(TminusError, match=message):
        clean_text(text, field="by", limit=20)


def test_the_notice_is_one_per_channel_and_occurrence_whoever_acknowledges() -> None:
    from scheduler.durations import Duration
    from scheduler.model import Reminder

    m = Milestone(id="m", title="T", timezone="Europe/Brussels")
    occurrence = _at(2019, 8, 2)
    reminder = Reminder(m, occurrence, Duration.parse("7d"), occurrence - timedelta(days=7), ())
    first = Acknowledgement("m", occurrence, "Ann", "seen", AckSource.LINK, NOW)
    again = Acknowledgement("m", occurrence, "Bob", "", AckSource.CLI, NOW + timedelta(days=1))
    notice = notice_of(reminder, first, "audit")
    assert notice.kind is AlertKind.ACKNOWLEDGED
    assert notice.occurrence == occurrence
    assert notice.due_at == NOW
    assert notice.channels == ("audit",)
    assert dict(notice.extra) == {
        "acknowledged": {"by": "Ann", "at": NOW.isoformat(), "note": "seen"}
    }
    assert notice.delivery_id("audit") == notice_of(reminder, again, "audit").delivery_id("audit")
    assert notice.delivery_id("audit") != notice.delivery_id("other")
    assert notice.id != reminder.id
