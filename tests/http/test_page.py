"""Status page selection: upcoming milestones first, a bounded number, the rest counted."""

from __future__ import annotations

import pytest

from scheduler.http import page
from scheduler.http.instants import Instants
from tests.http.fakes import NOW, FakeState, inf_config, seeded_store


def test_order_is_upcoming_soonest_first_then_most_recent_past() -> None:
    views, hidden = page._milestones(Instants(), inf_config(), NOW)
    # NOW is 26 July 2019: withdrawal (2 Aug) and the annual review (1 Sep) are ahead.
    assert [v.id for v in views] == [
        "withdrawal-effective",
        "annual-review",
        "us-notice",
    ]
    assert hidden == 0
    withdrawal = views[0]
    assert [r.label for r in withdrawal.next_reminders] == ["1 day before", "at the moment"]
    assert withdrawal.next_reminders[0].channels == ("newsroom", "audit")


async def test_only_the_first_milestones_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page, "MAX_MILESTONES", 1)
    view = await page.gather(FakeState(store=seeded_store()), Instants())
    assert [m.id for m in view.milestones] == ["withdrawal-effective"]
    assert view.hidden_milestones == 2
    assert "and 2 more" in page.render(view)
