"""The status page in a real headless chromium at a phone's width: what a person sees."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.acknowledge import AckSource
from scheduler.durations import Duration
from scheduler.http import create_app, serve
from scheduler.model import Escalation, Milestone
from scheduler.render.timeline_states import TickState
from scheduler.render.timeline_style import COLOURS
from tests.http.browser import browser_page, chromium_path
from tests.http.fakes import FakeState, inf_config, seeded_store, with_acks

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"),
    reason="chromium is not installed (CI installs it and never skips)",
)

READ_PAGE = """(() => {
  const cd = document.querySelector('#m-soon .countdown');
  const dead = document.querySelector('tr.dead td');
  const banner = document.querySelector('[data-channel="newsroom"]');
  return {
    text: document.body.innerText,
    countdown: cd.textContent,
    live: cd.getAttribute('data-live'),
    deadBackground: getComputedStyle(dead).backgroundColor,
    plainBackground: getComputedStyle(document.body).backgroundColor,
    bannerVisible: banner.getBoundingClientRect().height > 0,
    scrollWidth: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    title: document.title,
  };
})()"""


async def test_status_page_in_a_real_browser() -> None:
    now = datetime.now(UTC)
    config = inf_config()
    soon = Milestone(
        id="soon",
        title="Notice period ends",
        at=(now + timedelta(hours=1)).replace(microsecond=0),
        notify=("audit",),
    )
    config = dataclasses.replace(config, milestones=(soon, *config.milestones))
    state = FakeState(store=seeded_store(), loaded=config, clock=lambda: datetime.now(UTC))
    handle = await serve(create_app(state), "127.0.0.1", 0)
    await handle.started()
    try:

        def look() -> dict[str, object]:
            with browser_page() as page:
                page.goto(f"http://127.0.0.1:{handle.port}/")
                first = page.evaluate(READ_PAGE)
                # The countdown ticks: wait for it to change.
                for _ in range(40):
                    if page.evaluate(READ_PAGE)["countdown"] != first["countdown"]:
                        break
                    page.evaluate("new Promise(r => setTimeout(r, 100))")
                return {"first": first, "later": page.evaluate(READ_PAGE)}

        seen = await asyncio.to_thread(look)
    finally:
        await handle.stop()

    first, later = seen["first"], seen["later"]
    assert isinstance(first, dict) and isinstance(later, dict)
    text = first["text"]
    assert first["title"] == "tminus status"
    assert "Notice period ends" in text
    assert "U.S. gives notice of withdrawal from the INF Treaty" in text
    # Escaped, so shown as text rather than run.
    assert "INF Treaty withdrawal takes effect <script>alert(1)</script>" in text
    # The countdown is the script's (the server renders only "in 59 minutes").
    assert first["live"] == "1"
    assert re.fullmatch(r"T-0d 00:5\d:\d\d", first["countdown"]), first["countdown"]
    assert later["countdown"] != first["countdown"]
    # Past milestones count up.
    assert re.search(r"T\+\d+d \d\d:\d\d:\d\d", text)
    # Dead letters and the disabled channel stand out.
    assert "Dead letters" in text and "HTTP 404 <not found>" in text
    assert first["deadBackground"] != first["plainBackground"]
    assert first["bannerVisible"]
    assert "Channel newsroom is disabled: channel_is_archived" in text
    # Readable on a phone: nothing wider than the screen.
    assert first["viewport"] == 390
    assert first["scrollWidth"] <= first["viewport"]


READ_ACKNOWLEDGED = """(() => {
  const card = document.querySelector('#m-soon');
  const badge = card.querySelector('.acked .st');
  return {
    card: card.innerText,
    items: card.querySelectorAll('li').length,
    badgeColour: getComputedStyle(badge).color,
    badgeVisible: badge.getBoundingClientRect().height > 0,
  };
})()"""

# Run in the timeline picture opened on its own: the soon milestone's marks.
READ_MARKS = """(() => [...document.querySelectorAll('[data-row="soon"] [data-state]')].map(
  m => [m.getAttribute('data-kind') || 'reminder', m.getAttribute('data-state')]))()"""


async def test_an_acknowledged_occurrence_in_a_real_browser() -> None:
    """Its reminders and escalation still ahead are not shown as next reminders but
    counted under who acknowledged it, as the timeline draws them (acknowledged), in the
    timeline's colour for that state."""
    now = datetime.now(UTC)
    d = Duration.parse
    at = (now + timedelta(hours=2)).replace(microsecond=0)
    soon = Milestone(
        id="soon",
        title="Notice period ends",
        at=at,
        remind=(d("1h"), d("30m"), Duration()),
        escalate=(Escalation(d("15m"), ("newsroom",)),),
        notify=("audit",),
    )
    config = dataclasses.replace(inf_config(), milestones=(soon, *inf_config().milestones))
    state = with_acks(
        FakeState(store=seeded_store(), loaded=config, clock=lambda: datetime.now(UTC))
    )
    assert state.acks is not None
    await state.acks.acknowledge_occurrence(
        "soon", at, by="Ann", note="notice sent", source=AckSource.API
    )
    handle = await serve(create_app(state), "127.0.0.1", 0)
    await handle.started()
    try:

        def look() -> tuple[dict[str, object], list[list[str]]]:
            with browser_page() as page:
                page.goto(f"http://127.0.0.1:{handle.port}/")
                card = page.evaluate(READ_ACKNOWLEDGED)
                page.goto(f"http://127.0.0.1:{handle.port}/timeline.svg")
                return card, page.evaluate(READ_MARKS)

        card, marks = await asyncio.to_thread(look)
    finally:
        await handle.stop()

    text = str(card["card"])
    assert "ACKNOWLEDGED by Ann" in text and "notice sent" in text  # .st is upper-cased
    assert "3 reminders and 1 escalation still ahead will not be sent" in text
    assert "no other reminders in the next year" in text
    assert card["items"] == 0
    assert card["badgeVisible"]
    # The timeline draws the same alerts, each acknowledged, in the colour the page uses.
    assert sorted(marks) == [["escalation", "acknowledged"]] + [["reminder", "acknowledged"]] * 3
    colour = COLOURS[TickState.ACKNOWLEDGED]
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    assert card["badgeColour"] == f"rgb({r}, {g}, {b})"
