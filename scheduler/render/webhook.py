"""The generic webhook body of SPEC "Generic webhook": a plain, stable JSON document."""

from __future__ import annotations

from typing import Any

from scheduler.model import Alert, AlertKind, AlertType
from scheduler.render.digest import digest_body
from scheduler.timekeeping import iso_exact

_TYPE_OF_KIND: dict[AlertKind, AlertType] = {
    AlertKind.ESCALATION: "milestone.escalated",
    AlertKind.ACKNOWLEDGED: "milestone.acknowledged",
    AlertKind.MOVED: "milestone.moved",
    AlertKind.DIGEST: "digest",
}


def alert_type(alert: Alert) -> AlertType:
    """A reminder: ``milestone.reached`` at offset 0, else ``reminder.due``; any other
    kind its own type (SPEC "Generic webhook")."""
    kind = alert.reminder.kind
    if kind is not AlertKind.REMINDER:
        return _TYPE_OF_KIND[kind]
    return "milestone.reached" if alert.reminder.offset.is_zero else "reminder.due"


def webhook_body(alert: Alert) -> dict[str, Any]:
    """The JSON body for one delivery; every instant is shown in the milestone's zone.

    ``at`` and ``due_at`` are the exact instants the daemon scheduled (a sub-second
    part only when they have one), ``sent_at`` to the millisecond, all ISO 8601
    with the zone's offset, as in SPEC's example. The keys of ``reminder.extra`` are
    added at the top level. A delivery kept for quiet hours adds ``"held": true`` (its
    ``reminder.due_at`` is the original due time); a digest has its own body
    (:func:`scheduler.render.digest.digest_body`).
    """
    if alert.reminder.kind is AlertKind.DIGEST:
        return digest_body(alert)
    reminder = alert.reminder
    milestone = reminder.milestone
    zone = milestone.zone
    body: dict[str, Any] = {
        "type": alert_type(alert),
        "delivery_id": alert.delivery_id,
        "milestone": {
            "id": milestone.id,
            "title": milestone.title,
            "at": iso_exact(reminder.occurrence.astimezone(zone)),
            "timezone": milestone.timezone,
            "description": milestone.description,
            "tags": list(milestone.tags),
            "links": list(milestone.links),
        },
        "reminder": {
            "offset": reminder.offset.iso(),
            "label": reminder.label,
            "due_at": iso_exact(reminder.due_at.astimezone(zone)),
        },
        "sent_at": alert.sent_at.astimezone(zone).isoformat(timespec="milliseconds"),
        "late": alert.late,
        "attempt": alert.attempt,
    }
    if alert.ack_url:  # with TMINUS_PUBLIC_URL: the occurrence's acknowledge link
        body["ack_url"] = alert.ack_url
    if alert.held:
        body["held"] = True
    # A kind other than a reminder adds its own top-level keys (``"escalation": {…}``).
    body.update(reminder.extra)
    return body
