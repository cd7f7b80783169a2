"""``tminus run`` end to end: a one-line edit is reloaded incrementally; the edited
milestone and its ``after`` follower arrive at their new moments, the untouched ones at
theirs, and a channel told the old moment gets one moved notice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.daemon.conftest import webhook_config
from tests.support.daemon import iso_in
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def milestones(moving_at: str, steady: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": "steady-a", "title": "Steady A", "at": steady["a"]},
        {"id": "moving", "title": "Moving", "at": moving_at, "remind": ["4s", "0"]},
        {"id": "follower", "title": "Follower", "after": "moving", "offset": "1s"},
        {"id": "steady-b", "title": "Steady B", "at": steady["b"]},
    ]


def arrivals(receiver: Receiver) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for request in receiver.requests:
        body = request.json()
        out.setdefault((body["type"], body["milestone"]["id"]), []).append(request.arrived)
    return out


def test_a_one_line_edit_moves_only_what_it_touches(receiver: Receiver, make_daemon) -> None:
    steady = {"a": iso_in(9), "b": iso_in(12)}
    old_at = iso_in(7)
    d = make_daemon(webhook_config(receiver.url, milestones(old_at, steady))).start()
    # moving's "4s before" reminder goes out at +3 s: the channel is told the old moment.
    receiver.wait_for(1, timeout=15)
    new_at = iso_in(7)  # from now: about 3 s later than it was
    d.reload_with(webhook_config(receiver.url, milestones(new_at, steady)))

    reconciled = [e for e in d.events() if e.get("event") == "reconciled"]
    assert reconciled[0]["scope"] == "all"
    assert reconciled[1]["scope"] == "changed"
    assert reconciled[1]["changed"] == 2  # moving and its follower
    reloaded = d.wait_log("config reloaded")[0]
    assert reloaded["reused"] == 3  # the file was rewritten whole; three items alike
    assert isinstance(reloaded["ms"], int)

    # the moved notice; moving's new reminder and its moment; the follower; a and b
    receiver.wait_for(7, timeout=25)
    got = arrivals(receiver)
    at = {k: datetime.fromisoformat(v).timestamp() for k, v in steady.items()}
    moved_to = datetime.fromisoformat(new_at).timestamp()
    assert len(got[("milestone.moved", "moving")]) == 1
    for key, due in [
        (("reminder.due", "moving"), moved_to - 4),
        (("milestone.reached", "moving"), moved_to),
        (("milestone.reached", "follower"), moved_to + 1),
        (("milestone.reached", "steady-a"), at["a"]),
        (("milestone.reached", "steady-b"), at["b"]),
    ]:
        assert key in got, (key, sorted(got))
        assert due - 0.05 <= got[key][-1] < due + 1.5, (key, got[key], due)
    assert len(got[("milestone.reached", "moving")]) == 1  # nothing at the old moment
    rows = {(h["milestone_id"], h["status"]) for h in d.history()}
    assert ("moving", "cancelled") in rows
    assert ("follower", "cancelled") in rows
