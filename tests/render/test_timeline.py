"""The timeline SVG: well-formed, names what is in view, escapes hostile titles, colours ticks."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.durations import Duration
from scheduler.model import Config, Milestone, MilestoneStatus
from scheduler.planning import resolve
from scheduler.render import timeline_layout as tl
from scheduler.render.timeline import COLOURS, WIDTH, DeliveryStates, timeline_svg
from scheduler.render.timeline_states import Stored, TickState

NS = {"svg": "http://www.w3.org/2000/svg"}
NOW = datetime(2019, 7, 4, 12, 0, tzinfo=UTC)
D = Duration.parse
HOSTILE = [
    "<script>alert(1)</script>",
    'Tom & Jerry\'s "deadline" & <b>bold</b>',
    "]]><!-- --><?xml?>",
    "&amp; already escaped",
]


def _inf() -> Config:
    milestones = (
        Milestone(
            id="us-notice",
            title="U.S. gives notice",
            at=datetime(2019, 6, 20),
            remind=(D("7d"), Duration()),
            notify=("audit",),
            tags=("inf",),
        ),
        Milestone(
            id="withdrawal",
            title="Withdrawal takes effect",
            after="us-notice",
            offset=D("6 weeks"),
            remind=(D("30d"), D("7d"), D("1d"), Duration()),
            notify=("audit", "newsroom"),
            tags=("inf",),
        ),
        Milestone(id="far", title="Far beyond the window", at=datetime(2021, 1, 1)),
    )
    return Config(milestones=milestones, channels={}, timezone="Europe/Brussels")


def _draw(config: Config, states: DeliveryStates | None = None, months: int = 6) -> ET.Element:
    start, end = tl.window_ahead(NOW, months)
    occs = tl.occurrences_in(resolve(config), start, end)
    layout = tl.lay_out(occs, start=start, end=end, now=NOW, zone=ZoneInfo(config.timezone))
    svg = timeline_svg(layout, states or {}, heading="Next 6 months")
    return ET.fromstring(svg)


def _texts(root: ET.Element) -> list[str]:
    """The visible text of each text element (its tooltip, a child <title>, left out)."""
    return [t.text or "" for t in root.iter(f"{{{NS['svg']}}}text")]


def _titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{{{NS['svg']}}}title")]


def _ticks(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{{{NS['svg']}}}line") if e.get("data-state")]


def test_names_every_milestone_in_the_window_and_only_those() -> None:
    root = _draw(_inf())
    assert root.tag == f"{{{NS['svg']}}}svg"
    assert root.get("viewBox", "").startswith(f"0 0 {WIDTH:g} ")
    rows = [g.get("data-row") for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-row")]
    assert rows == ["us-notice", "withdrawal"]
    texts = _texts(root)
    assert any(t.startswith("U.S. gives notice · Thu 20 Jun") for t in texts)
    assert any(t.startswith("Withdrawal takes effect · Thu 1 Aug") for t in texts)
    assert not any("Far beyond" in t for t in texts)


def test_ticks_carry_the_stored_state_of_their_reminder() -> None:
    config = _inf()
    start, end = tl.window_ahead(NOW, 6)
    resolved = resolve(config)
    occs = tl.occurrences_in(resolved, start, end)
    withdrawal = next(o for o in occs if o.milestone.id == "withdrawal")
    thirty, seven, one, _ = withdrawal.ladder()  # 2 Jul, 25 Jul, 31 Jul, 1 Aug
    notice_week, notice_at = occs[0].ladder()  # 13 Jun, 20 Jun
    states = {
        notice_week.delivery_id("audit"): Stored("sent"),
        notice_at.delivery_id("audit"): Stored("dead", "client_error"),
        thirty.delivery_id("audit"): Stored("sent"),
        thirty.delivery_id("newsroom"): Stored("cancelled", "acknowledged"),
        seven.delivery_id("audit"): Stored("held"),
        one.delivery_id("audit"): Stored("cancelled", "acknowledged"),
        one.delivery_id("newsroom"): Stored("cancelled", "acknowledged"),
    }
    root = _draw(config, states)
    drawn = [(t.get("data-state"), t.get("stroke")) for t in _ticks(root)]
    assert [s for s, _ in drawn] == ["sent", "dead", "sent", "held", "acknowledged", "due"]
    for state, colour in drawn:
        assert colour == COLOURS[TickState(state)]
    # Each state has its own colour, and the legend names the ones drawn.
    assert len(set(COLOURS.values())) == len(COLOURS)
    legend = next(g for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-legend"))
    names = _texts(legend)
    for name in ("sent", "due", "held", "cancelled", "acknowledged", "dead", "milestone", "today"):
        assert name in names
    assert "retrying" not in names  # none drawn
    # The occurrence whose reminders were acknowledged says so.
    assert any(t.endswith("(acknowledged)") for t in _titles(root))


def test_after_chain_is_an_arrow_and_today_a_line() -> None:
    root = _draw(_inf())
    arrows = [p.get("data-after") for p in root.iter(f"{{{NS['svg']}}}path")]
    assert arrows == ["us-notice->withdrawal"]
    today = next(g for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-today"))
    assert today.get("data-today") == NOW.isoformat()
    assert "today" in _texts(today)


def test_a_base_before_the_window_is_a_dashed_arrow_from_the_edge() -> None:
    config = _inf()
    moved = dataclasses.replace(config.milestones[0], at=datetime(2018, 1, 1))
    far_offset = dataclasses.replace(config.milestones[1], offset=D("18 months"))
    root = _draw(dataclasses.replace(config, milestones=(moved, far_offset)))
    (arrow,) = root.iter(f"{{{NS['svg']}}}path")
    assert arrow.get("data-after") == "us-notice->withdrawal"
    assert arrow.get("stroke-dasharray")
    assert arrow.get("d", "").startswith("M8,")  # from the left edge
    tip = arrow.find(f"{{{NS['svg']}}}title")
    assert tip is not None and tip.text == "after us-notice, Mon 1 Jan 2018 00:00 UTC"


def test_a_base_hidden_by_the_row_cap_draws_no_arrow() -> None:
    base = Milestone(id="base", title="Base", at=NOW + timedelta(days=1), tags=("a",))
    others = tuple(
        Milestone(id=f"m{i}", title=f"M{i}", at=NOW, tags=(f"t{i}",)) for i in range(tl.MAX_ROWS)
    )
    dep = Milestone(id="dep", title="Dep", after="base", offset=D("1d"), tags=("t0",))
    root = _draw(Config(milestones=(*others, base, dep), channels={}))
    rows = [g.get("data-row") for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-row")]
    assert "tag:a" not in rows and "tag:t0" in rows
    assert list(root.iter(f"{{{NS['svg']}}}path")) == []


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_stay_text(title: str) -> None:
    config = _inf()
    hostile = dataclasses.replace(config.milestones[0], title=title)
    root = _draw(dataclasses.replace(config, milestones=(hostile, *config.milestones[1:])))
    # Parsed back, the title is exactly the text the user wrote ...
    assert title in _titles(root)
    assert any(t.startswith(title) for t in _texts(root))
    # ... and it made no element of its own.
    tags = {e.tag.split("}")[-1] for e in root.iter()}
    assert tags <= {"svg", "rect", "title", "text", "g", "line", "polygon", "path"}


def test_long_titles_are_cut_to_fit_the_width() -> None:
    config = _inf()
    long = dataclasses.replace(config.milestones[0], title="Notice " * 40)
    root = _draw(dataclasses.replace(config, milestones=(long, *config.milestones[1:])))
    label = next(t for t in _texts(root) if t.startswith("Notice"))
    assert "…" in label and label.endswith("· Thu 20 Jun")
    assert len(label) * 12 * 0.6 <= WIDTH - 16
    assert "Notice " * 40 in _titles(root)  # in full as the tooltip


def test_many_milestones_become_tag_groups_with_a_count() -> None:
    milestones = tuple(
        Milestone(id=f"m{i}", title=f"Filing {i}", at=NOW + timedelta(days=i), tags=(f"t{i % 20}",))
        for i in range(60)
    )
    root = _draw(Config(milestones=milestones, channels={}))
    rows = [g.get("data-row") for g in root.iter(f"{{{NS['svg']}}}g") if g.get("data-row")]
    assert len(rows) == tl.MAX_ROWS
    assert rows[0] == "tag:t0"
    texts = _texts(root)
    assert "#t0 · 3 milestones" in texts
    assert "+24 more" in texts  # 8 groups of 3 left out


def test_inactive_milestone_is_a_hollow_marker_without_ticks() -> None:
    config = _inf()
    done = dataclasses.replace(config.milestones[0], status=MilestoneStatus.DONE)
    root = _draw(dataclasses.replace(config, milestones=(done,)))
    assert _ticks(root) == []
    (marker,) = [p for p in root.iter(f"{{{NS['svg']}}}polygon") if p.get("data-milestone")]
    assert marker.get("fill") == "#ffffff"


def test_an_empty_window_says_so() -> None:
    root = _draw(Config(milestones=(), channels={}))
    assert "no milestones in this window" in _texts(root)


def test_the_picture_is_named_first_and_scales() -> None:
    root = _draw(_inf())
    first = root[0]
    assert first.tag == f"{{{NS['svg']}}}title" and first.text == "Next 6 months"
    assert root.get("role") == "img"
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
    assert (width, height) == (float(root.get("width", 0)), float(root.get("height", 0)))
    assert 390 <= width <= 800


@settings(max_examples=150, deadline=None)
@given(title=st.text(min_size=1, max_size=80))
def test_any_title_gives_a_picture_that_parses(title: str) -> None:
    config = _inf()
    odd = dataclasses.replace(config.milestones[0], title=title)
    root = _draw(dataclasses.replace(config, milestones=(odd, *config.milestones[1:])))
    shown = "".join(
        c
        if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
        else "\ufffd"
        for c in title
    )
    # XML parsers read a carriage return in text as a line feed.
    assert shown.replace("\r\n", "\n").replace("\r", "\n") in _titles(root)
