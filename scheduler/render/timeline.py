"""The timeline picture as SVG text: a :class:`~scheduler.render.timeline_layout.Layout`
and the stored delivery states in, one standalone SVG document out.

Built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute,
so a milestone titled ``<script>`` stays text. No scripts, no stylesheet (only
presentation attributes, so a strict Content-Security-Policy can serve it) and a
white background, so it reads the same in an ``<img>`` on a dark page.

Geometry: a ``viewBox`` :data:`WIDTH` units wide that scales to the screen.
At 400 units, 12-unit text is about 11 px on a 390 px phone. Each row has its
title on one line (cut with "…" to fit) and its lane under it: the milestone as
a diamond, its reminders as ticks, its escalations as triangles under the lane
(:mod:`scheduler.render.timeline_style` draws the marks and the legend), ``after``
chains as arrows between diamonds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from scheduler.model import Reminder
from scheduler.render.timeline_layout import Layout, Occurrence, Row, truncate
from scheduler.render.timeline_states import StoredState, TickState, stored_state, tick_state
from scheduler.render.timeline_style import (
    ARROW,
    AXIS_H,
    CHAR,
    COLOURS,
    FONT,
    GRID,
    HEADING_H,
    INK,
    LANE,
    LEGEND_H,
    MARGIN,
    MARKER,
    MUTED,
    ROW_H,
    SMALL,
    SVG_NS,
    TODAY,
    WIDTH,
    diamond_points,
    el,
    escalation_mark,
    legend,
    num,
)
from scheduler.timekeeping import format_when

DeliveryStates = Mapping[str, StoredState]
# Occurrences acknowledged, by (milestone id, occurrence instant).
Acknowledged = Collection[tuple[str, datetime]]


def _short_date(moment: datetime, now: datetime) -> str:
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return text if moment.year == now.year else f"{text} {moment.year}"


def _fits(text: str, width: float, size: float) -> str:
    return truncate(text, int(width / (size * CHAR)))


class _Drawing:
    """One picture being drawn: the root element and where things went."""

    def __init__(
        self, layout: Layout, states: DeliveryStates, heading: str, acknowledged: Acknowledged
    ) -> None:
        self.layout = layout
        self.states = states
        self.heading = heading
        self.acknowledged = {(mid, at.timestamp()) for mid, at in acknowledged}
        self.root = ET.Element("svg", {"xmlns": SVG_NS})
        self.used: set[TickState] = set()
        self.escalations = 0  # drawn, for the legend
        self.diamonds: dict[tuple[str, float], tuple[float, float]] = {}

    def x(self, moment: datetime) -> float:
        return MARGIN + self.layout.x(moment, LANE)

    def draw(self) -> str:
        layout = self.layout
        rows_top = HEADING_H + AXIS_H
        rows_bottom = rows_top + ROW_H * max(len(layout.rows), 1)
        extra = (LEGEND_H if layout.hidden else 0.0) + 4.0
        legend_top = rows_bottom + extra
        el(self.root, "title", self.heading)  # first: the picture's accessible name
        background = el(self.root, "rect", width=WIDTH, fill="#ffffff")
        el(
            self.root,
            "text",
            _fits(self.heading, LANE, FONT),
            x=MARGIN,
            y=14.0,
            font_size=FONT,
            font_weight="600",
            fill=INK,
        )
        self._axis(HEADING_H, rows_bottom)
        self._today(HEADING_H, rows_bottom)
        if not layout.rows:
            el(
                self.root,
                "text",
                "no milestones in this window",
                x=MARGIN,
                y=rows_top + 22.0,
                font_size=FONT,
                fill=MUTED,
            )
        arrows = el(self.root, "g", fill="none", stroke=ARROW, stroke_width=1.2)
        for index, row in enumerate(layout.rows):
            self._row(row, rows_top + index * ROW_H)
        self._arrows(arrows)
        if layout.hidden:
            el(
                self.root,
                "text",
                f"+{layout.hidden} more",
                x=MARGIN,
                y=rows_bottom + 12.0,
                font_size=FONT,
                fill=MUTED,
            )
        height = legend(self.root, legend_top, self.used, escalations=self.escalations > 0)
        background.set("height", num(height))
        self.root.set("viewBox", f"0 0 {num(WIDTH)} {num(height)}")
        self.root.set("width", num(WIDTH))
        self.root.set("height", num(height))
        self.root.set("role", "img")
        self.root.set("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif")
        return ET.tostring(self.root, encoding="unicode")

    def _today_label(self) -> tuple[float, float] | None:
        """Where the "today" label goes, as (left, right), or None when today is not in view."""
        if not self.layout.contains(self.layout.now):
            return None
        x = self.x(self.layout.now)
        width = len("today") * SMALL * CHAR
        return (x - 2.0 - width, x - 2.0) if x + 2.0 + width > WIDTH else (x + 2.0, x + 2.0 + width)

    def _axis(self, top: float, bottom: float) -> None:
        """Grid lines with their labels; a label that would run into the previous
        one or into "today" is left out (its line stays)."""
        group = el(self.root, "g", font_size=SMALL, fill=MUTED)
        today = self._today_label()
        taken = [today] if today is not None else []
        for moment, label in self.layout.axis:
            x = self.x(moment)
            el(group, "line", x1=x, x2=x, y1=top + AXIS_H - 4.0, y2=bottom, stroke=GRID)
            box = (x + 2.0, x + 2.0 + len(label) * SMALL * CHAR)
            if box[1] > WIDTH or any(
                box[0] < right + 4 and left < box[1] + 4 for left, right in taken
            ):
                continue
            taken.append(box)
            el(group, "text", label, x=box[0], y=top + 11.0)

    def _today(self, top: float, bottom: float) -> None:
        label = self._today_label()
        if label is None:
            return
        x = self.x(self.layout.now)
        group = el(self.root, "g", data_today=self.layout.now.isoformat())
        el(group, "line", x1=x, x2=x, y1=top + 2.0, y2=bottom, stroke=TODAY, stroke_width=1.5)
        el(group, "text", "today", x=label[0], y=top + 11.0, font_size=SMALL, fill=TODAY)

    def _row(self, row: Row, top: float) -> None:
        group = el(self.root, "g", data_row=row.key)
        lane_y = top + 25.0
        when = _short_date(_next_or_last(row.occurrences, self.layout.now), self.layout.now)
        if len(row.occurrences) > 1 and not row.grouped:
            when += f" (+{len(row.occurrences) - 1})"
        suffix = (
            f" · {when}" if not row.grouped else (f" (+{row.hidden} more)" if row.hidden else "")
        )
        label = _fits(row.label, LANE - len(suffix) * FONT * CHAR, FONT) + suffix
        # A white halo (stroke painted under the glyphs) keeps the title readable
        # where the today line, the grid or an arrow passes behind it.
        title = el(
            group,
            "text",
            label,
            x=MARGIN,
            y=top + 13.0,
            font_size=FONT,
            fill=INK,
            stroke="#ffffff",
            stroke_width=3.0,
            paint_order="stroke",
        )
        members = dict.fromkeys(o.milestone.title for o in row.occurrences)
        el(title, "title", "\n".join(members) if row.grouped else row.label)
        el(group, "line", x1=MARGIN, x2=WIDTH - MARGIN, y1=lane_y, y2=lane_y, stroke=GRID)
        for occurrence in row.occurrences:
            self._ladder(group, occurrence, lane_y)
        for occurrence in row.occurrences:
            self._diamond(group, occurrence, lane_y)
        for occurrence in row.occurrences:
            self._escalations(group, occurrence, lane_y)

    def _state(self, alert: Reminder, acknowledged: bool) -> TickState:
        stored = [self.states.get(alert.delivery_id(c)) for c in alert.channels]
        state = tick_state(
            stored, due_at=alert.due_at, now=self.layout.now, acknowledged=acknowledged
        )
        self.used.add(state)
        return state

    def _known_acknowledged(self, occurrence: Occurrence) -> bool:
        """Whether the acknowledgements in force name the occurrence."""
        return (occurrence.milestone.id, occurrence.at.timestamp()) in self.acknowledged

    def _ladder(self, parent: ET.Element, occurrence: Occurrence, lane_y: float) -> None:
        acknowledged = self._known_acknowledged(occurrence)
        for reminder in occurrence.ladder():
            if not self.layout.contains(reminder.due_at):
                continue
            state = self._state(reminder, acknowledged)
            x = self.x(reminder.due_at)
            tick = el(
                parent,
                "line",
                x1=x,
                x2=x,
                y1=lane_y - 7.0,
                y2=lane_y + 7.0,
                stroke=COLOURS[state],
                stroke_width=2.5,
                data_state=state.value,
            )
            el(
                tick,
                "title",
                f"{reminder.milestone.title} — {reminder.label}, "
                f"{format_when(reminder.due_at)}: {state.value}",
            )

    def _escalations(self, parent: ET.Element, occurrence: Occurrence, lane_y: float) -> None:
        """Each escalation in view as its triangle, coloured by what became of it."""
        acknowledged = self._known_acknowledged(occurrence)
        for escalation in occurrence.escalations():
            if not self.layout.contains(escalation.due_at):
                continue
            state = self._state(escalation, acknowledged)
            self.escalations += 1
            level = escalation.extra.get("escalation", {}).get("level", 0)
            mark = escalation_mark(
                parent,
                self.x(escalation.due_at),
                lane_y,
                COLOURS[state],
                data_kind="escalation",
                data_level=str(level),
                data_state=state.value,
            )
            el(
                mark,
                "title",
                f"{escalation.milestone.title} — {escalation.label} → "
                f"{', '.join(escalation.channels)}, {format_when(escalation.due_at)}: "
                f"{state.value}",
            )

    def _acknowledged(self, occurrence: Occurrence) -> bool:
        """Whether the occurrence is acknowledged: known to be, or one of its stored
        deliveries was cancelled for it."""
        if self._known_acknowledged(occurrence):
            return True
        for alert in occurrence.alerts():
            for channel in alert.channels:
                s = self.states.get(alert.delivery_id(channel))
                if s is not None and stored_state(s.status, s.reason) is TickState.ACKNOWLEDGED:
                    return True
        return False

    def _diamond(self, parent: ET.Element, occurrence: Occurrence, lane_y: float) -> None:
        if not self.layout.contains(occurrence.at):
            return
        x = self.x(occurrence.at)
        self.diamonds[(occurrence.milestone.id, occurrence.at.timestamp())] = (x, lane_y)
        acked = self._acknowledged(occurrence)
        fill = COLOURS[TickState.ACKNOWLEDGED] if acked else MARKER
        inactive = occurrence.milestone.status.value != "active"
        r = 5.5
        points = diamond_points(x, lane_y, r)
        marker = el(
            parent,
            "polygon",
            points=points,
            fill="#ffffff" if inactive else fill,
            stroke=fill,
            stroke_width=1.5,
            data_milestone=occurrence.milestone.id,
        )
        note = " (acknowledged)" if acked else ""
        if inactive:
            note += f" ({occurrence.milestone.status.value})"
        el(marker, "title", f"{occurrence.milestone.title} — {format_when(occurrence.at)}{note}")

    def _arrows(self, group: ET.Element) -> None:
        """An arrow from each drawn ``after`` base to its dependent; a base outside
        the window gives a dashed arrow in from that edge of the picture."""
        for row in self.layout.rows:
            for o in row.occurrences:
                end = self.diamonds.get((o.milestone.id, o.at.timestamp()))
                if o.base is None or end is None:
                    continue
                base_id, base_at = o.base
                start = self.diamonds.get((base_id, base_at.timestamp()))
                link = f"{base_id}->{o.milestone.id}"
                if start is not None and start != end:
                    self._arrow(group, start, end, link, dashed=False)
                elif start is None and not self.layout.contains(base_at):
                    edge = MARGIN if base_at < self.layout.start else WIDTH - MARGIN
                    path = self._arrow(group, (edge, end[1]), end, link, dashed=True)
                    el(path, "title", f"after {base_id}, {format_when(base_at)}")

    def _arrow(
        self,
        group: ET.Element,
        start: tuple[float, float],
        end: tuple[float, float],
        link: str,
        *,
        dashed: bool,
    ) -> ET.Element:
        (x1, y1), (x2, y2) = start, end
        bend = max(abs(x2 - x1) / 2, 14.0)
        direction = 1.0 if x2 >= x1 else -1.0
        tip = x2 - direction * 7.0
        # From a diamond: leave downwards from under it; from an edge: leave sideways.
        y1 += 0.0 if dashed else 6.0
        c1 = (x1 + direction * bend, y1) if dashed else (x1, y2)
        path = el(
            group,
            "path",
            d=f"M{num(x1)},{num(y1)} C{num(c1[0])},{num(c1[1])} "
            f"{num(tip - direction * bend)},{num(y2)} {num(tip)},{num(y2)}",
            data_after=link,
            **({"stroke_dasharray": "3 3"} if dashed else {}),
        )
        head = direction * 5.0
        el(
            group,
            "polygon",
            fill=ARROW,
            stroke="none",
            points=f"{num(tip + head * 0.4)},{num(y2)} {num(tip - head)},{num(y2 - 3.5)} "
            f"{num(tip - head)},{num(y2 + 3.5)}",
        )
        return path


def _next_or_last(occs: Sequence[Occurrence], now: datetime) -> datetime:
    """The occurrence a row's title names: the next one, else the latest."""
    upcoming = [o.at for o in occs if o.at >= now]
    return upcoming[0] if upcoming else occs[-1].at


def timeline_svg(
    layout: Layout, states: DeliveryStates, *, heading: str, acknowledged: Acknowledged = ()
) -> str:
    """The picture as one SVG document (no XML declaration: it can be inlined too).

    ``acknowledged`` names the occurrences acknowledged: their diamonds say so, and
    their reminders and escalations ahead with no stored row yet are drawn as
    acknowledged (they will not be sent) rather than due."""
    return _Drawing(layout, states, heading, acknowledged).draw()
