"""The status page in a real headless chromium at a phone's width: what a person sees."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.http import create_app, serve
from scheduler.model import Milestone
from tests.http.browser import browser_page, chromium_path
from tests.http.fakes import FakeState, inf_config, seeded_store

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
