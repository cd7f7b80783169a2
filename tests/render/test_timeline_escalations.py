"""Escalations on the timeline: their own mark (a triangle under the lane), placed at
their moment, coloured by what became of them, named in the legend."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Collection
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.durations import Duration
from scheduler.model import Config, Escalation, Milestone, MilestoneStatus, Reminder
from scheduler.planning import plan, resolve
from scheduler.render import timeline_layout as tl
from scheduler.render.timeline import COLOURS, DeliveryStates, timeline_svg
from scheduler.render.timeline_states import Stored, TickState
from scheduler.render.timeline_style import LANE, MARGIN

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2019, 7, 4, 12, 0, tzinfo=UTC)
BRUSSELS = ZoneInfo("Europe/Brussels")
D = Duration.parse
TITLE = "Withdrawal takes effect"


def _config(title: str = TITLE, **changes: object) -> Config:
    withdrawal = Milestone(
        id="withdrawal",
        title=title,
        timezone="Europe/Brussels",
        at=datetime(2019, 8, 1),
        remind=(D("7d"), Duration()),
        notify=("audit",),
        escalate=(
            Escalation(D("1d"), ("phones",)),
            Escalation(D("-2h"), ("legal", "audit")),
        ),
    )
    quiet = Milestone(
        id="quiet", title="No escalations", timezone="Europe/Brussels", at=datetime(2019, 9, 1)
    )
    return Config(
        milestones=(dataclasses.replace(withdrawal, **changes), quiet),  # type: ignore[arg-type]
        channels={},
        timezone="Europe/Brussels",
    )


def _escalations(config: Config) -> list[Reminder]:
    start, end = tl.window_ahead(NOW, 6)
    occs = tl.occurrences_in(resolve(config), start, end)
    return [e for o in occs for e in o.escalations()]


def _draw(
    config: Config,
    states: DeliveryStates | None = None,
    acknowledged: Collection[tuple[str, datetime]] = (),
) -> ET.Element:
    start, end = tl.window_ahead(NOW, 6)
    occs = tl.occurrences_in(resolve(config), start, end)
    layout = tl.lay_out(occs, start=start, end=end, now=NOW, zone=BRUSSELS)
    svg = timeline_svg(layout, states or {}, heading="Next 6 months", acknowledged=acknowledged)
    return ET.fromstring(svg)


def _marks(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}polygon") if e.get("data-kind") == "escalation"]


def _apex_x(mark: ET.Element) -> float:
    apex = mark.get("points", "").split()[0]
    return float(apex.split(",")[0])


def _legend(root: ET.Element) -> ET.Element:
    return next(g for g in root.iter(f"{SVG}g") if g.get("data-legend"))


def test_each_escalation_is_a_triangle_at_its_moment() -> None:
    root = _draw(_config())
    marks = _marks(root)
    assert [m.get("data-level") for m in marks] == ["1", "2"]
    # 1 day before 1 Aug 2019 00:00 CEST, and 2 hours after it.
    start, end = tl.window_ahead(NOW, 6)
    span = (end - start).total_seconds()
    for mark, due in zip(
        marks,
        [datetime(2019, 7, 31, tzinfo=BRUSSELS), datetime(2019, 8, 1, 2, tzinfo=BRUSSELS)],
        strict=True,
    ):
        expected = MARGIN + (due - start).total_seconds() / span * LANE
        assert _apex_x(mark) == pytest.approx(expected, abs=0.06)
    assert _apex_x(marks[0]) < _apex_x(marks[1])
    # Under the lane of their own milestone's row; not reminder ticks: those stay two
    # lines, 25 Jul and 1 Aug.
    row = next(g for g in root.iter(f"{SVG}g") if g.get("data-row") == "withdrawal")
    assert _marks(row) == marks
    assert len([e for e in row.iter(f"{SVG}line") if e.get("data-state")]) == 2
    lane_y = float(next(e for e in row.iter(f"{SVG}line") if not e.get("data-state")).get("y1", 0))
    for mark in marks:
        ys = [float(p.split(",")[1]) for p in mark.get("points", "").split()]
        assert lane_y < min(ys) and max(ys) <= lane_y + 12


def test_tooltip_names_level_offset_channels_date_and_state() -> None:
    root = _draw(_config())
    tips = [m.findtext(f"{SVG}title") for m in _marks(root)]
    assert tips == [
        f"{TITLE} — escalation 1 · 1 day before → phones, Wed 31 Jul 2019 00:00 CEST: due",
        f"{TITLE} — escalation 2 · 2 hours after → legal, audit, Thu 1 Aug 2019 02:00 CEST: due",
    ]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ([Stored("sent")], [Stored("sent"), Stored("sent")], ["sent", "sent"]),
        ([Stored("held")], [None, None], ["held", "due"]),
        (
            [Stored("cancelled", "acknowledged")],
            [Stored("cancelled", "acknowledged"), Stored("cancelled", "acknowledged")],
            ["acknowledged", "acknowledged"],
        ),
        ([Stored("scheduled")], [Stored("held"), Stored("sent")], ["due", "held"]),
        ([Stored("dead", "client_error")], [Stored("retrying"), None], ["dead", "retrying"]),
    ],
)
def test_escalations_are_coloured_by_their_stored_deliveries(
    first: list[Stored | None], second: list[Stored | None], expected: list[str]
) -> None:
    config = _config()
    one, two = _escalations(config)
    states: dict[str, Stored] = {}
    for alert, stored in ((one, first), (two, second)):
        for channel, s in zip(alert.channels, stored, strict=True):
            if s is not None:
                states[alert.delivery_id(channel)] = s
    marks = _marks(_draw(config, states))
    assert [m.get("data-state") for m in marks] == expected
    for mark in marks:
        assert mark.get("fill") == COLOURS[TickState(mark.get("data-state", ""))]


def test_the_drawn_escalations_are_the_planned_deliveries() -> None:
    """The ids the picture looks up are the ones the daemon stores."""
    config = _config()
    planned = {
        r.delivery_id(c)
        for r in plan(config, datetime(2019, 7, 1, tzinfo=UTC), datetime(2019, 8, 2, tzinfo=UTC))
        for c in r.channels
    }
    drawn = {e.delivery_id(c) for e in _escalations(config) for c in e.channels}
    assert len(drawn) == 3 and drawn <= planned


def test_the_legend_names_the_escalation_mark_only_when_one_is_drawn() -> None:
    legend = _legend(_draw(_config()))
    names = [t.text for t in legend.iter(f"{SVG}text")]
    assert "escalation" in names
    assert names.index("milestone") < names.index("escalation") < names.index("today")
    assert [p.get("data-key") for p in legend.iter(f"{SVG}polygon")] == [None, "escalation"]
    plain = _legend(_draw(_config(escalate=())))
    assert "escalation" not in [t.text for t in plain.iter(f"{SVG}text")]
    # A state only escalations are in is named too.
    one, _ = _escalations(_config())
    dead = {one.delivery_id("phones"): Stored("dead", "client_error")}
    assert "dead" in [t.text for t in _legend(_draw(_config(), dead)).iter(f"{SVG}text")]


def test_an_acknowledged_occurrence_shows_its_unsent_escalations_as_acknowledged() -> None:
    """Beyond the two stored days nothing is in the database yet: the acknowledgements in
    force say those escalations will not be sent."""
    config = _config()
    occurrence = ("withdrawal", datetime(2019, 8, 1, tzinfo=BRUSSELS))
    root = _draw(config, acknowledged=[occurrence])
    assert [m.get("data-state") for m in _marks(root)] == ["acknowledged", "acknowledged"]
    (diamond,) = [p for p in root.iter(f"{SVG}polygon") if p.get("data-milestone") == "withdrawal"]
    assert diamond.get("fill") == COLOURS[TickState.ACKNOWLEDGED]
    # Another occurrence's acknowledgement changes nothing here.
    other = _draw(config, acknowledged=[("quiet", datetime(2019, 9, 1, tzinfo=BRUSSELS))])
    assert [m.get("data-state") for m in _marks(other)] == ["due", "due"]


def test_none_for_an_inactive_milestone_or_outside_the_window() -> None:
    done = _draw(_config(status=MilestoneStatus.DONE))
    assert _marks(done) == []
    # An escalation a year after the occurrence is beyond the six months drawn.
    late = _draw(_config(escalate=(Escalation(D("-1 year"), ("phones",)),)))
    assert _marks(late) == []


def test_a_script_title_stays_text_in_the_escalation_tooltip() -> None:
    hostile = "<script>alert(1)</script> & co"
    root = _draw(_config(title=hostile))
    tips = [m.findtext(f"{SVG}title") or "" for m in _marks(root)]
    assert tips and all(t.startswith(f"{hostile} — escalation") for t in tips)
    assert not any(e.tag == f"{SVG}script" for e in root.iter())
