"""The timeline on the status page in a real headless chromium at a phone's width.

Set ``TMINUS_TIMELINE_PNG=docs/timeline.png`` to also keep the screenshot (that is
how the README's picture is made).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.durations import Duration
from scheduler.http import create_app, serve
from scheduler.model import Config, DeliveryStatus, Escalation, Milestone
from scheduler.render.timeline_layout import Occurrence
from tests.http.browser import browser_page, chromium_path
from tests.http.fakes import FakeState, FakeStore, inf_config, row

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"),
    reason="chromium is not installed (CI installs it and never skips)",
)

READ_TIMELINE = """(() => {
  const img = document.querySelector('.timeline img');
  const box = img.getBoundingClientRect();
  return {
    loaded: img.complete && img.naturalWidth > 0,
    naturalWidth: img.naturalWidth,
    width: box.width,
    height: box.height,
    top: box.top + window.scrollY,
    left: box.left,
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
  };
})()"""

# Run in the SVG document itself, opened on its own (the page's policy allows no fetch).
READ_SVG = """(() => ({
  namespace: document.documentElement.namespaceURI,
  error: document.querySelector('parsererror') !== null,
  rows: [...document.querySelectorAll('[data-row]')].map(g => g.getAttribute('data-row')),
  scripts: document.querySelectorAll('script').length,
  escalations: [...document.querySelectorAll('[data-kind="escalation"]')].map(
    e => e.getAttribute('data-state')),
  source: new XMLSerializer().serializeToString(document),
}))()"""


def _config(now: datetime) -> Config:
    d = Duration.parse
    day = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    base = inf_config()
    notice = Milestone(
        id="notice",
        title='Notice period ends: Smith & Jones "Harbour" lease',
        at=day + timedelta(days=12),
        remind=(d("30d"), d("7d"), d("1d"), Duration()),
        notify=("audit", "newsroom"),
        tags=("contracts",),
        escalate=(Escalation(d("3d"), ("newsroom",)),),
    )
    renewal = Milestone(
        id="renewal",
        title="Contract renewal takes effect",
        after="notice",
        offset=d("2 months"),
        remind=(d("30d"), d("7d"), Duration()),
        notify=("audit",),
        tags=("contracts",),
    )
    filing = Milestone(
        id="filing",
        title="Quarterly compliance filing",
        at=day - timedelta(days=9),
        remind=(d("14d"), d("7d"), Duration()),
        notify=("audit",),
        tags=("compliance",),
        escalate=(Escalation(d("1d"), ("newsroom",)), Escalation(d("-1d"), ("newsroom",))),
    )
    review = Milestone(
        id="review",
        title="Treaty review conference opens in Geneva",
        at=day + timedelta(days=110),
        remind=(d("60d"), d("30d"), Duration()),
        notify=("newsroom",),
    )
    return dataclasses.replace(base, milestones=(filing, notice, renewal, review))


def _store(config: Config, now: datetime) -> FakeStore:
    """Sent where the time has come, one dead letter, one acknowledged occurrence (the
    filing, at its moment: its escalation a day later was cancelled)."""
    rows = []
    for m in config.milestones:
        if m.at is None:
            continue
        at = (
            datetime.combine(m.at.date(), m.at.time(), tzinfo=UTC)
            if isinstance(m.at, datetime)
            else m.at
        )
        for r in Occurrence(m, at).alerts():
            for channel in r.channels:
                if r.due_at > now:
                    continue
                status = DeliveryStatus.SENT
                extra: dict[str, Any] = {}
                if m.id == "filing" and r.due_at >= at:
                    status, extra = DeliveryStatus.CANCELLED, {"reason": "acknowledged"}
                if m.id == "notice" and channel == "newsroom":
                    status, extra = DeliveryStatus.DEAD, {"reason": "client_error"}
                rows.append(
                    dataclasses.replace(
                        row(r.delivery_id(channel), status, milestone=m.id, due=r.due_at),
                        channel=channel,
                        **extra,
                    )
                )
    return FakeStore(rows=rows)


async def test_the_timeline_on_the_status_page_at_phone_width(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    config = _config(now)
    state = FakeState(store=_store(config, now), loaded=config, clock=lambda: datetime.now(UTC))
    handle = await serve(create_app(state), "127.0.0.1", 0)
    await handle.started()
    try:

        def look() -> dict[str, Any]:
            with browser_page() as page:
                page.goto(f"http://127.0.0.1:{handle.port}/")
                seen = page.evaluate(READ_TIMELINE)
                top = max(seen["top"] - 40, 0)  # with the "Timeline" heading above it
                shot = page.call(
                    "Page.captureScreenshot",
                    format="png",
                    captureBeyondViewport=True,
                    clip={
                        "x": 0,
                        "y": top,
                        "width": seen["viewport"],
                        "height": seen["height"] + 56,
                        "scale": 1,
                    },
                )
                page.goto(f"http://127.0.0.1:{handle.port}/timeline.svg")
                parsed = page.evaluate(READ_SVG)
                return {"seen": seen, "parsed": parsed, "png": shot["data"]}

        result = await asyncio.to_thread(look)
    finally:
        await handle.stop()

    seen, parsed = result["seen"], result["parsed"]
    # The picture loaded (the page's Content-Security-Policy lets it) and fits the phone.
    assert seen["loaded"], seen
    assert seen["viewport"] == 390
    assert 300 <= seen["width"] <= seen["viewport"]
    assert seen["height"] > 150
    assert seen["scrollWidth"] <= seen["viewport"]
    # What the browser fetched parses, names the milestones in view, and runs nothing.
    assert parsed["namespace"] == "http://www.w3.org/2000/svg"
    assert not parsed["error"]
    assert parsed["rows"] == ["filing", "notice", "renewal", "review"]
    assert parsed["scripts"] == 0
    assert parsed["escalations"] == ["sent", "acknowledged", "due"]
    assert 'Notice period ends: Smith &amp; Jones "Harbour" lease' in parsed["source"]
    png = base64.b64decode(result["png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "timeline.png").write_bytes(png)
    keep = os.environ.get("TMINUS_TIMELINE_PNG")
    if keep:
        Path(keep).write_bytes(png)
